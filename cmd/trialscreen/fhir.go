package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/screening"
)

// Environment variables that configure the FHIR server for screen --patient.
const (
	envFHIRURL       = "TRIALSCREEN_FHIR_URL"        // base URL, e.g. https://fhir.hospital.org/r4
	envFHIRToken     = "TRIALSCREEN_FHIR_TOKEN"      // a static bearer token
	envFHIRTokenFile = "TRIALSCREEN_FHIR_TOKEN_FILE" // or a file holding it (e.g. a mounted secret)
	// How long the circuit breaker stays open after the FHIR server kept failing, before
	// one probe call (default 30s).
	envFHIRBreakerCooldown = "TRIALSCREEN_FHIR_BREAKER_COOLDOWN"
	// How many requests this process keeps in flight to one FHIR server (default 64); a
	// quarter of them at most for batches. See readFHIRMaxConcurrent.
	envFHIRMaxConcurrent = "TRIALSCREEN_FHIR_MAX_CONCURRENT"

	// SMART Backend Services: a signed client assertion exchanged for access tokens.
	envSMARTTokenURL = "TRIALSCREEN_SMART_TOKEN_URL"
	envSMARTClientID = "TRIALSCREEN_SMART_CLIENT_ID"
	envSMARTScopes   = "TRIALSCREEN_SMART_SCOPES" // space-separated, e.g. "system/Patient.rs system/Observation.rs"
	envSMARTKeyFile  = "TRIALSCREEN_SMART_KEY_FILE"
	envSMARTKeyID    = "TRIALSCREEN_SMART_KEY_ID"
	envSMARTAlg      = "TRIALSCREEN_SMART_ALG" // RS384 (default) or ES384
)

// fhirSource builds the record source of the configured FHIR server, and returns its
// client too (for readiness checks). obs receives the client's metrics; nil: none.
// Secrets come from the environment or a file and never appear in messages.
func fhirSource(getenv func(string) string, p *screening.Protocol, obs fhirclient.Observer, lim fhirLimits) (*fhirclient.RecordSource, *fhirclient.Client, func(), error) {
	base := getenv(envFHIRURL)
	if base == "" {
		return nil, nil, nil, usagef("screen: --patient needs a FHIR server: set %s (and %s or %s if it needs a token)", envFHIRURL, envFHIRToken, envFHIRTokenFile)
	}
	maxConc, err := readFHIRMaxConcurrent(getenv)
	if err != nil {
		return nil, nil, nil, usagef("screen: %v", err)
	}
	cfg := fhirclient.Config{BaseURL: base, Observer: obs, MaxConcurrent: maxConc}
	lim.apply(&cfg)
	if v := getenv(envFHIRBreakerCooldown); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, nil, nil, usagef("screen: %s %q is not a positive duration (e.g. 30s)", envFHIRBreakerCooldown, v)
		}
		cfg.BreakerCooldown = d
	}
	var smart *fhirclient.SMARTBackend
	tok, file := getenv(envFHIRToken), getenv(envFHIRTokenFile)
	switch {
	case tok != "" && file != "":
		return nil, nil, nil, usagef("screen: set %s or %s, not both", envFHIRToken, envFHIRTokenFile)
	case getenv(envSMARTTokenURL) != "" && (tok != "" || file != ""):
		return nil, nil, nil, usagef("screen: set a static token or SMART Backend Services (%s), not both", envSMARTTokenURL)
	case getenv(envSMARTTokenURL) != "":
		var err error
		if smart, err = smartFromEnv(getenv); err != nil {
			return nil, nil, nil, err
		}
		cfg.Token = smart
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("screen: %s: %w", envFHIRTokenFile, err)
		}
		tok = strings.TrimSpace(string(data))
		if tok == "" {
			return nil, nil, nil, fmt.Errorf("screen: %s names an empty file", envFHIRTokenFile)
		}
	}
	if tok != "" {
		cfg.Token = fhirclient.StaticToken(tok)
	}
	c, err := fhirclient.New(cfg)
	if err != nil {
		// fhirclient names the URL's scheme and host only, never its path or query.
		return nil, nil, nil, usagef("screen: %s: %v", envFHIRURL, err)
	}
	src, err := fhirclient.NewRecordSource(c, p)
	if err != nil {
		return nil, nil, nil, err
	}
	closeIdle := func() {
		c.CloseIdleConnections()
		if smart != nil {
			smart.CloseIdleConnections() // the token endpoint's connections too
		}
	}
	return src, c, closeIdle, nil
}

