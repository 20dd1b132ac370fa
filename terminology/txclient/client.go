// Package txclient expands the protocol's SNOMED CT codesets on a FHIR terminology server
// (ValueSet/$expand) and keeps what it got on disk, so that a screening service started
// while the server is down still reads "this concept and its descendants" as the last
// good expansion said. Client implements screening.Terminology; Manager runs it at
// start-up and on a schedule, falling back to the disk cache and then to the shipped
// expansions, and says which in every result's settings (Vocabulary.Expansion).
//
// Only the configured server is contacted: a redirect to another origin is not followed.
package txclient

import (
	"github.com/trialscreen/trialscreen/internal/origin"

	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/terminology"
)

// Config says which terminology server to ask and how carefully. Zero values take the
// defaults.
type Config struct {
	BaseURL    string       // the FHIR base, e.g. https://tx.example.org/r4; absolute http(s)
	Token      string       // a bearer token; empty: no Authorization header
	HTTPClient *http.Client // nil: a client of its own

	RequestTimeout   time.Duration // one HTTP request (one page); default 10s
	MaxResponseBytes int64         // one response body; default 32 MiB
	PageSize         int           // sent as count; default 1000
	MaxCodes         int           // one expansion, all pages; default 200,000
}

const (
	defaultRequestTimeout   = 10 * time.Second
	defaultMaxResponseBytes = 32 << 20
	defaultPageSize         = 1000
	defaultMaxCodes         = 200_000
	maxRedirects            = 5
)

// Client asks one terminology server. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base *url.URL
	hc   *http.Client
}

var _ screening.Terminology = (*Client)(nil)

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	base, err := ParseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = defaultRequestTimeout
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = defaultMaxResponseBytes
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = defaultPageSize
	}
	if cfg.MaxCodes <= 0 {
		cfg.MaxCodes = defaultMaxCodes
	}
	if strings.ContainsAny(cfg.Token, "\r\n") {
		return nil, errors.New("txclient: the token holds a line break")
	}
	var hc *http.Client
	if cfg.HTTPClient != nil {
		cp := *cfg.HTTPClient // a copy: the caller's client keeps its own redirect policy
		hc = &cp
	} else {
		hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	hc.Timeout = 0 // each request has its own deadline (RequestTimeout)
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		// A redirect elsewhere would carry the token and the protocol's codes off the
		// configured server.
		if !origin.Same(req.URL, base) {
			return errForeignRedirect
		}
		if len(via) >= maxRedirects {
			return errTooManyRedirects
		}
		return nil
	}
	return &Client{cfg: cfg, base: base, hc: hc}, nil
}

// BaseURL is the server's base as configured (without a trailing slash): what settings
// and the disk cache name.
func (c *Client) BaseURL() string { return c.base.String() }

