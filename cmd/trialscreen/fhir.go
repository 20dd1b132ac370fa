package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/screening"
)

// Environment variables that configure the FHIR server for screen --patient.
const (
	envFHIRURL       = "TRIALSCREEN_FHIR_URL"        // base URL, e.g. https://fhir.hospital.org/r4
	envFHIRToken     = "TRIALSCREEN_FHIR_TOKEN"      // a static bearer token
	envFHIRTokenFile = "TRIALSCREEN_FHIR_TOKEN_FILE" // or a file holding it (e.g. a mounted secret)
)

// fhirSource builds the record source of the configured FHIR server. Secrets come from
// the environment or a file and never appear in messages.
func fhirSource(getenv func(string) string, p *screening.Protocol) (*fhirclient.RecordSource, func(), error) {
	base := getenv(envFHIRURL)
	if base == "" {
		return nil, nil, usagef("screen: --patient needs a FHIR server: set %s (and %s or %s if it needs a token)", envFHIRURL, envFHIRToken, envFHIRTokenFile)
	}
	cfg := fhirclient.Config{BaseURL: base}
	tok, file := getenv(envFHIRToken), getenv(envFHIRTokenFile)
	switch {
	case tok != "" && file != "":
		return nil, nil, usagef("screen: set %s or %s, not both", envFHIRToken, envFHIRTokenFile)
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, nil, fmt.Errorf("screen: %s: %w", envFHIRTokenFile, err)
		}
		tok = strings.TrimSpace(string(data))
		if tok == "" {
			return nil, nil, fmt.Errorf("screen: %s names an empty file", envFHIRTokenFile)
		}
	}
	if tok != "" {
		cfg.Token = fhirclient.StaticToken(tok)
	}
	c, err := fhirclient.New(cfg)
	if err != nil {
		return nil, nil, usagef("screen: %s: %v", envFHIRURL, err)
	}
	src, err := fhirclient.NewRecordSource(c, p)
	if err != nil {
		return nil, nil, err
	}
	return src, c.CloseIdleConnections, nil
}
