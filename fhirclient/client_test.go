package fhirclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestReadErrors(t *testing.T) {
	big := patient(patientID)[:len(patient(patientID))-1] + `,"text":"` + strings.Repeat("x", 8<<10) + `"}`
	status := func(code int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { writeJSON(w, code, body) }
	}
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		refused    bool // the server is gone: connection refused
		cfg        func(*Config)
		timeout    time.Duration
		want       Kind
		msgs       []string
		hits       int32 // requests the server should see; -1: not checked
		is         error // also errors.Is this
		maxElapsed time.Duration
	}{
		{name: "500 retried 3 times", handler: status(500, outcome("error", "database down")),
			want: KindUnavailable, msgs: []string{"HTTP 500", "3 attempts", "database down"}, hits: 3},
		{name: "502 retried 3 times", handler: status(502, "<html>bad gateway</html>"),
			want: KindUnavailable, msgs: []string{"unavailable", "HTTP 502", "3 attempts"}, hits: 3},
		{name: "503 retried 3 times", handler: status(503, outcome("fatal", "maintenance")),
			want: KindUnavailable, msgs: []string{"HTTP 503", "3 attempts", "fatal: maintenance"}, hits: 3},
		{name: "Attempts 1 means no retry", handler: status(503, ""), cfg: func(c *Config) { c.Attempts = 1 },
			want: KindUnavailable, msgs: []string{"HTTP 503"}, hits: 1},
		{name: "501 not retried", handler: status(501, ""),
			want: KindUnavailable, msgs: []string{"HTTP 501"}, hits: 1},
		{name: "connection refused retried", refused: true,
			want: KindUnavailable, msgs: []string{"connection refused", "3 attempts"}, hits: -1},
		{name: "429 Retry-After past the deadline fails now",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "1")
				writeJSON(w, 429, outcome("error", "slow down"))
			},
			timeout: 300 * time.Millisecond, maxElapsed: 200 * time.Millisecond,
			want: KindThrottled, msgs: []string{"HTTP 429", "retrying after 1s would pass the deadline", "slow down"}, hits: 1},
		{name: "429 Retry-After beyond MaxRetryAfter fails now",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "3600")
				writeJSON(w, 429, "")
			},
			maxElapsed: 200 * time.Millisecond,
			want:       KindThrottled, msgs: []string{"HTTP 429", "longer than MaxRetryAfter"}, hits: 1},
		{name: "429 Retry-After 0 still backs off", // not a hot loop: the backoff (a minute) passes the deadline
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "0")
				writeJSON(w, 429, "")
			},
			cfg:     func(c *Config) { c.BaseBackoff, c.MaxBackoff = time.Minute, time.Minute },
			timeout: 10 * time.Second,
			want:    KindThrottled, msgs: []string{"HTTP 429", "would pass the deadline"}, hits: 1},
		{name: "503 backoff past the deadline fails now", handler: status(503, ""),
			cfg:     func(c *Config) { c.BaseBackoff, c.MaxBackoff = time.Second, 2*time.Second },
			timeout: 300 * time.Millisecond, maxElapsed: 200 * time.Millisecond,
			want: KindUnavailable, msgs: []string{"HTTP 503", "would pass the deadline"}, hits: 1},
		{name: "hang past the deadline", handler: nil, // set below: blocks until the client gives up
			timeout: 300 * time.Millisecond, maxElapsed: time.Second,
			want: KindUnavailable, msgs: []string{"the deadline passed before the server answered"}, hits: 1, is: context.DeadlineExceeded},
		{name: "hang past AttemptTimeout retried", handler: nil, // set below
			cfg:  func(c *Config) { c.AttemptTimeout = 50 * time.Millisecond },
			want: KindUnavailable, msgs: []string{"no answer within AttemptTimeout (50ms)", "3 attempts"}, hits: 3},
		{name: "malformed JSON", handler: status(200, `{"resourceType":"Patient",,"id":"x"}`),
			want: KindBadResponse, msgs: []string{"malformed JSON at byte 27"}, hits: 1},
		{name: "truncated JSON", handler: status(200, `{"resourceType":"Patient","id":"pat-4711","name":[{"fam`),
			want: KindBadResponse, msgs: []string{"truncated JSON"}, hits: 1},
		{name: "empty body", handler: status(200, ""),
			want: KindBadResponse, msgs: []string{"the body is empty"}, hits: 1},
		{name: "oversized body with Content-Length", handler: status(200, big),
			cfg:  func(c *Config) { c.MaxBodyBytes = 1024 },
			want: KindBadResponse, msgs: []string{"larger than MaxBodyBytes (1 KiB, 1024 bytes)"}, hits: 1},
		{name: "oversized body chunked",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/fhir+json")
				for i := 0; i < 4; i++ {
					fmt.Fprint(w, big[i*len(big)/4:(i+1)*len(big)/4])
					w.(http.Flusher).Flush()
				}
			},
			cfg:  func(c *Config) { c.MaxBodyBytes = 1000 },
			want: KindBadResponse, msgs: []string{"larger than MaxBodyBytes (1000 bytes)"}, hits: 1},
		{name: "wrong content type",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				fmt.Fprint(w, "<html>login</html>")
			},
			want: KindBadResponse, msgs: []string{"Content-Type is text/html"}, hits: 1},
		{name: "another resource type", handler: status(200, outcome("error", "Patient/pat-4711 is merged")),
			want: KindBadResponse, msgs: []string{"the body is OperationOutcome, not Patient", "Patient/[redacted] is merged"}, hits: 1},
		{name: "another id", handler: status(200, patient("someone-else")),
			want: KindBadResponse, msgs: []string{"another id"}, hits: 1},
		{name: "401 not retried, diagnostics carried", handler: status(401, outcome("error", "token s3cret-token expired")),
			want: KindAuth, msgs: []string{"not authorized", "HTTP 401", "token [redacted] expired"}, hits: 1},
		{name: "403 not retried", handler: status(403, outcome("error", "no access to Patient/pat-4711")),
			want: KindAuth, msgs: []string{"HTTP 403", "no access to Patient/[redacted]"}, hits: 1},
		{name: "404 not retried, diagnostics carried", handler: status(404, outcome("error", "Resource Patient/pat-4711 is not known")),
			want: KindNotFound, msgs: []string{"not found", "HTTP 404", "error: Resource Patient/[redacted] is not known"}, hits: 1},
		{name: "410 gone", handler: status(410, ""),
			want: KindNotFound, msgs: []string{"HTTP 410"}, hits: 1},
		{name: "400 rejected, not retried", handler: status(400, outcome("error", "bad id")),
			want: KindRejected, msgs: []string{"request rejected", "HTTP 400", "bad id"}, hits: 1},
		{name: "no token", handler: status(200, patient(patientID)), cfg: func(c *Config) { c.Token = StaticToken("") },
			want: KindAuth, msgs: []string{"no token: the static token is empty"}, hits: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.handler
			if h == nil && !tt.refused {
				release := make(chan struct{})
				h = func(w http.ResponseWriter, r *http.Request) {
					select {
					case <-r.Context().Done():
					case <-release:
					}
				}
				defer close(release) // before the server's Close, which waits for handlers
			}
			srv := newServer(t, h)
			if tt.refused {
				srv.Close()
			}
			c := newClient(t, srv.URL, tt.cfg)
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			start := time.Now()
			got, err := c.Read(ctx, "Patient", patientID)
			elapsed := time.Since(start)
			if got != nil {
				t.Errorf("Read returned a body with error %v", err)
			}
			checkError(t, err, tt.want, "read Patient", tt.msgs...)
			if tt.hits >= 0 && srv.hits.Load() != tt.hits {
				t.Errorf("server saw %d requests, want %d", srv.hits.Load(), tt.hits)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(err, %v) is false: %v", tt.is, err)
			}
			if tt.maxElapsed > 0 && elapsed > tt.maxElapsed {
				t.Errorf("took %s, want at most %s", elapsed, tt.maxElapsed)
			}
		})
	}
}