// CloseIdleConnections closes the client's idle keep-alive connections.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// ParseBaseURL checks a terminology server's base URL: absolute http(s), a host, no
// credentials, query or fragment. Messages never echo the URL's path (it may name a
// tenant).
func ParseBaseURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("txclient: the base URL is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("txclient: the base URL is not a URL")
	}
	switch {
	case u.User != nil:
		return nil, errors.New("txclient: the base URL must not hold credentials; use a token file")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("txclient: the base URL is not an absolute http or https URL")
	case u.Host == "" || u.Opaque != "":
		return nil, errors.New("txclient: the base URL has no host")
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return nil, errors.New("txclient: the base URL must not have a query or fragment")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

var (
	errForeignRedirect  = errors.New("the server redirected to another origin; not followed")
	errTooManyRedirects = errors.New("too many redirects")
)

// Reason is why an expansion failed: a closed set, the label of
// trialscreen_terminology_expand_failures_total.
type Reason string

const (
	ReasonNetwork          Reason = "network"           // no connection, reset, TLS
	ReasonTimeout          Reason = "timeout"           // a request (or the start-up budget) ran out of time
	ReasonHTTPStatus       Reason = "http-status"       // a non-2xx answer that is not an OperationOutcome
	ReasonOperationOutcome Reason = "operation-outcome" // the server answered with an OperationOutcome
	ReasonMalformed        Reason = "malformed"         // not JSON, not a ValueSet expansion, or paging that makes no progress
	ReasonOversized        Reason = "oversized"         // a response or an expansion above the caps
	ReasonRedirect         Reason = "redirect"          // a redirect to another origin, or too many
)

// Reasons is every Reason, in a fixed order.
var Reasons = []Reason{ReasonNetwork, ReasonTimeout, ReasonHTTPStatus, ReasonOperationOutcome, ReasonMalformed, ReasonOversized, ReasonRedirect}

// Error is a failed expansion. Its message holds no token, and of the server's own words
// only an OperationOutcome's issue code.
type Error struct {
	Reason Reason
	Detail string // e.g. "HTTP 503", "OperationOutcome too-costly"
	Err    error  // the underlying error, if any
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return string(e.Reason)
	}
	return string(e.Reason) + ": " + e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf is the Reason of err (ReasonNetwork for an error that is not an *Error).
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ReasonTimeout
	}
	return ReasonNetwork
}

// Expand implements screening.Terminology: the codes given (every one, whatever its
// system, unchanged) and, for the SNOMED CT ones, each concept's descendants as the
// server's ValueSet/$expand gives them (a concept is its own descendant under is-a).
func (c *Client) Expand(ctx context.Context, codeset string, codes []screening.Coding) ([]screening.Coding, error) {
	out := make([]screening.Coding, 0, len(codes))
	seen := map[screening.Coding]bool{}
	var sct []string
	for _, cd := range codes {
		b := cd.Bare()
		if seen[b] {
			continue
		}
		seen[b] = true
		out = append(out, b)
		if b.System == terminology.SNOMED {
			sct = append(sct, b.Code)
		}
	}
	if len(sct) == 0 {
		return out, nil
	}
	more, err := c.ExpandSNOMED(ctx, sct)
	if err != nil {
		return nil, err
	}
	for _, cd := range more {
		if !seen[cd] {
			seen[cd] = true
			out = append(out, cd)
		}
	}
	return out, nil
}

// ExpandSNOMED expands the SNOMED CT concepts with their descendants: one inline ValueSet
// whose compose has one include per concept (filters within one include must all hold,
// so each concept's is-a filter gets an include of its own, and the includes are joined),
// POSTed as the valueSet parameter of [base]/ValueSet/$expand and paged with offset and
// count while expansion.total says more remain.
func (c *Client) ExpandSNOMED(ctx context.Context, concepts []string) ([]screening.Coding, error) {
	vs := inlineValueSet(concepts)
	var out []screening.Coding
	seen := map[string]bool{}
	offset := 0
	for {
		exp, err := c.expandPage(ctx, vs, offset)
		if err != nil {
			return nil, err
		}
		if exp.Offset != nil && *exp.Offset != offset {
			return nil, &Error{Reason: ReasonMalformed, Detail: fmt.Sprintf("asked for offset %d, got %d", offset, *exp.Offset)}
		}
		var codes []screening.Coding
		if err := flatten(exp.Contains, &codes, 0); err != nil {
			return nil, err
		}
		added := 0
		for _, cd := range codes {
			// Only SNOMED CT concepts were asked for; anything else is not kept.
			if cd.System != terminology.SNOMED || !sctid.MatchString(cd.Code) || seen[cd.Code] {
				continue
			}
			seen[cd.Code] = true
			out = append(out, cd)
			added++
		}
		if len(out) > c.cfg.MaxCodes {
			return nil, &Error{Reason: ReasonOversized, Detail: fmt.Sprintf("more than %d codes", c.cfg.MaxCodes)}
		}
		// expansion.total counts the codes (not the abstract grouping entries); fewer in
		// hand than it says means the server can give more from the next offset. Without
		// a total, a full page may have more behind it and a short one is the last.
		switch {
		case exp.Total != nil && offset+len(codes) >= *exp.Total:
			return out, nil
		case exp.Total == nil && len(codes) < c.cfg.PageSize:
			return out, nil
		case added == 0:
			of := "an unknown total"
			if exp.Total != nil {
				of = fmt.Sprint(*exp.Total)
			}
			return nil, &Error{Reason: ReasonMalformed, Detail: fmt.Sprintf("paging made no progress at offset %d of %s", offset, of)}
		}
		offset += len(codes)
	}
}

