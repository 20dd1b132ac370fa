package fhirclient

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is an Observer that keeps every call as a line: "request Patient 5xx",
// "retry Observation", "breaker open".
type recorder struct {
	mu     sync.Mutex
	events []string
	args   []string        // every string argument ever passed
	lat    []time.Duration // of each Request, in order
}

func (r *recorder) add(event string, d time.Duration, isRequest bool, args ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, event)
	r.args = append(r.args, args...)
	if isRequest {
		r.lat = append(r.lat, d)
	}
}

func (r *recorder) Request(resourceType, statusClass string, d time.Duration) {
	r.add("request "+resourceType+" "+statusClass, d, true, resourceType, statusClass)
}
func (r *recorder) Retry(resourceType string) { r.add("retry "+resourceType, 0, false, resourceType) }
func (r *recorder) BreakerState(state string) { r.add("breaker "+state, 0, false, state) }

// take returns the events so far and forgets them.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

func (r *recorder) transitions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if s, ok := strings.CutPrefix(e, "breaker "); ok {
			out = append(out, s)
		}
	}
	return out
}

func TestObserverSeesAttemptsRetriesAndTransitions(t *testing.T) {
	const secret = "secret-id"
	var mu sync.Mutex
	var searches int
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/fhir/Observation":
			if r.URL.Query().Get("patient") != "Patient/"+secret {
				t.Errorf("search query %q lost the patient", r.URL.RawQuery)
			}
			mu.Lock()
			searches++
			n := searches
			mu.Unlock()
			if n == 1 {
				writeJSON(w, 503, outcome("error", "busy with Patient/"+secret))
				return
			}
			writeJSON(w, 200, bundle("", obs("o1")))
		case r.URL.Path == "/fhir/Patient/"+secret:
			writeJSON(w, 404, outcome("error", "Patient/"+secret+" not found"))
		case r.URL.Path == "/fhir/Patient/not-modified":
			w.WriteHeader(304)
		case r.URL.Path == "/fhir/Patient/hang":
			<-r.Context().Done()
		case r.URL.Path == "/fhir/Patient/down":
			writeJSON(w, 503, "")
		default:
			t.Errorf("unexpected request %s", r.URL.Path)
		}
	})
	rec := &recorder{}
	c := newClient(t, srv.URL+"/fhir", func(cfg *Config) {
		cfg.Observer = rec
		cfg.BreakerFailures = 2
		cfg.AttemptTimeout = 50 * time.Millisecond
	})
	ctx := context.Background()

	if _, err := c.Search(ctx, "Observation", url.Values{"patient": {"Patient/" + secret}, "code": {"http://loinc.org|4548-4"}}); err != nil {
		t.Fatal(err)
	}
	want := []string{"request Observation 5xx", "retry Observation", "request Observation 2xx"}
	if got := rec.take(); !slices.Equal(got, want) {
		t.Errorf("search with one 503:\n got %q\nwant %q", got, want)
	}

	_, err := c.Read(ctx, "Patient", secret)
	checkError(t, err, KindNotFound, "read Patient")
	if got, want := rec.take(), []string{"request Patient 4xx"}; !slices.Equal(got, want) {
		t.Errorf("read of an unknown patient: got %q, want %q", got, want)
	}

	_, err = c.Read(ctx, "Patient", "not-modified")
	checkError(t, err, KindBadResponse, "read Patient")
	if got, want := rec.take(), []string{"request Patient 3xx"}; !slices.Equal(got, want) {
		t.Errorf("read answered 304: got %q, want %q", got, want)
	}

	// Two calls that fail after all their attempts open the circuit (BreakerFailures 2).
	_, err = c.Read(ctx, "Patient", "hang")
	checkError(t, err, KindUnavailable, "read Patient", "AttemptTimeout", "3 attempts")
	_, err = c.Read(ctx, "Patient", "down")
	checkError(t, err, KindUnavailable, "read Patient", "HTTP 503")
	want = []string{
		"request Patient error", "retry Patient", "request Patient error", "retry Patient", "request Patient error",
		"request Patient 5xx", "retry Patient", "request Patient 5xx", "retry Patient", "request Patient 5xx",
		"breaker open",
	}
	if got := rec.take(); !slices.Equal(got, want) {
		t.Errorf("failing reads:\n got %q\nwant %q", got, want)
	}
	hits := srv.hits.Load()
	_, err = c.Search(ctx, "Observation", url.Values{"patient": {"Patient/" + secret}})
	checkError(t, err, KindUnavailable, "search Observation", "circuit breaker is open")
	if got, want := rec.take(), []string{"request Observation open"}; !slices.Equal(got, want) {
		t.Errorf("refused search: got %q, want %q", got, want)
	}
	if n := srv.hits.Load(); n != hits {
		t.Errorf("the server saw %d requests while the circuit was open", n-hits)
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	classes := []string{"2xx", "3xx", "4xx", "5xx", "error", "open"}
	for _, a := range rec.args {
		if strings.Contains(a, secret) || strings.Contains(a, "4548") || strings.Contains(a, "/") || strings.Contains(a, "?") {
			t.Errorf("an Observer argument %q holds request data", a)
		}
		if !slices.Contains(classes, a) && !slices.Contains([]string{"Patient", "Observation", "open", "half-open", "closed"}, a) {
			t.Errorf("unexpected Observer argument %q", a)
		}
	}
	for i, d := range rec.lat {
		last := i == len(rec.lat)-1 // the refused search
		if last != (d == 0) || d < 0 {
			t.Errorf("latency %d is %s", i, d)
		}
	}
}

func TestStatusClass(t *testing.T) {
	for status, want := range map[int]string{0: "error", 101: "error", 200: "2xx", 204: "2xx", 304: "3xx", 404: "4xx", 429: "4xx", 503: "5xx", 599: "5xx", 600: "error"} {
		if got := statusClass(status); got != want {
			t.Errorf("statusClass(%d) = %q, want %q", status, got, want)
		}
	}
}

// An Observer is optional; a nil one must not be called.
func TestNilObserver(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 503, "") })
	c := newClient(t, srv.URL, func(cfg *Config) { cfg.BreakerFailures = 1 })
	for i := range 2 {
		if _, err := c.Read(context.Background(), "Patient", fmt.Sprint("p", i)); err == nil {
			t.Fatal("no error")
		}
	}
	if c.BreakerState() != BreakerOpen {
		t.Errorf("state %s", c.BreakerState())
	}
}

func TestRequestResourceType(t *testing.T) {
	for op, want := range map[string]string{"read Patient": "Patient", "search Observation": "Observation", "read CapabilityStatement": "CapabilityStatement"} {
		if got := (&request{op: op}).resourceType(); got != want {
			t.Errorf("resourceType of op %q = %q, want %q", op, got, want)
		}
	}
}
