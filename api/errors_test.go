package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/screening"
)

// failingSource fails every fetch with err.
type failingSource struct{ err error }

func (f failingSource) Record(context.Context, string) (*screening.Record, error) { return nil, f.err }

// stuckSource answers only when the request's context ends, as a FHIR server that never
// answers does.
type stuckSource struct{}

func (stuckSource) Record(ctx context.Context, _ string) (*screening.Record, error) {
	<-ctx.Done()
	return nil, fmt.Errorf("fetching the record: %w", ctx.Err())
}

// Every failure of the record source reaches the caller as one problem document with
// the status that tells what to do: 404 no such patient, 502 the FHIR server failed,
// 504 it did not answer in time. OperationOutcome text is passed through to the
// authenticated caller, as upstream only (never in detail, never in the log).
func TestRESTSourceErrors(t *testing.T) {
	unavailable := &fhirclient.Error{Kind: fhirclient.KindUnavailable, Op: "search Observation", Status: 503, Attempts: 3,
		Outcome: "error: the server is under maintenance"}
	refused := &fhirclient.Error{Kind: fhirclient.KindUnavailable, Op: "read Patient", Attempts: 3, Err: errors.New("dial tcp 127.0.0.1:9: connect: connection refused")}
	forbidden := &fhirclient.Error{Kind: fhirclient.KindAuth, Op: "search Condition", Status: 403, Outcome: "error: insufficient scope"}
	gone := &fhirclient.Error{Kind: fhirclient.KindNotFound, Op: "read Patient", Status: 404, Outcome: "error: resource Patient/[redacted] is not known"}
	badJSON := &fhirclient.Error{Kind: fhirclient.KindBadResponse, Op: "search Procedure", Status: 200, Page: 2, Err: errors.New("truncated JSON: the body ends after 17 bytes")}
	slow := &fhirclient.Error{Kind: fhirclient.KindUnavailable, Op: "search Observation", Page: 1, Err: context.DeadlineExceeded, Outcome: "warning: slow query"}

	cases := []struct {
		name    string
		src     func(*Config)
		want    Problem
		logged  bool // 5xx: the error is in the application log
		outcome string
	}{
		{"FHIR server unavailable with an OperationOutcome", sourceOf(failingSource{unavailable}),
			Problem{Type: "about:blank", Title: "The FHIR server could not provide the record", Status: 502,
				Detail:   "fhirclient: search Observation: unavailable (HTTP 503, 3 attempts)",
				Upstream: "error: the server is under maintenance"}, true, "4"},
		{"FHIR server unreachable", sourceOf(failingSource{refused}),
			Problem{Type: "about:blank", Title: "The FHIR server could not provide the record", Status: 502,
				Detail: "fhirclient: read Patient: unavailable (3 attempts): dial tcp 127.0.0.1:9: connect: connection refused"}, true, "4"},
		{"FHIR server refuses the service's token", sourceOf(failingSource{forbidden}),
			Problem{Type: "about:blank", Title: "The FHIR server could not provide the record", Status: 502,
				Detail:   "fhirclient: search Condition: not authorized (HTTP 403)",
				Upstream: "error: insufficient scope"}, true, "4"},
		{"FHIR server sends a broken page", sourceOf(failingSource{badJSON}),
			Problem{Type: "about:blank", Title: "The FHIR server could not provide the record", Status: 502,
				Detail: "fhirclient: search Procedure: bad response (HTTP 200, page 2): truncated JSON: the body ends after 17 bytes"}, true, "4"},
		{"FHIR server has no such patient", sourceOf(failingSource{gone}),
			Problem{Type: "about:blank", Title: "Patient not found", Status: 404,
				Detail: "fhirclient: read Patient: not found (HTTP 404)"}, false, "4"},
		{"source says patient not found", sourceOf(failingSource{fmt.Errorf("demo: %w", screening.ErrPatientNotFound)}),
			Problem{Type: "about:blank", Title: "Patient not found", Status: 404, Detail: "demo: patient not found"}, false, "4"},
		{"FHIR client timed out", sourceOf(failingSource{slow}),
			Problem{Type: "about:blank", Title: "The FHIR server did not answer in time", Status: 504,
				Detail:   "fhirclient: search Observation: unavailable (page 1): context deadline exceeded",
				Upstream: "warning: slow query"}, true, "4"},
		{"request deadline passes while fetching", func(c *Config) { c.Source = stuckSource{}; c.RequestTimeout = 20 * time.Millisecond },
			Problem{Type: "about:blank", Title: "The FHIR server did not answer in time", Status: 504,
				Detail: "fetching the record: context deadline exceeded"}, true, "4"},
		{"the caller went away", sourceOf(failingSource{&fhirclient.Error{Kind: fhirclient.KindUnavailable, Op: "read Patient", Err: context.Canceled}}),
			Problem{Type: "about:blank", Title: "Request cancelled", Status: 499, Detail: "the request was cancelled by the caller"}, false, "4"},
		{"anything else", sourceOf(failingSource{errors.New("disk on fire")}),
			Problem{Type: "about:blank", Title: "Internal error", Status: 500, Detail: "the service failed; the log has the details"}, true, "4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newRESTEnv(t, func(c *Config) {
				tc.src(c)
				// An authenticated caller asking about the patient: entitled to upstream.
				c.Auth = authFunc(func(*http.Request) (Caller, error) { return Caller{ID: "portal-7"}, nil })
			})
			for _, how := range []string{"GET", "POST"} {
				var rec *httptest.ResponseRecorder
				if how == "GET" {
					rec = env.do(t, http.MethodGet, "/v1/patients/p-1/screening", nil)
				} else {
					rec = env.postJSON(t, `{"patient_id": "p-1"}`)
				}
				if rec.Code != tc.want.Status {
					t.Fatalf("%s: status %d, want %d; body %s", how, rec.Code, tc.want.Status, rec.Body)
				}
				if got := problemOf(t, rec); got != tc.want {
					t.Errorf("%s: problem\n got %+v\nwant %+v", how, got, tc.want)
				}
			}
			lines := env.auditLines()
			if len(lines) != 2 {
				t.Fatalf("%d audit records for 2 failed screenings, want 2:\n%s", len(lines), env.audit)
			}
			for _, l := range lines {
				if !strings.Contains(l, `"outcome":"`+tc.outcome+`"`) || !strings.Contains(l, `"Patient/p-1"`) {
					t.Errorf("audit record %s: want outcome %s for Patient/p-1", l, tc.outcome)
				}
			}
			log := env.log.String()
			if logged := strings.Contains(log, `"msg":"request failed"`); logged != tc.logged {
				t.Errorf("logged %v, want %v:\n%s", logged, tc.logged, log)
			}
			for _, text := range []string{"maintenance", "insufficient scope", "is not known", "slow query"} {
				if strings.Contains(log, text) {
					t.Errorf("the application log holds the FHIR server's text %q:\n%s", text, log)
				}
			}
			if strings.Contains(log, "p-1") {
				t.Errorf("the application log names the patient:\n%s", log)
			}
		})
	}
}