// The JSON shapes read and written: only the elements used.
type (
	valueSetJSON struct {
		ResourceType string         `json:"resourceType"`
		Status       string         `json:"status,omitempty"`
		Compose      *composeJSON   `json:"compose,omitempty"`
		Expansion    *expansionJSON `json:"expansion,omitempty"`
		Issue        []issueJSON    `json:"issue,omitempty"` // when it is an OperationOutcome
	}
	composeJSON struct {
		Include []includeJSON `json:"include"`
	}
	includeJSON struct {
		System string       `json:"system"`
		Filter []filterJSON `json:"filter"`
	}
	filterJSON struct {
		Property string `json:"property"`
		Op       string `json:"op"`
		Value    string `json:"value"`
	}
	expansionJSON struct {
		Total    *int           `json:"total"`
		Offset   *int           `json:"offset"`
		Contains []containsJSON `json:"contains"`
	}
	containsJSON struct {
		System   string         `json:"system"`
		Abstract bool           `json:"abstract"`
		Code     string         `json:"code"`
		Display  string         `json:"display"`
		Contains []containsJSON `json:"contains"`
	}
	issueJSON struct {
		Severity string `json:"severity"`
		Code     string `json:"code"`
	}
	parametersJSON struct {
		ResourceType string          `json:"resourceType"`
		Parameter    []parameterJSON `json:"parameter"`
	}
	parameterJSON struct {
		Name         string        `json:"name"`
		Resource     *valueSetJSON `json:"resource,omitempty"`
		ValueInteger *int          `json:"valueInteger,omitempty"`
	}
)

func inlineValueSet(concepts []string) *valueSetJSON {
	vs := &valueSetJSON{ResourceType: "ValueSet", Status: "active", Compose: &composeJSON{}}
	for _, code := range concepts {
		vs.Compose.Include = append(vs.Compose.Include, includeJSON{
			System: terminology.SNOMED,
			Filter: []filterJSON{{Property: "concept", Op: "is-a", Value: code}},
		})
	}
	return vs
}

// maxDepth bounds the nesting of expansion.contains read (a hierarchy of grouping
// entries is a few levels deep; a thousand is a hostile or broken answer).
const maxDepth = 1000

