package fhirclient

import (
	"github.com/trialscreen/trialscreen/internal/bodymem"
	"github.com/trialscreen/trialscreen/internal/fhirid"
	"github.com/trialscreen/trialscreen/internal/origin"

	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/trialscreen/trialscreen/fhirbundle"
)

// Config says which server to talk to and how carefully. Zero values take the defaults.
type Config struct {
	BaseURL    string       // the FHIR base, e.g. https://fhir.example.org/r4; absolute http(s)
	HTTPClient *http.Client // nil: a client of its own (see Client.CloseIdleConnections)
	Token      TokenSource  // nil: no Authorization header; a TokenInvalidator is told of a token refused with 401

	MaxBodyBytes int64 // per response; default 32 MiB
	MaxPages     int   // per search; default 50
	// MaxEntries caps the entries of one patient's record: all the pages of the searches
	// of one RecordSource.Record together, or of one Search. A page that would take the
	// count over it fails its search as a bad response. Default
	// fhirbundle.DefaultMaxEntries.
	MaxEntries     int
	PageSize       int           // sent as _count unless the search gives one; default 200
	MaxConcurrent  int           // requests in flight to this server; default 8, enough for one screening in one round trip
	MaxBackground  int           // of MaxConcurrent, what background work (AsBackground) may hold; default a quarter, at least 1
	SlotWait       time.Duration // how long an interactive request waits for a slot before failing KindBusy; default 1s
	Attempts       int           // per GET, the first included; default 3 (plus one after a 401 when the token was renewed)
	BaseBackoff    time.Duration // before the second attempt, doubling; default 200ms
	MaxBackoff     time.Duration // default 2s
	MaxRetryAfter  time.Duration // a longer Retry-After fails the call now; default 10s
	AttemptTimeout time.Duration // one attempt, within the caller's deadline; default 30s

	// The circuit breaker (see breaker.go): after BreakerFailures calls in a row fail
	// with KindUnavailable or KindThrottled (a call's retries are part of it), calls fail
	// at once for BreakerCooldown, then one probe call decides whether it closes again.
	BreakerFailures int           // default 5; negative disables the breaker
	BreakerCooldown time.Duration // default 30s

	Observer Observer // metrics hooks; nil: none
}

const (
	defaultMaxBodyBytes   = 32 << 20
	defaultMaxPages       = 50
	defaultPageSize       = 200
	defaultMaxConcurrent  = 8
	defaultAttempts       = 3
	defaultBaseBackoff    = 200 * time.Millisecond
	defaultMaxBackoff     = 2 * time.Second
	defaultMaxRetryAfter  = 10 * time.Second
	defaultAttemptTimeout = 30 * time.Second
	defaultSlotWait       = time.Second
)

// Client talks to one FHIR server. It is safe for concurrent use.
type Client struct {
	cfg   Config
	base  *url.URL
	hc    *http.Client
	slots *slots // caps requests in flight: a hospital server is shared and fragile

	obs     Observer // never nil
	breaker *breaker // nil when disabled
}

