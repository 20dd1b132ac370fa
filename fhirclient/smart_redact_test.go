package fhirclient_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/fhirclient"
)

// A token endpoint that refuses a renewal and echoes, in its error fields, access
// tokens it issued before (as is or form-encoded) has them redacted from the error:
// the cached token, one dropped by Invalidate, and the one before a renewal.
func TestSMARTErrorRedactsHeldTokens(t *testing.T) {
	// Tokens with characters that URL encoding changes, as opaque base64 tokens have.
	issued := []string{"AT1+first/token==", "AT2+second/token=="}
	echo := func(toks ...string) string {
		var parts []string
		for _, tok := range toks {
			parts = append(parts, tok+" ("+url.QueryEscape(tok)+")")
		}
		return "token " + strings.Join(parts, ", ") + " still active"
	}
	cases := []struct {
		name    string
		tokens  int                                                      // tokens the server issues before it refuses
		prepare func(b *fhirclient.SMARTBackend, clock *fakeClock) error // after the first Token call; ends with a failed request
		echoed  []string
		want    string // the description in the error
	}{
		{"the cached token, at renewal", 1, func(b *fhirclient.SMARTBackend, clock *fakeClock) error {
			clock.Advance(240 * time.Second)
			_, err := b.Token(context.Background())
			return err
		}, issued[:1], "token [redacted] ([redacted]) still active"},
		{"a token dropped by Invalidate", 1, func(b *fhirclient.SMARTBackend, clock *fakeClock) error {
			b.Invalidate(issued[0])
			_, err := b.Token(context.Background())
			return err
		}, issued[:1], "token [redacted] ([redacted]) still active"},
		{"the cached token and the one before it", 2, func(b *fhirclient.SMARTBackend, clock *fakeClock) error {
			clock.Advance(240 * time.Second)
			if tok, err := b.Token(context.Background()); err != nil || tok != issued[1] {
				t.Fatalf("renewal: %q, %v; want %q", tok, err, issued[1])
			}
			clock.Advance(240 * time.Second)
			_, err := b.Token(context.Background())
			return err
		}, issued, "token [redacted] ([redacted]), [redacted] ([redacted]) still active"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, ts, clock := rsBackend(t, func(w http.ResponseWriter, n int32) {
				if int(n) <= tc.tokens {
					body, _ := json.Marshal(map[string]any{"access_token": issued[n-1], "token_type": "Bearer", "expires_in": 300})
					writeJSON(w, http.StatusOK, string(body))
					return
				}
				body, _ := json.Marshal(map[string]string{"error": "invalid_grant", "error_description": echo(tc.echoed...)})
				writeJSON(w, http.StatusBadRequest, string(body))
			})
			if tok, err := b.Token(context.Background()); err != nil || tok != issued[0] {
				t.Fatalf("first Token: %q, %v; want %q", tok, err, issued[0])
			}
			err := tc.prepare(b, clock)
			host := strings.TrimPrefix(ts.URL, "http://")
			want := "fhirclient: SMART backend: token request to " + host + " failed (HTTP 400): invalid_grant: " + tc.want
			if err == nil || err.Error() != want {
				t.Fatalf("error\n got %v\nwant %s", err, want)
			}
		})
	}
}
