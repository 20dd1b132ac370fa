package fhirclient

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestErrorMessageAndIs(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		msg  string
	}{
		{"status only", &Error{Kind: KindNotFound, Op: "read Patient", Status: 404, Attempts: 1},
			"fhirclient: read Patient: not found (HTTP 404)"},
		{"everything", &Error{Kind: KindUnavailable, Op: "search Observation", Status: 503, Page: 2, Attempts: 3, Outcome: "fatal: down",
			Err: errors.New("retrying after 2s would pass the deadline")},
			"fhirclient: search Observation: unavailable (HTTP 503, page 2, 3 attempts): retrying after 2s would pass the deadline; the server says: fatal: down"},
		{"no response", &Error{Kind: KindUnavailable, Op: "read Patient", Err: fmt.Errorf("the deadline passed: %w", context.DeadlineExceeded)},
			"fhirclient: read Patient: unavailable: the deadline passed: context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.msg {
				t.Errorf("message\n got %q\nwant %q", got, tt.msg)
			}
			wrapped := fmt.Errorf("screening: %w", tt.err)
			if !errors.Is(wrapped, tt.err.Kind) {
				t.Errorf("errors.Is(wrapped, %v) is false", tt.err.Kind)
			}
			if tt.err.Err != nil && !errors.Is(wrapped, tt.err.Err) && !errors.Is(wrapped, context.DeadlineExceeded) {
				t.Errorf("the cause is not reachable with errors.Is")
			}
		})
	}
}

func TestOutcomeText(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"diagnostics", outcome("error", "boom"), "error: boom"},
		{"details text", `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","details":{"text":"bad param"}}]}`, "error: bad param"},
		{"code only, two issues", `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"timeout"},{"severity":"warning","code":"too-costly"}]}`, "error: timeout; warning: too-costly"},
		{"not an outcome", patient("x"), ""},
		{"not JSON", "<html>", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := outcomeText([]byte(tt.body)); got != tt.want {
				t.Errorf("outcomeText = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		name, s string
		secrets []string
		want    string
	}{
		{"whole word", "Patient/123 not found", []string{"123"}, "Patient/[redacted] not found"},
		{"inside a word kept", "HTTP 4123 and 123", []string{"123"}, "HTTP 4123 and [redacted]"},
		{"at sentence end", "no record for abc.", []string{"abc"}, "no record for [redacted]."},
		{"several", "a b c", []string{"a", "c"}, "[redacted] b [redacted]"},
		{"empty secret ignored", "text", []string{""}, "text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redact(tt.s, tt.secrets); got != tt.want {
				t.Errorf("redact(%q) = %q, want %q", tt.s, got, tt.want)
			}
		})
	}
}

func TestStaticTokenDoesNotPrint(t *testing.T) {
	ts := StaticToken(token)
	for _, s := range []string{fmt.Sprint(ts), fmt.Sprintf("%+v", Config{Token: ts}), fmt.Sprintf("%#v", ts), fmt.Sprintf("%#v", Config{Token: ts})} {
		if strings.Contains(s, token) {
			t.Errorf("%q shows the token", s)
		}
	}
	if got, err := ts.Token(context.Background()); got != token || err != nil {
		t.Errorf("Token() = %q, %v", got, err)
	}
}
