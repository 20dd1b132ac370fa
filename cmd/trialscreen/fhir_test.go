package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/screening"
)

// fakeFHIR answers Patient/p1 and empty searches, or fails with status for everything.
// It records the Authorization header it saw (requests arrive concurrently).
func fakeFHIR(t *testing.T, status int, sawToken *syncString) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawToken.set(r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/fhir+json")
		switch {
		case status != 0:
			w.WriteHeader(status)
			w.Write([]byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"transient","diagnostics":"down for maintenance"}]}`))
		case r.URL.Path == "/fhir/Patient/p1":
			w.Write([]byte(`{"resourceType":"Patient","id":"p1","gender":"male","birthDate":"1960-01-01"}`))
		case strings.HasPrefix(r.URL.Path, "/fhir/Patient/"):
			w.WriteHeader(404)
			w.Write([]byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]}`))
		default:
			w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","total":0}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/fhir"
}

type syncString struct {
	mu sync.Mutex
	s  string
}

func (x *syncString) set(s string) { x.mu.Lock(); x.s = s; x.mu.Unlock() }
func (x *syncString) get() string  { x.mu.Lock(); defer x.mu.Unlock(); return x.s }

func runWithEnv(env map[string]string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return env[k] }, testClock, &out, &errOut)
	return code, out.String(), errOut.String()
}

// --as-of before the fetched patient's birth date (1960-01-01) is a usage error.
func TestScreenPatientFromServerAsOfBeforeBirth(t *testing.T) {
	var token syncString
	base := fakeFHIR(t, 0, &token)
	code, stdout, stderr := runWithEnv(map[string]string{envFHIRURL: base, envFHIRToken: "s3cret"},
		"screen", "--patient", "p1", "--format", "json", "--as-of", "1959-12-31T12:00:00Z")
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, "screen: --as-of 1959-12-31T12:00:00Z is before the patient's birth date 1960-01-01") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want a usage error naming the birth date", code, stdout, stderr)
	}
}

func TestScreenPatientFromServer(t *testing.T) {
	var token syncString
	base := fakeFHIR(t, 0, &token)
	code, stdout, stderr := runWithEnv(map[string]string{envFHIRURL: base, envFHIRToken: "s3cret"},
		"screen", "--patient", "p1", "--format", "json", "--as-of", "2026-11-20T12:00:00Z")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc screening.Screening
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Patient.ID != "p1" || doc.Verdict != screening.Ineligible {
		t.Errorf("patient %q verdict %s; an empty record lacks the myeloma diagnosis", doc.Patient.ID, doc.Verdict)
	}
	if got := token.get(); got != "Bearer s3cret" {
		t.Errorf("Authorization %q", got)
	}
	if strings.Contains(stderr, "s3cret") {
		t.Error("the token appears in the output")
	}
}

func TestScreenPatientServerErrors(t *testing.T) {
	var token syncString
	down := fakeFHIR(t, http.StatusServiceUnavailable, &token)
	up := fakeFHIR(t, 0, &token)
	cases := []struct {
		name string
		env  map[string]string
		id   string
		code int
		msg  string
	}{
		{"server unavailable", map[string]string{envFHIRURL: down}, "p1", exitError, "unavailable (HTTP 503"},
		{"unknown patient", map[string]string{envFHIRURL: up}, "nobody", exitError, "not found"},
		{"id ..", map[string]string{envFHIRURL: up}, "..", exitUsage, "screen: --patient is not a FHIR id"}, // would be GET [base]
		{"id .", map[string]string{envFHIRURL: up}, ".", exitUsage, "screen: --patient is not a FHIR id"},
		{"bad base URL", map[string]string{envFHIRURL: "ftp://x"}, "p1", exitUsage, "TRIALSCREEN_FHIR_URL"},
		{"two token sources", map[string]string{envFHIRURL: up, envFHIRToken: "a", envFHIRTokenFile: "/x"}, "p1", exitUsage, "not both"},
		{"missing token file", map[string]string{envFHIRURL: up, envFHIRTokenFile: "/nonexistent/token"}, "p1", exitError, "TRIALSCREEN_FHIR_TOKEN_FILE"},
		{"static token and SMART", map[string]string{envFHIRURL: up, envFHIRToken: "a", envSMARTTokenURL: "https://auth.example/token"}, "p1", exitUsage, "not both"},
		{"SMART without a key file", map[string]string{envFHIRURL: up, envSMARTTokenURL: "https://auth.example/token"}, "p1", exitUsage, "TRIALSCREEN_SMART_KEY_FILE is required"},
		{"SMART with a key that is not PEM", map[string]string{envFHIRURL: up, envSMARTTokenURL: "https://auth.example/token", envSMARTKeyFile: "fhir.go", envSMARTClientID: "c", envSMARTKeyID: "k", envSMARTScopes: "system/Patient.rs"}, "p1", exitUsage, "TRIALSCREEN_SMART_*"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runWithEnv(tc.env, "screen", "--patient", tc.id)
			if code != tc.code || !strings.Contains(stderr, tc.msg) || stdout != "" {
				t.Errorf("exit %d (want %d), stderr %q (want %q), stdout %q", code, tc.code, stderr, tc.msg, stdout)
			}
		})
	}
}

