package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/trialscreen/trialscreen/demo"
)

const (
	cdsDemoDefaultURL = "http://127.0.0.1:8080"
	cdsDemoTimeout    = 60 * time.Second // a whole call; a screening from the prefetch takes milliseconds
	cdsDemoTokenLife  = 5 * time.Minute
	cdsDemoMaxBody    = 4 << 20 // of an answer: one card, or a problem document
)

// cdsDemoCmd plays the demo EHR (demo/ehr): it reads the service's discovery, signs a
// CDS Hooks JWT, sends a patient-view for a demo patient with every prefetch key
// filled from the patient's demo record, and prints the card. It is how a newcomer tries
// CDS Hooks against trialscreen serve in demo mode, and shows an EHR integrator what a
// correct call holds.
func cdsDemoCmd(ctx context.Context, args []string, now func() time.Time, stdout io.Writer) error {
	cmd := commandNamed("cds-demo")
	fs := cmd.flagSet()
	base := fs.String("url", cdsDemoDefaultURL, "the service's public URL (its TRIALSCREEN_PUBLIC_URL): where to call, and the token's audience")
	pos, err := cmd.parseInterspersed(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("cds-demo: give one demo PATIENT (%s)", strings.Join(demo.Names(), ", "))
	}
	name, patientID := pos[0], pos[0]
	if n, ok := demo.NameForPatientID(pos[0]); ok {
		name = n
	} else {
		patientID = "demo-" + name
	}
	bundle, err := demo.Bundle(name)
	if err != nil {
		return usagef("cds-demo: %v", err)
	}
	svcURL := strings.TrimRight(*base, "/")
	ctx, cancel := context.WithTimeout(ctx, cdsDemoTimeout)
	defer cancel()
	hc := &http.Client{}
	svc, err := discoverPatientView(ctx, hc, svcURL)
	if err != nil {
		return err
	}
	prefetch, err := demoPrefetch(bundle, patientID, svc.Prefetch)
	if err != nil {
		return fmt.Errorf("cds-demo: %w", err)
	}
	endpoint := svcURL + "/cds-services/" + svc.ID
	token, err := signDemoEHRToken(endpoint, now())
	if err != nil {
		return fmt.Errorf("cds-demo: %w", err)
	}
	body, err := json.Marshal(map[string]any{
		"hook":         svc.Hook,
		"hookInstance": randomUUID(),
		"context":      map[string]string{"patientId": patientID, "userId": "Practitioner/demo"},
		"prefetch":     prefetch,
	})
	if err != nil {
		return fmt.Errorf("cds-demo: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("cds-demo: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	var answer struct {
		Cards []struct {
			Summary, Detail, Indicator string
			Links                      []struct{ Label, URL string }
		} `json:"cards"`
	}
	if err := cdsDemoCall(hc, req, &answer); err != nil {
		return err
	}
	if len(answer.Cards) == 0 {
		return fmt.Errorf("cds-demo: POST %s: the service answered with no card", endpoint)
	}
	for _, c := range answer.Cards {
		fmt.Fprintf(stdout, "%s [%s]\n", c.Summary, c.Indicator)
		if c.Detail != "" {
			fmt.Fprintf(stdout, "\n%s\n", strings.TrimSpace(c.Detail))
		}
		for _, l := range c.Links {
			fmt.Fprintf(stdout, "\n%s: %s\n", l.Label, l.URL)
		}
	}
	return nil
}

// cdsDemoService is the part of a discovery entry the call needs.
type cdsDemoService struct {
	Hook     string            `json:"hook"`
	ID       string            `json:"id"`
	Prefetch map[string]string `json:"prefetch"`
}

// discoverPatientView finds the service's patient-view service and its prefetch
// templates, as an EHR does when it is set up.
func discoverPatientView(ctx context.Context, hc *http.Client, svcURL string) (cdsDemoService, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, svcURL+"/cds-services", nil)
	if err != nil {
		return cdsDemoService{}, usagef("cds-demo: --url %q: %v", svcURL, err)
	}
	var d struct {
		Services []cdsDemoService `json:"services"`
	}
	if err := cdsDemoCall(hc, req, &d); err != nil {
		return cdsDemoService{}, err
	}
	for _, s := range d.Services {
		if s.Hook == "patient-view" {
			return s, nil
		}
	}
	return cdsDemoService{}, fmt.Errorf("cds-demo: GET %s/cds-services lists no patient-view service", svcURL)
}

// cdsDemoCall sends req and decodes a 200 answer into out. Any other answer is an
// error that says what the service said and, for the usual mistakes, what to do.
func cdsDemoCall(hc *http.Client, req *http.Request, out any) error {
	what := req.Method + " " + req.URL.String()
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("cds-demo: %s: the service cannot be reached (is trialscreen serve running there? --url sets where): %w", what, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, cdsDemoMaxBody))
	if err != nil {
		return fmt.Errorf("cds-demo: %s: reading the answer: %w", what, err)
	}
	if resp.StatusCode != http.StatusOK {
		var p struct{ Title, Detail string }
		said := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &p) == nil && p.Title != "" {
			said = strings.TrimSuffix(p.Title+": "+p.Detail, ": ")
		}
		hint := ""
		if resp.StatusCode == http.StatusUnauthorized {
			hint = " (the demo EHR is trusted only by a service in demo mode, with no TRIALSCREEN_FHIR_URL, " +
				"and --url must be the service's TRIALSCREEN_PUBLIC_URL: the token's audience is built from it)"
		}
		if said != "" {
			said = ": " + said
		}
		return fmt.Errorf("cds-demo: %s: %s%s%s", what, resp.Status, said, hint)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("cds-demo: %s: the answer is not the expected JSON: %w", what, err)
	}
	return nil
}

// signDemoEHRToken is the demo EHR's CDS Hooks JWT for one call (spec: "Trusting CDS
// Clients"): aud is the service endpoint called, a fresh jti, a short life.
func signDemoEHRToken(endpoint string, now time.Time) (string, error) {
	key, err := demo.EHRPrivateKey()
	if err != nil {
		return "", err
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES384, jwt.RegisteredClaims{
		Issuer:    demo.EHRIssuer,
		Subject:   demo.EHRIssuer,
		Audience:  jwt.ClaimStrings{endpoint},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(cdsDemoTokenLife)),
		ID:        randomHex(16),
	})
	t.Header["kid"] = demo.EHRKeyID
	return t.SignedString(key)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// randomUUID is a version 4 UUID, the form CDS Hooks gives hookInstance.
func randomUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
