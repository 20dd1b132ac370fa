package fhirclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
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
			"fhirclient: search Observation: unavailable (HTTP 503, page 2, 3 attempts): retrying after 2s would pass the deadline"}, // never Outcome: messages are logged
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
		{"after a percent escape", "patient=Patient%2F123&code=x%7C123", []string{"123"}, "patient=Patient%2F[redacted]&code=x%7C[redacted]"},
		{"not after a letter that is no escape", "xF123", []string{"123"}, "xF123"},
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

func TestSecretsClean(t *testing.T) {
	long := strings.Repeat("x ", 245) + "token " + token + " expired" // the token crosses maxOutcome
	tests := []struct {
		name   string
		values []string
		tokens []string
		text   string
		want   string
	}{
		{"id", []string{patientID}, nil, "Patient/pat-4711 unknown", "Patient/[redacted] unknown"},
		{"query-escaped reference", searchSecrets([]string{"Patient/" + patientID}), nil,
			"bad query patient=Patient%2Fpat-4711", "bad query patient=Patient%2F[redacted]"},
		{"query-escaped reference, lower-case hex", searchSecrets([]string{"Patient/" + patientID}), nil,
			"bad query patient=Patient%2fpat-4711", "bad query patient=Patient%2f[redacted]"},
		{"query-escaped code", searchSecrets([]string{"http://loinc.org|718-7"}), nil,
			"code=http%3A%2F%2Floinc.org%7C718-7 unsupported", "code=http%3A%2F%2Floinc.org%7C[redacted] unsupported"},
		{"query-escaped value with a space", []string{"Mary Smith"}, nil, "name=Mary+Smith", "name=[redacted]"},
		{"path-escaped value with a space", []string{"Mary Smith"}, nil, "Patient/Mary%20Smith", "Patient/[redacted]"},
		{"token inside a word", nil, []string{token}, "Bearer" + token + "x", "Bearer[redacted]x"},
		{"query-escaped token", nil, []string{"a+b/c="}, "access_token=a%2Bb%2Fc%3D refused", "access_token=[redacted] refused"},
		{"two tokens", nil, []string{"tok-one", "tok-two"}, "tok-one and tok-two refused", "[redacted] and [redacted] refused"},
		{"redacted before clipped", nil, []string{token}, long, clip(strings.Repeat("x ", 245)+"token [redacted] expired", maxOutcome)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSecrets(tt.values...)
			for _, tok := range tt.tokens {
				s.addToken(tok)
			}
			if got := s.clean(tt.text); got != tt.want {
				t.Errorf("clean(%q)\n got %q\nwant %q", tt.text, got, tt.want)
			}
		})
	}
}

// rotatingToken gives "tok-one" first and "tok-two" after.
type rotatingToken struct{ n atomic.Int32 }

func (r *rotatingToken) Token(context.Context) (string, error) {
	if r.n.Add(1) == 1 {
		return "tok-one", nil
	}
	return "tok-two", nil
}

// TestServerTextIsCleanedOnEveryPath: wherever the client keeps server text (error
// outcomes, bodies of the wrong type, partial reasons), the ids, search values and tokens
// of the request are gone from it, plain or URL-encoded.
func TestServerTextIsCleanedOnEveryPath(t *testing.T) {
	// Server text quoting the request every way a server might.
	readQuote := "token " + token + ", patient=Patient%2Fpat-4711, Patient%2fpat-4711, Patient/pat-4711"
	searchQuote := readQuote + ", code=http%3A%2F%2Floinc.org%7C718-7"
	read := func(c *Client) string {
		_, err := c.Read(context.Background(), "Patient", patientID)
		if err == nil {
			return "no error"
		}
		return withOutcome(err)
	}
	search := func(c *Client) string {
		res, err := c.Search(context.Background(), "Observation", searchParams())
		if err != nil {
			return withOutcome(err)
		}
		return res.PartialReason
	}
	outcomeEntry := fmt.Sprintf(`{"resource":%s,"search":{"mode":"outcome"}}`, outcome("warning", searchQuote))
	tests := []struct {
		name    string
		status  int
		body    string
		call    func(*Client) string
		token   TokenSource
		secrets []string
	}{
		{"read: error outcome", 404, outcome("error", readQuote), read, nil, []string{patientID, token}},
		{"read: error outcome longer than kept", 500, outcome("error", strings.Repeat("x ", 239)+readQuote), read, nil, []string{patientID, "s3cret"}},
		{"read: 200 OperationOutcome instead of the Patient", 200, outcome("error", readQuote), read, nil, []string{patientID, token}},
		{"read: the tokens of every attempt", 503, outcome("error", "tokens tok-one tok-two refused"), read, &rotatingToken{}, []string{"tok-one", "tok-two"}},
		{"search: error outcome", 400, outcome("error", searchQuote), search, nil, []string{patientID, token, "718-7"}},
		{"search: 200 OperationOutcome instead of a Bundle", 200, outcome("error", searchQuote), search, nil, []string{patientID, token, "718-7"}},
		{"search: warning in a 200 searchset (partial reason)", 200, bundle("", obs("o1"), outcomeEntry), search, nil, []string{patientID, token, "718-7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, tt.status, tt.body) })
			c := newClient(t, srv.URL, func(c *Config) {
				if tt.token != nil {
					c.Token = tt.token
				}
			})
			got := tt.call(c)
			t.Logf("text: %s", got)
			if !strings.Contains(got, "[redact") { // clipping may cut the marker
				t.Errorf("%q keeps no server text: the test shows nothing", got)
			}
			for _, secret := range tt.secrets {
				if strings.Contains(got, secret) {
					t.Errorf("%q leaks %q", got, secret)
				}
			}
		})
	}
}