// flatten reads expansion.contains and the contains nested in it: every entry with a
// code, whatever its depth. Abstract entries (groupings, not codes to record) are
// skipped.
func flatten(cs []containsJSON, out *[]screening.Coding, depth int) error {
	if depth > maxDepth {
		return &Error{Reason: ReasonMalformed, Detail: "expansion.contains is nested too deep"}
	}
	for _, e := range cs {
		switch {
		case e.Code == "" || e.Abstract:
		case e.System == "":
			return &Error{Reason: ReasonMalformed, Detail: "an expansion.contains entry has a code but no system"}
		default:
			*out = append(*out, screening.Coding{System: e.System, Code: e.Code})
		}
		if err := flatten(e.Contains, out, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// sctid is the form of a SNOMED CT concept id: 6 to 18 digits, no leading zero.
var sctid = regexp.MustCompile(`^[1-9][0-9]{5,17}$`)

// issueCode is the form of an OperationOutcome issue code (a FHIR code token): it is the
// only part of the server's answer put in messages.
var issueCode = regexp.MustCompile(`^[a-z][a-z-]{0,40}$`)

func (c *Client) expandPage(ctx context.Context, vs *valueSetJSON, offset int) (*expansionJSON, error) {
	count := c.cfg.PageSize
	body, err := json.Marshal(parametersJSON{ResourceType: "Parameters", Parameter: []parameterJSON{
		{Name: "valueSet", Resource: vs},
		{Name: "offset", ValueInteger: &offset},
		{Name: "count", ValueInteger: &count},
	}})
	if err != nil {
		return nil, err
	}
	status, data, err := c.post(ctx, "ValueSet/$expand", body)
	if err != nil {
		return nil, err
	}
	var res valueSetJSON
	jsonErr := json.Unmarshal(data, &res)
	if jsonErr == nil && res.ResourceType == "OperationOutcome" {
		detail := "OperationOutcome"
		if len(res.Issue) > 0 && issueCode.MatchString(res.Issue[0].Code) {
			detail += " " + res.Issue[0].Code
		}
		if status/100 != 2 {
			detail = fmt.Sprintf("HTTP %d, %s", status, detail)
		}
		return nil, &Error{Reason: ReasonOperationOutcome, Detail: detail}
	}
	if status/100 != 2 {
		return nil, &Error{Reason: ReasonHTTPStatus, Detail: fmt.Sprintf("HTTP %d", status)}
	}
	if jsonErr != nil {
		return nil, &Error{Reason: ReasonMalformed, Detail: "the answer is not JSON", Err: jsonErr}
	}
	if res.ResourceType != "ValueSet" || res.Expansion == nil {
		return nil, &Error{Reason: ReasonMalformed, Detail: "the answer is not a ValueSet with an expansion"}
	}
	if t := res.Expansion.Total; t != nil && *t < 0 {
		return nil, &Error{Reason: ReasonMalformed, Detail: "expansion.total is negative"}
	}
	return res.Expansion, nil
}

// post sends one request with its own deadline and reads at most MaxResponseBytes of
// the answer.
func (c *Client) post(ctx context.Context, path string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	u := *c.base
	u.Path = c.base.Path + "/" + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, &Error{Reason: ReasonNetwork, Detail: "the request could not be made", Err: err}
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Accept", "application/fhir+json")
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, classify(err)
	}
	defer resp.Body.Close()
	if resp.ContentLength > c.cfg.MaxResponseBytes {
		return 0, nil, &Error{Reason: ReasonOversized, Detail: fmt.Sprintf("the answer is %d bytes, above %d", resp.ContentLength, c.cfg.MaxResponseBytes)}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxResponseBytes+1))
	if err != nil {
		return 0, nil, classify(err)
	}
	if int64(len(data)) > c.cfg.MaxResponseBytes {
		return 0, nil, &Error{Reason: ReasonOversized, Detail: fmt.Sprintf("the answer is above %d bytes", c.cfg.MaxResponseBytes)}
	}
	return resp.StatusCode, data, nil
}

// classify names a transport error; its message (which holds the URL) is kept only as
// the wrapped error, not in Detail.
func classify(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, errForeignRedirect):
		return &Error{Reason: ReasonRedirect, Detail: "to another origin, not followed", Err: err}
	case errors.Is(err, errTooManyRedirects):
		return &Error{Reason: ReasonRedirect, Detail: "too many redirects", Err: err}
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return &Error{Reason: ReasonTimeout, Err: err}
	case errors.Is(err, context.Canceled):
		return &Error{Reason: ReasonNetwork, Detail: "canceled", Err: err}
	}
	return &Error{Reason: ReasonNetwork, Err: err}
}

// sortedKey is a request's codes as one string, in a fixed order: the key of its
// expansion in memory and on disk.
func sortedKey(codes []screening.Coding) string {
	keys := make([]string, 0, len(codes))
	for _, c := range codes {
		keys = append(keys, c.Bare().Key())
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	return strings.Join(keys, " ")
}
