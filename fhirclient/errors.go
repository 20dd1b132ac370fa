package fhirclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

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
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

func (k Kind) Error() string { return "fhirclient: " + k.String() }

// Error is a failed Read or Search. Its message is safe to log: it names the operation
// and resource type, not the URL, and server text is cleaned of the ids and search
// values of the request and of the token.
type Error struct {
	Kind     Kind
	Op       string // e.g. "search Observation", "read Patient"
	Status   int    // HTTP status; 0 when there was no response
	Page     int    // the searchset page (from 1) that failed; 0 for a Read
	Attempts int    // attempts made
	Outcome  string // the OperationOutcome issue text of the server's response, if any
	Err      error  // the cause, or what exactly is wrong; nil for a plain HTTP status

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
	if e.Outcome != "" {
		b.WriteString("; the server says: ")
		b.WriteString(e.Outcome)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

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
		ResourceType string    `json:"resourceType"`
		Issue        []ooIssue `json:"issue"`
	}
	if json.Unmarshal(body, &oo) != nil || oo.ResourceType != "OperationOutcome" {
		return ""
	}
	return issuesText(oo.Issue, nil)
}

type ooIssue struct {
	Severity    string `json:"severity"`
	Code        string `json:"code"`
	Diagnostics string `json:"diagnostics"`
	Details     struct {
		Text string `json:"text"`
	} `json:"details"`
}

// issuesText words issues as "severity: text"; keep, when set, chooses which.
func issuesText(issues []ooIssue, keep func(ooIssue) bool) string {
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
	return clip(strings.Join(parts, "; "), maxOutcome)
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

// redact replaces each secret where it stands as a whole word in s. Server text often
// quotes the request ("Patient/123 not found"); ids and search values may identify a
// patient and must not reach logs.
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
			if wordBoundary(s, j-1) && wordBoundary(s, end) {
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

// jsonProblem says why body is not usable JSON, without quoting it.
func jsonProblem(body []byte) string {
	if len(bytes.TrimSpace(body)) == 0 {
		return "the body is empty"
	}
	var v json.RawMessage
	err := json.Unmarshal(body, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		if strings.Contains(se.Error(), "unexpected end of JSON input") {
			return fmt.Sprintf("truncated JSON: the body ends after %d bytes", len(body))
		}
		return fmt.Sprintf("malformed JSON at byte %d: %s", se.Offset, se.Error())
	}
	if err != nil {
		return "malformed JSON"
	}
	if t := bytes.TrimSpace(body); t[0] != '{' {
		return "the body is JSON but not an object"
	}
	return ""
}
