package fhirclient

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, v string
		want    time.Duration
	}{
		{"absent", "", -1},
		{"seconds", "1", time.Second},
		{"zero", "0", 0},
		{"padded", " 7 ", 7 * time.Second},
		{"negative", "-3", -1},
		{"huge", "99999999999", 24 * time.Hour},
		{"HTTP date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"HTTP date passed", now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"garbage", "soon", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseRetryAfter(tt.v, now); got != tt.want {
				t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.v, got, tt.want)
			}
		})
	}
}

func TestBackoffIsJitteredAndCapped(t *testing.T) {
	c := &Client{cfg: Config{BaseBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}}
	tests := []struct {
		name     string
		n        int
		low, max time.Duration
	}{
		{"before attempt 2", 1, 50 * time.Millisecond, 100 * time.Millisecond},
		{"before attempt 3", 2, 100 * time.Millisecond, 200 * time.Millisecond},
		{"capped", 6, 500 * time.Millisecond, time.Second},
		{"no overflow", 80, 500 * time.Millisecond, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 200 {
				d := c.backoff(tt.n)
				if d < tt.low || d > tt.max {
					t.Fatalf("backoff(%d) = %s, want within [%s, %s]", tt.n, d, tt.low, tt.max)
				}
				seen[d] = true
			}
			if len(seen) < 10 {
				t.Errorf("backoff(%d) took only %d values in 200 draws: not jittered", tt.n, len(seen))
			}
		})
	}
}

// stuckToken is a TokenSource that can be told a token was refused but keeps giving it.
type stuckToken struct {
	mu      sync.Mutex
	dropped []string
}

func (s *stuckToken) Token(context.Context) (string, error) { return token, nil }

func (s *stuckToken) Invalidate(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropped = append(s.dropped, tok)
}

// TestRefusedTokenRetriedOnlyWhenItChanged: after a 401 the source is told which token
// was refused, but another attempt is made only with another token.
func TestRefusedTokenRetriedOnlyWhenItChanged(t *testing.T) {
	for _, status := range []int{401, 403} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, status, "") })
			src := &stuckToken{}
			c := newClient(t, srv.URL, func(c *Config) { c.Token = src })
			_, err := c.Read(context.Background(), "Patient", patientID)
			checkError(t, err, KindAuth, "read Patient", fmt.Sprintf("(HTTP %d)", status))
			if n := srv.hits.Load(); n != 1 {
				t.Errorf("server saw %d requests, want 1: the token did not change", n)
			}
			want := "[]"
			if status == 401 {
				want = "[" + token + "]"
			}
			src.mu.Lock()
			defer src.mu.Unlock()
			if got := fmt.Sprint(src.dropped); got != want {
				t.Errorf("Invalidate calls %s, want %s", got, want)
			}
		})
	}
}
