package containertest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestScreeningOverHTTP screens every demo patient through the service container, which
// fetches the record from the FHIR server container over the private network.
func TestScreeningOverHTTP(t *testing.T) {
	s := needSuite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t.Logf("FHIR server: %s at %s", s.fhir.kind, s.fhir.base)

	for id, want := range wantVerdict {
		t.Run(id, func(t *testing.T) {
			a := s.service.screen(ctx, id)
			if a.err != nil || a.status != 200 {
				t.Fatalf("GET screening: %d %v %.500s", a.status, a.err, a.body)
			}
			patient, got, err := verdictOf(a.body)
			if err != nil || patient != id || got != want {
				t.Errorf("verdict for %s: patient %q verdict %q (%v), want %q", id, patient, got, err, want)
			}
		})
	}

	t.Run("a caller without a token gets a bare 401", func(t *testing.T) {
		a := s.service.get(ctx, "/v1/patients/demo-candidate/screening?as_of="+asOf, false)
		if a.status != 401 || a.contentType != "application/problem+json" || !strings.Contains(a.body, `"title":"Unauthorized"`) {
			t.Errorf("got %d %q %.300s; want 401 problem+json titled Unauthorized", a.status, a.contentType, a.body)
		}
		if strings.Contains(a.body, "demo-candidate") {
			t.Errorf("the 401 names the patient: %s", a.body)
		}
	})
	t.Run("an unknown patient is a 404 problem", func(t *testing.T) {
		a := s.service.screen(ctx, "no-such-patient")
		if a.status != 404 || a.contentType != "application/problem+json" || !strings.Contains(a.body, `"title":"Patient not found"`) {
			t.Errorf("got %d %q %.300s; want 404 problem+json titled Patient not found", a.status, a.contentType, a.body)
		}
	})

	health := []struct {
		name, path string
		want       map[string]string
	}{
		{"healthz", "/healthz", map[string]string{"status": "ok"}},
		{"readyz", "/readyz", map[string]string{"status": "ready", "source": "fhir"}},
	}
	// The probes answer on both ports: the API's, and the operators' (Kubernetes').
	for _, h := range health {
		for port, base := range map[string]string{"api": s.service.base, "ops": s.service.ops} {
			t.Run(h.name+" on "+port, func(t *testing.T) {
				a := s.service.getAt(ctx, base, h.path, false)
				var body map[string]string
				if a.status != 200 || json.Unmarshal([]byte(a.body), &body) != nil {
					t.Fatalf("GET %s: %d %v %s", h.path, a.status, a.err, a.body)
				}
				for k, v := range h.want {
					if body[k] != v {
						t.Errorf("GET %s: %s = %q, want %q (body %s)", h.path, k, body[k], v, a.body)
					}
				}
			})
		}
	}

	t.Run("the API port has no metrics", func(t *testing.T) {
		a := s.service.get(ctx, "/metrics", false)
		if a.status != 404 || strings.Contains(a.body, "trialscreen_") {
			t.Errorf("GET /metrics on the API port: %d %v %.300s; want 404 without metrics", a.status, a.err, a.body)
		}
	})
	t.Run("metrics count the screenings", func(t *testing.T) {
		a := s.service.getAt(ctx, s.service.ops, "/metrics", false)
		if a.status != 200 {
			t.Fatalf("GET /metrics on the operators' port: %d %v", a.status, a.err)
		}
		for _, want := range []string{
			`trialscreen_screenings_total{surface="rest",verdict="potentially-eligible"}`,
			`trialscreen_screenings_total{surface="rest",verdict="ineligible"}`,
			`trialscreen_fhir_request_duration_seconds_count{`,
		} {
			if !strings.Contains(a.body, want) {
				t.Errorf("/metrics has no %s", want)
			}
		}
		for id := range wantVerdict {
			if strings.Contains(a.body, id) {
				t.Errorf("/metrics holds the patient id %s", id)
			}
		}
	})
}