func TestReadSucceeds(t *testing.T) {
	tests := []struct {
		name       string
		responses  []func(w http.ResponseWriter) // one per request; the last repeats
		minElapsed time.Duration
		hits       int32
	}{
		{name: "at once", hits: 1, responses: []func(http.ResponseWriter){
			func(w http.ResponseWriter) { writeJSON(w, 200, patient(patientID)) },
		}},
		{name: "503 then 200", hits: 2, responses: []func(http.ResponseWriter){
			func(w http.ResponseWriter) { writeJSON(w, 503, "") },
			func(w http.ResponseWriter) { writeJSON(w, 200, patient(patientID)) },
		}},
		{name: "429 Retry-After 1 is waited for", hits: 2, minElapsed: time.Second, responses: []func(http.ResponseWriter){
			func(w http.ResponseWriter) { w.Header().Set("Retry-After", "1"); writeJSON(w, 429, "") },
			func(w http.ResponseWriter) { writeJSON(w, 200, patient(patientID)) },
		}},
		{name: "plain JSON with parameters", hits: 1, responses: []func(http.ResponseWriter){
			func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "application/json; charset=UTF-8")
				fmt.Fprint(w, patient(patientID))
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var bad []string
			var count atomic.Int32
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				n := int(count.Add(1))
				mu.Lock()
				if r.Method != http.MethodGet || r.URL.Path != "/fhir/Patient/"+patientID ||
					r.Header.Get("Accept") != "application/fhir+json" || r.Header.Get("Authorization") != "Bearer "+token {
					bad = append(bad, fmt.Sprintf("%s %s Accept=%q Authorization=%q", r.Method, r.URL.Path, r.Header.Get("Accept"), r.Header.Get("Authorization")))
				}
				mu.Unlock()
				tt.responses[min(n, len(tt.responses))-1](w)
			})
			c := newClient(t, srv.URL+"/fhir/", nil)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			got, err := c.Read(ctx, "Patient", patientID)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != patient(patientID) {
				t.Errorf("got %s", got)
			}
			if e := time.Since(start); e < tt.minElapsed {
				t.Errorf("took %s, want at least %s (Retry-After)", e, tt.minElapsed)
			}
			if srv.hits.Load() != tt.hits {
				t.Errorf("server saw %d requests, want %d", srv.hits.Load(), tt.hits)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, b := range bad {
				t.Errorf("unexpected request: %s", b)
			}
		})
	}
}