// fhirLimits bound what a FHIR server's answers may make the service hold (one
// response's bytes, one record's entries) and how long a request waits for one of the
// server's slots (TRIALSCREEN_FHIR_MAX_CONCURRENT). Zero: fhirclient's defaults.
type fhirLimits struct {
	maxBodyBytes int64
	maxEntries   int
	slotWait     time.Duration
}

func (l fhirLimits) apply(cfg *fhirclient.Config) {
	cfg.MaxBodyBytes, cfg.MaxEntries, cfg.SlotWait = l.maxBodyBytes, l.maxEntries, l.slotWait
}

// cliSlotWait is how long a request of screen or batch waits for a slot: in effect
// until its fetch's own deadline. fhirclient's default (1 s, then KindBusy) is the
// service's, which answers a screening someone waits on with 503 rather than queue it;
// a CLI run has no one else's screening to keep slots for, and failing a patient of a
// batch as busy would only lose it.
const cliSlotWait = 24 * time.Hour

// cliFHIRLimits are the limits of screen's and batch's FHIR fetches.
func cliFHIRLimits(maxEntries int) fhirLimits {
	return fhirLimits{maxEntries: maxEntries, slotWait: cliSlotWait}
}

// fhir is what serve's limits allow a FHIR server's answers.
func (l serveLimits) fhir() fhirLimits {
	return fhirLimits{maxBodyBytes: l.fhirMaxBodyBytes, maxEntries: l.maxEntries}
}

// defaultFHIRMaxConcurrent is the requests in flight per FHIR server by default. A
// screening sends its nine reads and searches at once, so at 20 ms per FHIR request 64
// slots carry about 350 screenings a second; a hospital FHIR server, which serves the
// EHR's own clinicians, takes that from one client, and the site lowers it (and runs
// fewer replicas) where its FHIR team asks. Past the cap, screenings are refused with 503
// rather than queued (fhirclient.KindBusy).
const defaultFHIRMaxConcurrent = 64

// maxFHIRMaxConcurrent bounds the setting: beyond it, a typo would aim a flood at the
// hospital's server.
const maxFHIRMaxConcurrent = 1024

// readFHIRMaxConcurrent reads TRIALSCREEN_FHIR_MAX_CONCURRENT, for the configured FHIR
// server and for each FHIR server an EHR names in CDS Hooks calls.
func readFHIRMaxConcurrent(getenv func(string) string) (int, error) {
	v := strings.TrimSpace(getenv(envFHIRMaxConcurrent))
	if v == "" {
		return defaultFHIRMaxConcurrent, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxFHIRMaxConcurrent {
		return 0, fmt.Errorf("%s: %q is not a whole number from 1 to %d", envFHIRMaxConcurrent, v, maxFHIRMaxConcurrent)
	}
	return n, nil
}

// smartFromEnv configures SMART Backend Services from the environment; the private key
// comes from a file (a mounted secret), never from a variable's value.
func smartFromEnv(getenv func(string) string) (*fhirclient.SMARTBackend, error) {
	keyFile := getenv(envSMARTKeyFile)
	if keyFile == "" {
		return nil, usagef("screen: %s is required with %s", envSMARTKeyFile, envSMARTTokenURL)
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("screen: %s: %w", envSMARTKeyFile, err)
	}
	alg := getenv(envSMARTAlg)
	if alg == "" {
		alg = "RS384"
	}
	b, err := fhirclient.NewSMARTBackend(fhirclient.SMARTConfig{
		TokenURL:      getenv(envSMARTTokenURL),
		ClientID:      getenv(envSMARTClientID),
		Scopes:        strings.Fields(getenv(envSMARTScopes)),
		PrivateKeyPEM: key,
		KeyID:         getenv(envSMARTKeyID),
		Alg:           alg,
	})
	if err != nil {
		return nil, usagef("screen: TRIALSCREEN_SMART_*: %v", err)
	}
	return b, nil
}
