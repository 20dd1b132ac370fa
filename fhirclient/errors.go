package fhirclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/screening"
)

// Kind is the kind of a failure. Kinds are errors themselves so that callers can test
// with errors.Is(err, fhirclient.KindThrottled) without a type assertion.
type Kind int

const (
	KindNotFound    Kind = iota + 1 // 404, 410
	KindAuth                        // 401, 403, or no token could be had
	KindThrottled                   // 429
	KindUnavailable                 // 5xx, 408, connection failures, timeouts, cancellation
	KindBadResponse                 // not what FHIR promises: see the Error's message
	KindRejected                    // any other 4xx: the server refused the request itself
	KindBusy                        // no request slot came free in time: this client's own cap (Config.MaxConcurrent), not the server's answer
)

func (k Kind) String() string {
	switch k {
	case KindNotFound:
		return "not found"
	case KindAuth:
		return "not authorized"
	case KindThrottled:
		return "throttled"
	case KindUnavailable:
		return "unavailable"
	case KindBadResponse:
		return "bad response"
	case KindRejected:
		return "request rejected"
	case KindBusy:
		return "busy"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

func (k Kind) Error() string { return "fhirclient: " + k.String() }

// Error is a failed Read or Search. Its message is safe to log: it names the operation,
// resource type, kind, status and what the client found wrong, never the URL and never
// free text from the server. The server's own words (an OperationOutcome's diagnostics
// or details text) are in Outcome only, which is not part of the message: they can name
// the patient ("Patient Jane Doe, MRN ...") and belong to a caller entitled to that
// patient's data, never in a log.
type Error struct {
	Kind     Kind
	Op       string // e.g. "search Observation", "read Patient"
	Status   int    // HTTP status; 0 when there was no response
	Page     int    // the searchset page (from 1) that failed; 0 for a Read
	Attempts int    // attempts made
	// Outcome is the OperationOutcome issue text of the server's response, if any,
	// cleaned of the request's ids, search values and tokens. It is server free text:
	// never log it.
	Outcome string
	Err     error // the cause, or what exactly is wrong, in the client's words; nil for a plain HTTP status

	retryable bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("fhirclient: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.Kind.String())
	var paren []string
	if e.Status != 0 {
		paren = append(paren, fmt.Sprintf("HTTP %d", e.Status))
	}
	if e.Page > 0 {
		paren = append(paren, fmt.Sprintf("page %d", e.Page))
	}
	if e.Attempts > 1 {
		paren = append(paren, fmt.Sprintf("%d attempts", e.Attempts))
	}
	if len(paren) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(paren, ", "))
		b.WriteString(")")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	// Not e.Outcome: see the type's comment.
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Transient reports whether the failure may pass on its own: the server was unavailable
// (5xx, no answer, the circuit open) or throttled. A caller that can wait, such as a
// batch, may ask again later; a caller with someone waiting should not.
func (e *Error) Transient() bool { return e.Kind == KindUnavailable || e.Kind == KindThrottled }

// Is matches the Kind, so errors.Is works against the Kind constants, and a Patient
// that is not found matches screening.ErrPatientNotFound.
func (e *Error) Is(target error) bool {
	if target == screening.ErrPatientNotFound {
		return e.Kind == KindNotFound && e.Op == "read "+screening.TypePatient
	}
	k, ok := target.(Kind)
	return ok && k == e.Kind
}

// note adds what happened after the error (e.g. why it was not retried) to its cause.
func (e *Error) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if e.Err == nil {
		e.Err = errors.New(msg)
	} else {
		e.Err = fmt.Errorf("%w; %s", e.Err, msg)
	}
}

// statusKind classifies a non-200 status and says whether a GET may be retried.
func statusKind(status int) (Kind, bool) {
	switch {
	case status == 401 || status == 403:
		return KindAuth, false
	case status == 404 || status == 410:
		return KindNotFound, false
	case status == 429:
		return KindThrottled, true
	case status == 408:
		return KindUnavailable, true
	case status == 500 || status == 502 || status == 503 || status == 504:
		return KindUnavailable, true
	case status >= 500:
		return KindUnavailable, false // e.g. 501: retrying cannot help
	case status >= 400:
		return KindRejected, false
	}
	return KindBadResponse, false // 1xx, other 2xx, 3xx not followed
}

// maxOutcome bounds the server text kept in an Error; servers can send pages of it.
const maxOutcome = 500

// outcomeText is the issue text of an OperationOutcome, or "" when body is not one.
func outcomeText(body []byte) string {
	var oo struct {
		ResourceType string                    `json:"resourceType"`
		Issue        []fhirbundle.OutcomeIssue `json:"issue"`
	}
	if json.Unmarshal(body, &oo) != nil || oo.ResourceType != "OperationOutcome" {
		return ""
	}
	return issuesText(oo.Issue, nil)
}

// issuesText words issues as "severity: text"; keep, when set, chooses which.
func issuesText(issues []fhirbundle.OutcomeIssue, keep func(fhirbundle.OutcomeIssue) bool) string {
	var parts []string
	for _, is := range issues {
		if keep != nil && !keep(is) {
			continue
		}
		text := is.Diagnostics
		if text == "" {
			text = is.Details.Text
		}
		if text == "" {
			text = is.Code
		}
		if is.Severity != "" {
			text = is.Severity + ": " + text
		}
		parts = append(parts, text)
	}
	return strings.Join(parts, "; ") // clipped by secrets.clean, after redaction
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// secrets is what server text kept in an error or a partial reason must not repeat:
// the request's ids and search values (they may identify a patient) and the tokens sent.
// Server text often quotes the request ("Patient/123 not found"), sometimes as it was
// sent on the wire ("Patient%2F123"), so the URL-encoded forms are covered too.
type secrets struct {
	words  []string // redacted where they stand as whole words: "123" must not clobber "HTTP 4123"
	tokens []string // redacted wherever they stand: a token is never part of ordinary text
}

// newSecrets holds values as words, in order (give the most specific first).
func newSecrets(values ...string) *secrets {
	s := &secrets{}
	for _, v := range values {
		s.words = appendForms(s.words, v)
	}
	return s
}

// addToken adds a token that was sent; tokens can change between attempts.
func (s *secrets) addToken(tok string) {
	if tok != "" && !slices.Contains(s.tokens, tok) {
		s.tokens = appendForms(s.tokens, tok)
	}
}

// clean removes the secrets from server text and bounds its length; it must be the last
// step, so that clipping cannot leave half a secret behind.
func (s *secrets) clean(text string) string {
	if s != nil {
		for _, t := range s.tokens {
			text = strings.ReplaceAll(text, t, "[redacted]")
		}
		text = redact(text, s.words)
	}
	return clip(text, maxOutcome)
}

// appendForms appends v and its URL-encoded forms (query and path escaping, upper- and
// lower-case hex digits), each once.
func appendForms(out []string, v string) []string {
	if v == "" {
		return out
	}
	for _, f := range []string{v, url.QueryEscape(v), url.PathEscape(v)} {
		for _, g := range []string{f, lowerHex(f)} {
			if !slices.Contains(out, g) {
				out = append(out, g)
			}
		}
	}
	return out
}

// lowerHex writes the hex digits of percent escapes in lower case ("%2F" -> "%2f").
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = asciiLower(b[i+1]), asciiLower(b[i+2])
		}
	}
	return string(b)
}

