package fhirclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialscreen/trialscreen/protocols"
)

// TestMain fails the package when a test leaves goroutines behind (a stuck request, a
// retry timer, an open connection).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	patientID = "pat-4711"     // must never show in an error message
	token     = "s3cret-token" // nor this
)

var allKinds = []Kind{KindNotFound, KindAuth, KindThrottled, KindUnavailable, KindBadResponse, KindRejected, KindBusy}

// server is an httptest server on 127.0.0.1 that counts its requests.
type server struct {
	*httptest.Server
	hits atomic.Int32
}

func newServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// newClient makes a client with fast backoff; its idle connections are closed at the
// end of the test so goleak sees no connection goroutines.
func newClient(t *testing.T, base string, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: base, Token: StaticToken(token), BaseBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// recordSource reads the default protocol's record through c.
func recordSource(t *testing.T, c *Client) *RecordSource {
	t.Helper()
	p, err := protocols.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewRecordSource(c, p)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

func outcome(severity, diagnostics string) string {
	return fmt.Sprintf(`{"resourceType":"OperationOutcome","issue":[{"severity":%q,"code":"processing","diagnostics":%q}]}`, severity, diagnostics)
}

func patient(id string) string { return fmt.Sprintf(`{"resourceType":"Patient","id":%q}`, id) }

func obs(id string) string {
	return fmt.Sprintf(`{"resource":{"resourceType":"Observation","id":%q,"subject":{"reference":"Patient/%s"}},"search":{"mode":"match"}}`, id, patientID)
}

// bundle is a searchset page; next is its next link ("" for none).
func bundle(next string, entries ...string) string {
	link := ""
	if next != "" {
		link = fmt.Sprintf(`,"link":[{"relation":"self","url":"x"},{"relation":"next","url":%q}]`, next)
	}
	return fmt.Sprintf(`{"resourceType":"Bundle","type":"searchset"%s,"entry":[%s]}`, link, strings.Join(entries, ","))
}

// checkError asserts err is an *Error of kind want, no other kind, with a message that
// names op, holds each of msgs, and leaks neither the patient id nor the token.
func checkError(t *testing.T, err error, want Kind, op string, msgs ...string) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", want)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %q (%T) is not an *Error", err, err)
	}
	for _, k := range allKinds {
		if got := errors.Is(err, k); got != (k == want) {
			t.Errorf("errors.Is(err, %v) = %v; error: %v", k, got, err)
		}
	}
	if e.Outcome != "" && strings.Contains(err.Error(), e.Outcome) {
		t.Errorf("message %q holds the server's text %q: messages are logged", err, e.Outcome)
	}
	msg := withOutcome(err)
	t.Logf("message: %s", msg)
	if e.Op != op || !strings.Contains(msg, op) {
		t.Errorf("Op = %q, message %q; want op %q named", e.Op, msg, op)
	}
	for _, m := range msgs {
		if !strings.Contains(msg, m) {
			t.Errorf("message %q does not contain %q", msg, m)
		}
	}
	for _, secret := range []string{patientID, token} {
		if strings.Contains(msg, secret) {
			t.Errorf("message %q leaks %q", msg, secret)
		}
	}
	return e
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// withOutcome is err's message and, for an *Error with server text, "; the server says: "
// and that text (Outcome): what a caller entitled to it is shown. The message alone never
// holds it, since messages are logged.
func withOutcome(err error) string {
	var e *Error
	if !errors.As(err, &e) || e.Outcome == "" {
		return err.Error()
	}
	return err.Error() + "; the server says: " + e.Outcome
}