// New checks cfg and returns a Client. Errors name the Config field at fault.
func New(cfg Config) (*Client, error) {
	base, err := parseBase(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	var hc *http.Client
	if cfg.HTTPClient != nil {
		cp := *cfg.HTTPClient // a copy, so the caller's client keeps its own redirect policy
		hc = &cp
	} else {
		hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	inner := hc.CheckRedirect
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		// A redirect elsewhere would carry the Authorization header and patient queries
		// off the configured server.
		if !origin.Same(req.URL, base) {
			return errForeignRedirect
		}
		if inner != nil {
			return inner(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	obs := cfg.Observer
	if obs == nil {
		obs = nopObserver{}
	}
	return &Client{
		cfg: cfg, base: base, hc: hc, slots: newSlots(cfg.MaxConcurrent, cfg.MaxBackground, cfg.SlotWait),
		obs: obs, breaker: newBreaker(cfg.BreakerFailures, cfg.BreakerCooldown, obs),
	}, nil
}

var errForeignRedirect = errors.New("the server redirected to another origin; not followed")

func parseBase(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("fhirclient: Config.BaseURL is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("fhirclient: Config.BaseURL is not a URL")
	}
	if u.User != nil {
		// Not echoed: it holds credentials.
		return nil, errors.New("fhirclient: Config.BaseURL must not hold credentials; use Config.Token")
	}
	// Messages name the scheme and host only: a base URL's path or query can carry a
	// tenant or a token.
	switch at := originNote(u); {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("fhirclient: Config.BaseURL%s is not an absolute http or https URL", at)
	case u.Host == "" || u.Opaque != "":
		return nil, fmt.Errorf("fhirclient: Config.BaseURL%s has no host", at)
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return nil, fmt.Errorf("fhirclient: Config.BaseURL%s must not have a query or fragment", at)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u, nil
}

// originNote is " (scheme://host)" of u for a message, or "" when u has neither.
func originNote(u *url.URL) string {
	if u.Scheme == "" && u.Host == "" {
		return ""
	}
	return " (" + u.Scheme + "://" + u.Host + ")"
}

func (cfg *Config) setDefaults() error {
	if err := orDefault(&cfg.MaxBodyBytes, defaultMaxBodyBytes, "MaxBodyBytes"); err != nil {
		return err
	}
	for _, f := range []struct {
		p    *int
		def  int
		name string
	}{
		{&cfg.MaxPages, defaultMaxPages, "MaxPages"},
		{&cfg.MaxEntries, fhirbundle.DefaultMaxEntries, "MaxEntries"},
		{&cfg.PageSize, defaultPageSize, "PageSize"},
		{&cfg.MaxConcurrent, defaultMaxConcurrent, "MaxConcurrent"},
		{&cfg.Attempts, defaultAttempts, "Attempts"},
	} {
		if err := orDefault(f.p, f.def, f.name); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		p    *time.Duration
		def  time.Duration
		name string
	}{
		{&cfg.BaseBackoff, defaultBaseBackoff, "BaseBackoff"},
		{&cfg.MaxBackoff, defaultMaxBackoff, "MaxBackoff"},
		{&cfg.MaxRetryAfter, defaultMaxRetryAfter, "MaxRetryAfter"},
		{&cfg.AttemptTimeout, defaultAttemptTimeout, "AttemptTimeout"},
		{&cfg.BreakerCooldown, defaultBreakerCooldown, "BreakerCooldown"},
		{&cfg.SlotWait, defaultSlotWait, "SlotWait"},
	} {
		if err := orDefault(f.p, f.def, f.name); err != nil {
			return err
		}
	}
	if err := orDefault(&cfg.MaxBackground, max(cfg.MaxConcurrent/4, 1), "MaxBackground"); err != nil {
		return err
	}
	if cfg.MaxBackground > cfg.MaxConcurrent {
		return fmt.Errorf("fhirclient: Config.MaxBackground (%d) is more than Config.MaxConcurrent (%d)", cfg.MaxBackground, cfg.MaxConcurrent)
	}
	if cfg.BreakerFailures == 0 {
		cfg.BreakerFailures = defaultBreakerFailures
	} // negative: disabled
	if cfg.MaxBackoff < cfg.BaseBackoff {
		return fmt.Errorf("fhirclient: Config.MaxBackoff (%s) is less than Config.BaseBackoff (%s)", cfg.MaxBackoff, cfg.BaseBackoff)
	}
	return nil
}

func orDefault[T int | int64 | time.Duration](p *T, def T, name string) error {
	switch {
	case *p < 0:
		return fmt.Errorf("fhirclient: Config.%s is %v; want 0 (the default, %v) or more", name, *p, def)
	case *p == 0:
		*p = def
	}
	return nil
}

// CloseIdleConnections closes the idle connections of the client's HTTP client.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

var (
	typePattern = regexp.MustCompile(`^[A-Z][A-Za-z]{1,63}$`)
)

// ValidID reports whether id is a FHIR resource id this client will put into a URL: 1 to
// 64 of A-Z a-z 0-9 - . and not "." or ".." (see fhirid.Valid).
func ValidID(id string) bool { return fhirid.Valid(id) }

// notAnID is the error for an id ValidID refuses. The id is not quoted: it may identify
// a patient.
func notAnID(op string) error {
	return fmt.Errorf("fhirclient: %s: the id is not a FHIR id (%s)", op, fhirid.Rule)
}

// resourceURL is [base]/seg/seg/...: each segment path-escaped on its own and appended as
// it is, never cleaned (url.JoinPath would turn "Patient/.." into the base). Callers
// check ids with ValidID first; escaping is the second line.
func (c *Client) resourceURL(segments ...string) *url.URL {
	u := *c.base
	raw := strings.TrimRight(c.base.EscapedPath(), "/")
	for _, s := range segments {
		raw += "/" + url.PathEscape(s)
	}
	path, err := url.PathUnescape(raw)
	if err != nil { // cannot happen: raw is escaped above and by EscapedPath
		path = raw
	}
	u.Path, u.RawPath = path, raw
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	return &u
}

// Read fetches one resource by type and id and returns its JSON.
func (c *Client) Read(ctx context.Context, resourceType, id string) (json.RawMessage, error) {
	if !typePattern.MatchString(resourceType) {
		return nil, fmt.Errorf("fhirclient: read: %q is not a FHIR resource type name", resourceType)
	}
	op := "read " + resourceType
	if !ValidID(id) {
		return nil, notAnID(op)
	}
	u := c.resourceURL(resourceType, id)
	rq := &request{op: op, url: u, secrets: newSecrets(id)}
	body, err := c.get(ctx, rq)
	if err != nil {
		return nil, err
	}
	return checkResource(rq, body, resourceType, id)
}

// checkResource checks that body is the resource asked for: JSON, of the type, with the id.
func checkResource(rq *request, body []byte, resourceType, id string) (json.RawMessage, error) {
	bad := func(format string, args ...any) error {
		return &Error{Kind: KindBadResponse, Op: rq.op, Status: http.StatusOK, Err: fmt.Errorf(format, args...)}
	}
	if p := jsonProblem(body); p != "" {
		return nil, bad("%s", p)
	}
	var head struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	_ = json.Unmarshal(body, &head) // a mistyped field shows as a mismatch below
	if head.ResourceType != resourceType {
		e := bad("the body is %s, not %s", rq.secrets.clean(describeType(head.ResourceType)), resourceType)
		e.(*Error).Outcome = rq.secrets.clean(outcomeText(body))
		return nil, e
	}
	if head.ID != id {
		return nil, bad("the server returned a %s with another id than the one asked for", resourceType)
	}
	return body, nil
}

func describeType(rt string) string {
	if rt == "" {
		return "a JSON object without resourceType"
	}
	if !typePattern.MatchString(rt) {
		return "a resource of an unknown type"
	}
	return rt
}

// request is one logical GET, tried up to Config.Attempts times.
type request struct {
	op      string // "read Patient", "search Observation": a verb and a resource type
	url     *url.URL
	page    int
	secrets *secrets // kept out of error messages; the tokens sent are added to it

	sentToken string // the token the last attempt sent; "" for none

	// body, when set, is POSTed: a batch Bundle of reads and searches, which has no
	// side effects and so may be retried like a GET.
	body []byte

	// For Bulk Data (bulk.go): another method (DELETE), extra headers (Prefer, another
	// Accept), no token (a file whose manifest says it needs none), a longer timeout
	// (a file download), and read, which takes a 2xx response in place of the JSON body
	// read below (a 202 is headers only; a file is streamed to disk).
	method  string
	header  http.Header
	noToken bool
	timeout time.Duration
	read    func(ctx context.Context, resp *http.Response) ([]byte, *Error)
}

// attemptTimeout is the time one attempt of rq may take.
func (c *Client) attemptTimeout(rq *request) time.Duration {
	if rq.timeout > 0 {
		return rq.timeout
	}
	return c.cfg.AttemptTimeout
}

// resourceType is the type read or searched, the last word of op: for the Observer.
func (rq *request) resourceType() string { return rq.op[strings.LastIndexByte(rq.op, ' ')+1:] }

func (c *Client) newError(rq *request, kind Kind, status int, err error) *Error {
	return &Error{Kind: kind, Op: rq.op, Status: status, Page: rq.page, Err: err}
}

// attempt makes one GET. retryAfter is the server's Retry-After, or -1.
func (c *Client) attempt(ctx context.Context, rq *request) (body []byte, e *Error, retryAfter time.Duration) {
	release, err := c.slots.acquire(ctx)
	switch {
	case err == nil:
		defer release()
	case ctx.Err() != nil:
		return nil, c.ctxError(rq, ctx.Err(), "while waiting for a free request slot (MaxConcurrent)"), -1
	default:
		return nil, c.newError(rq, KindBusy, 0, err), -1
	}

	actx, cancel := context.WithTimeout(ctx, c.attemptTimeout(rq))
	defer cancel()
	method, reqBody := http.MethodGet, io.Reader(nil)
	if rq.body != nil {
		method, reqBody = http.MethodPost, bytes.NewReader(rq.body)
	}
	if rq.method != "" {
		method = rq.method
	}
	req, err := http.NewRequestWithContext(actx, method, rq.url.String(), reqBody)
	if err != nil {
		return nil, c.newError(rq, KindBadResponse, 0, errors.New("cannot make a request of the URL")), -1
	}
	req.Header.Set("Accept", "application/fhir+json")
	if rq.body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for k, v := range rq.header {
		req.Header[k] = v
	}
	if rq.secrets == nil {
		rq.secrets = newSecrets()
	}
	rq.sentToken = ""
	// Only the configured origin gets the token; search already refuses foreign next
	// links, this guards every other path here.
	if c.cfg.Token != nil && !rq.noToken && origin.Same(rq.url, c.base) {
		tok, err := c.cfg.Token.Token(ctx)
		if err == nil && tok == "" {
			err = errors.New("the token source gave an empty token")
		}
		if err != nil {
			return nil, c.newError(rq, KindAuth, 0, fmt.Errorf("no token: %w", err)), -1
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		rq.secrets.addToken(tok)
		rq.sentToken = tok
	}
	start := time.Now()
	class := classError
	defer func() { c.obs.Request(rq.resourceType(), class, time.Since(start)) }()
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, actx, rq, err), -1
	}
	defer resp.Body.Close()
	class = statusClass(resp.StatusCode)
	if rq.read != nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		body, e = rq.read(ctx, resp)
		if e != nil && e.Kind == KindUnavailable {
			class = classError // within a 2xx, only a body cut short or the caller gone
		}
		return body, e, -1
	}

	if resp.StatusCode != http.StatusOK {
		kind, retryable := statusKind(resp.StatusCode)
		e := c.newError(rq, kind, resp.StatusCode, nil)
		e.retryable = retryable
		// Error bodies are read only as far as an OperationOutcome needs.
		b, _ := io.ReadAll(io.LimitReader(resp.Body, min(c.cfg.MaxBodyBytes, 1<<20)))
		e.Outcome = rq.secrets.clean(outcomeText(b))
		if retryable {
			retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		} else {
			retryAfter = -1
		}
		return nil, e, retryAfter
	}
	if p := contentTypeProblem(resp.Header.Get("Content-Type")); p != "" {
		return nil, c.newError(rq, KindBadResponse, resp.StatusCode, errors.New(rq.secrets.clean(p))), -1
	}
	limit := c.cfg.MaxBodyBytes
	if resp.ContentLength > limit {
		return nil, c.tooLarge(rq, resp.StatusCode), -1
	}
	// The screening this response is for pays for it from the service's memory budget
	// (bodymem.Tab) until it is answered; a budget that cannot pay fails the request.
	r, err := bodymem.TabOf(ctx).Body(ctx, resp.Body, resp.ContentLength)
	if err == nil {
		body, err = io.ReadAll(io.LimitReader(r, limit+1))
	}
	if e := c.memoryError(rq, resp.StatusCode, err); e != nil {
		class = classError
		return nil, e, -1
	}
	if err != nil {
		class = classError // no complete response
		if ctx.Err() != nil {
			e := c.ctxError(rq, ctx.Err(), "while reading the response")
			e.Status = resp.StatusCode
			return nil, e, -1
		}
		// A connection cut mid-body is the network's fault, not the content's: retry.
		e := c.newError(rq, KindUnavailable, resp.StatusCode, fmt.Errorf("reading the response: %w", unwrapURLError(err)))
		e.retryable = true
		return nil, e, -1
	}
	if int64(len(body)) > limit {
		return nil, c.tooLarge(rq, resp.StatusCode), -1
	}
	return body, nil, -1
}

// memoryError is the error of a response the memory budget could not pay for, or nil
// when err is no such refusal: busy (KindBusy: the screening is answered 503, to be sent
// again) when other requests hold the budget now; a bad response when the screening's
// responses need more than the whole budget (its types fail, and their criteria are
// unknown).
func (c *Client) memoryError(rq *request, status int, err error) *Error {
	switch {
	case errors.Is(err, bodymem.ErrBusy):
		return c.newError(rq, KindBusy, status, fmt.Errorf("no memory came free for the response: %w", err))
	case errors.Is(err, bodymem.ErrTooLarge):
		return c.newError(rq, KindBadResponse, status, fmt.Errorf("the screening's responses need more memory than the service's budget: %w", err))
	}
	return nil
}

func (c *Client) tooLarge(rq *request, status int) *Error {
	return c.newError(rq, KindBadResponse, status, fmt.Errorf("the response body is larger than MaxBodyBytes (%s)", byteSize(c.cfg.MaxBodyBytes)))
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB, %d bytes", n>>10, n)
	}
	return fmt.Sprintf("%d bytes", n)
}

// ctxError is the caller's context ending: never retried.
func (c *Client) ctxError(rq *request, err error, when string) *Error {
	if errors.Is(err, context.DeadlineExceeded) {
		return c.newError(rq, KindUnavailable, 0, fmt.Errorf("the deadline passed %s: %w", when, err))
	}
	return c.newError(rq, KindUnavailable, 0, fmt.Errorf("canceled %s: %w", when, err))
}

func (c *Client) transportError(ctx, actx context.Context, rq *request, err error) *Error {
	err = unwrapURLError(err) // a *url.Error quotes the URL, query and all
	switch {
	case errors.Is(err, errForeignRedirect):
		return c.newError(rq, KindBadResponse, 0, err)
	case ctx.Err() != nil:
		return c.ctxError(rq, ctx.Err(), "before the server answered")
	case actx.Err() != nil:
		e := c.newError(rq, KindUnavailable, 0, fmt.Errorf("no answer within AttemptTimeout (%s)", c.attemptTimeout(rq)))
		e.retryable = true
		return e
	}
	e := c.newError(rq, KindUnavailable, 0, err)
	e.retryable = true
	return e
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// contentTypeProblem accepts the FHIR JSON type and plain JSON, parameters allowed.
func contentTypeProblem(ct string) string {
	if ct == "" {
		return "the response has no Content-Type; want application/fhir+json"
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "the response Content-Type cannot be parsed; want application/fhir+json"
	}
	if mt != "application/fhir+json" && mt != "application/json" {
		return fmt.Sprintf("the response Content-Type is %s; want application/fhir+json or application/json", mt)
	}
	return ""
}