func asciiLower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// redact replaces each secret where it stands as a whole word in s. A percent escape
// just before a secret ends a word ("Patient%2F123"), as does any punctuation.
func redact(s string, secrets []string) string {
	for _, v := range secrets {
		if v == "" || !strings.Contains(s, v) {
			continue
		}
		var b strings.Builder
		i := 0
		for {
			j := strings.Index(s[i:], v)
			if j < 0 {
				break
			}
			j += i
			end := j + len(v)
			b.WriteString(s[i:j])
			if (wordBoundary(s, j-1) || afterEscape(s, j)) && wordBoundary(s, end) {
				b.WriteString("[redacted]")
			} else {
				b.WriteString(v)
			}
			i = end
		}
		b.WriteString(s[i:])
		s = b.String()
	}
	return s
}

func wordBoundary(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return true
	}
	c := s[i]
	return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_')
}

// afterEscape reports whether s[:j] ends with a percent escape such as %2F.
func afterEscape(s string, j int) bool {
	return j >= 3 && s[j-3] == '%' && isHex(s[j-2]) && isHex(s[j-1])
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// jsonProblem says why body is not usable JSON, without quoting it.
func jsonProblem(body []byte) string {
	if len(bytes.TrimSpace(body)) == 0 {
		return "the body is empty"
	}
	if json.Valid(body) { // no copy of a body that is fine, as decoding it would make
		if t := bytes.TrimSpace(body); t[0] != '{' {
			return "the body is JSON but not an object"
		}
		return ""
	}
	var v struct{}
	err := json.Unmarshal(body, &v) // for the syntax error's words and offset
	var se *json.SyntaxError
	if errors.As(err, &se) {
		if strings.Contains(se.Error(), "unexpected end of JSON input") {
			return fmt.Sprintf("truncated JSON: the body ends after %d bytes", len(body))
		}
		return fmt.Sprintf("malformed JSON at byte %d: %s", se.Offset, se.Error())
	}
	return "malformed JSON"
}