// TestURLErrorsNameOnlySchemeAndHost: a base or token URL's path or query can carry a
// tenant or a token; messages about it show its scheme and host only.
func TestURLErrorsNameOnlySchemeAndHost(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		msg  string
	}{
		{"FHIR URL not http", map[string]string{envFHIRURL: "ftp://fhir.example/tenant-42/r4?access_token=tok-9"},
			"screen: TRIALSCREEN_FHIR_URL: fhirclient: Config.BaseURL (ftp://fhir.example) is not an absolute http or https URL"},
		{"FHIR URL with a query", map[string]string{envFHIRURL: "https://fhir.example/tenant-42/r4?access_token=tok-9"},
			"screen: TRIALSCREEN_FHIR_URL: fhirclient: Config.BaseURL (https://fhir.example) must not have a query or fragment"},
		{"SMART token URL not https", map[string]string{envFHIRURL: "https://fhir.example/r4", envSMARTTokenURL: "http://auth.example/tenant-42/token?secret=tok-9",
			envSMARTKeyFile: "fhir.go", envSMARTClientID: "c", envSMARTKeyID: "k", envSMARTScopes: "system/Patient.rs"},
			"screen: TRIALSCREEN_SMART_*: fhirclient: SMARTConfig.TokenURL (http://auth.example) must be https (http only for localhost or 127.0.0.1)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runWithEnv(tc.env, "screen", "--patient", "p1")
			if code != exitUsage || !strings.Contains(stderr, tc.msg) || stdout != "" {
				t.Errorf("exit %d (want %d), stderr %q (want %q), stdout %q", code, exitUsage, stderr, tc.msg, stdout)
			}
			for _, secret := range []string{"tenant-42", "tok-9"} {
				if strings.Contains(stderr, secret) {
					t.Errorf("stderr %q shows %q", stderr, secret)
				}
			}
		})
	}
}

// TestSMARTConnectionsClosedAfterScreening: screen --patient with SMART Backend Services
// leaves no idle connection to the token endpoint behind (nor to the FHIR server).
func TestSMARTConnectionsClosedAfterScreening(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{}, 16)
	auth := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"smart-tok","token_type":"Bearer","expires_in":300}`))
	}))
	auth.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			closed <- struct{}{}
		}
	}
	auth.Start()
	defer auth.Close()
	var token syncString
	code, _, stderr := runWithEnv(map[string]string{
		envFHIRURL:       fakeFHIR(t, 0, &token),
		envSMARTTokenURL: auth.URL + "/token",
		envSMARTClientID: "trialscreen",
		envSMARTScopes:   "system/Patient.rs system/Observation.rs",
		envSMARTKeyFile:  keyFile,
		envSMARTKeyID:    "k1",
		envSMARTAlg:      "ES384",
	}, "screen", "--patient", "p1", "--format", "json", "--as-of", "2026-11-20T12:00:00Z")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := token.get(); got != "Bearer smart-tok" {
		t.Errorf("Authorization %q; want the SMART token", got)
	}
	// The CLI has returned: its cleanup must have closed the idle connection to the token
	// endpoint. Without it the connection stays open until the server is closed.
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Error("the connection to the token endpoint is still open after the command returned")
	}
}

// The CLI has no one else's screening to keep slots for: its requests wait for a slot
// to the FHIR server as long as the fetch may take, and are never refused as busy after
// the service's 1 s (here one slot, held 1.5 s by the record's first request).
func TestScreenPatientWaitsForASlot(t *testing.T) {
	var first sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fhir/metadata" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		first.Do(func() { time.Sleep(1500 * time.Millisecond) })
		w.Header().Set("Content-Type", "application/fhir+json")
		switch {
		case r.URL.Path == "/fhir/Patient/p1":
			w.Write([]byte(`{"resourceType":"Patient","id":"p1","gender":"male","birthDate":"1960-01-01"}`))
		default:
			w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","total":0}`))
		}
	}))
	t.Cleanup(srv.Close)
	code, _, stderr := runWithEnv(map[string]string{envFHIRURL: srv.URL + "/fhir", envFHIRMaxConcurrent: "1"},
		"screen", "--patient", "p1", "--format", "json", "--as-of", "2026-11-20T12:00:00Z")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