func sourceOf(src screening.Source) func(*Config) {
	return func(c *Config) { c.Source = src }
}

// Routing errors are problem documents too.
func TestRESTRoutingErrors(t *testing.T) {
	cases := []struct {
		name   string
		method string
		target string
		want   Problem
		allow  string
	}{
		{"unknown path", "GET", "/v1/patients", Problem{Type: "about:blank", Title: "Not Found", Status: 404, Detail: "Not Found"}, ""},
		{"unknown version", "GET", "/v2/patients/demo-candidate/screening", Problem{Type: "about:blank", Title: "Not Found", Status: 404, Detail: "Not Found"}, ""},
		{"GET on the POST route", "GET", "/v1/screenings", Problem{Type: "about:blank", Title: "Method Not Allowed", Status: 405, Detail: "Method Not Allowed"}, "OPTIONS, POST"},
		{"DELETE a screening", "DELETE", "/v1/patients/demo-candidate/screening", Problem{Type: "about:blank", Title: "Method Not Allowed", Status: 405, Detail: "Method Not Allowed"}, "OPTIONS, GET"},
	}
	env := newRESTEnv(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := env.do(t, tc.method, tc.target, nil)
			if rec.Code != tc.want.Status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.want.Status, rec.Body)
			}
			if got := problemOf(t, rec); got != tc.want {
				t.Errorf("problem\n got %+v\nwant %+v", got, tc.want)
			}
			if got := rec.Header().Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
		})
	}
}

// problemFor is the one place error kinds become statuses; the 401 says nothing more
// than that authentication is required.
func TestProblemForUnauthenticated(t *testing.T) {
	got := problemFor(fmt.Errorf("middleware: %w", errUnauthenticated))
	want := Problem{Type: "about:blank", Title: "Unauthorized", Status: 401, Detail: "authentication required"}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