func TestReadRejectsBadArguments(t *testing.T) {
	srv := newServer(t, nil)
	c := newClient(t, srv.URL, nil)
	tests := []struct{ name, typ, id, msg string }{
		{"lower-case type", "patient", patientID, `"patient" is not a FHIR resource type name`},
		{"path in id", "Patient", "../Observation", "the id is not a FHIR id"},
		{"empty id", "Patient", "", "the id is not a FHIR id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Read(context.Background(), tt.typ, tt.id)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %v, want one saying %q", err, tt.msg)
			}
			if errors.As(err, new(*Error)) {
				t.Errorf("a bad argument is not a server failure, got *Error %v", err)
			}
		})
	}
	if srv.hits.Load() != 0 {
		t.Errorf("server saw %d requests, want none", srv.hits.Load())
	}
}

func TestRedirectToAnotherOriginIsNotFollowed(t *testing.T) {
	other := newServer(t, nil)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	})
	c := newClient(t, srv.URL, nil)
	_, err := c.Read(context.Background(), "Patient", patientID)
	checkError(t, err, KindBadResponse, "read Patient", "redirected to another origin")
	if n := other.hits.Load(); n != 0 {
		t.Errorf("the other origin received %d requests", n)
	}
}

func TestConcurrencyIsCapped(t *testing.T) {
	var inFlight, peak atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
		writeJSON(w, 200, patient(patientID))
	})
	c := newClient(t, srv.URL, func(c *Config) { c.MaxConcurrent = 2 })
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := c.Read(context.Background(), "Patient", patientID); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Errorf("peak requests in flight %d, want 2 (MaxConcurrent)", p)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		msg  string
	}{
		{"no base", Config{}, "Config.BaseURL is required"},
		{"relative base", Config{BaseURL: "/tenant-42/fhir"}, "fhirclient: Config.BaseURL is not an absolute http or https URL"},
		{"ftp base", Config{BaseURL: "ftp://h/tenant-42/fhir?access_token=tok-9"}, "fhirclient: Config.BaseURL (ftp://h) is not an absolute http or https URL"},
		{"no host", Config{BaseURL: "http:///tenant-42/fhir"}, "fhirclient: Config.BaseURL (http://) has no host"},
		{"opaque", Config{BaseURL: "https:tenant-42"}, "fhirclient: Config.BaseURL (https://) has no host"},
		{"query in base", Config{BaseURL: "http://h:8080/tenant-42/fhir?access_token=tok-9"}, "fhirclient: Config.BaseURL (http://h:8080) must not have a query or fragment"},
		{"fragment in base", Config{BaseURL: "https://h/tenant-42/fhir#tok-9"}, "fhirclient: Config.BaseURL (https://h) must not have a query or fragment"},
		{"credentials in base", Config{BaseURL: "http://u:pw-42@h/fhir"}, "Config.BaseURL must not hold credentials"},
		{"negative MaxPages", Config{BaseURL: "http://h", MaxPages: -1}, "Config.MaxPages is -1"},
		{"negative MaxBodyBytes", Config{BaseURL: "http://h", MaxBodyBytes: -5}, "Config.MaxBodyBytes is -5"},
		{"negative MaxEntries", Config{BaseURL: "http://h", MaxEntries: -5}, "Config.MaxEntries is -5"},
		{"negative AttemptTimeout", Config{BaseURL: "http://h", AttemptTimeout: -time.Second}, "Config.AttemptTimeout is -1s"},
		{"negative BreakerCooldown", Config{BaseURL: "http://h", BreakerCooldown: -time.Second}, "Config.BreakerCooldown is -1s"},
		{"backoff upside down", Config{BaseBackoff: time.Second, MaxBackoff: time.Millisecond, BaseURL: "http://h"}, "Config.MaxBackoff (1ms) is less than Config.BaseBackoff (1s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %v, want one saying %q", err, tt.msg)
			}
			// Only scheme and host: a path or query can carry a tenant or a token.
			for _, secret := range []string{"pw-42", "tenant-42", "tok-9"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q leaks %q", err, secret)
				}
			}
		})
	}
	c, err := New(Config{BaseURL: "https://h/fhir/r4/"})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{BaseURL: "https://h/fhir/r4/", MaxBodyBytes: 32 << 20, MaxPages: 50, MaxEntries: 100_000, PageSize: 200, MaxConcurrent: 8, MaxBackground: 2, SlotWait: time.Second, Attempts: 3,
		BaseBackoff: 200 * time.Millisecond, MaxBackoff: 2 * time.Second, MaxRetryAfter: 10 * time.Second, AttemptTimeout: 30 * time.Second,
		BreakerFailures: 5, BreakerCooldown: 30 * time.Second}
	if c.cfg != want {
		t.Errorf("defaults:\n got %+v\nwant %+v", c.cfg, want)
	}
	if c.base.String() != "https://h/fhir/r4" {
		t.Errorf("base %s", c.base)
	}
}

func TestWaitingForASlotHonoursTheDeadline(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(started) })
		select {
		case <-release:
		case <-r.Context().Done():
		}
		writeJSON(w, 200, patient(patientID))
	})
	defer close(release)
	c := newClient(t, srv.URL, func(c *Config) { c.MaxConcurrent = 1 })
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wg.Go(func() { _, _ = c.Read(ctx, "Patient", patientID) }) // holds the only slot
	<-started
	short, cancelShort := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancelShort()
	start := time.Now()
	_, err := c.Read(short, "Patient", patientID)
	checkError(t, err, KindUnavailable, "read Patient", "the deadline passed while waiting for a free request slot (MaxConcurrent)")
	if e := time.Since(start); e > time.Second {
		t.Errorf("took %s", e)
	}
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
}
