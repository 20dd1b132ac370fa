package fhirclient

import (
	"github.com/trialscreen/trialscreen/internal/fhirid"
	"github.com/trialscreen/trialscreen/internal/origin"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"
)

// FHIR Bulk Data Access (v2) export: kick-off, status polling and the manifest here;
// downloading the files in bulkdownload.go. The requests go through the Client like any
// other: same token, retries, breaker, size caps and Observer (with resource type "Bulk",
// or the file's type for a download).

// ExportRequest says what to export.
type ExportRequest struct {
	Group   string // set: Group/{id}/$export, the patients of that Group
	Patient bool   // with no Group: Patient/$export, every patient; neither: system-level $export

	Types       []string  // _type: the resource types wanted; empty: all the server gives
	TypeFilters []string  // _typeFilter, each "Type?search-params" (e.g. the protocol's codes); one parameter each
	Since       time.Time // _since: only resources changed after it; zero: all

	// MaxPollWait caps the wait between status polls: a longer Retry-After is cut to it.
	// Default 5 minutes. Without Retry-After the wait starts at a second and doubles.
	MaxPollWait time.Duration
	// OnProgress, when set, is called after each status poll that finds the export still
	// running, before the wait.
	OnProgress func(ExportProgress)

	sleep func(ctx context.Context, d time.Duration) error // tests: waits without a clock
	now   func() time.Time                                 // tests: the clock a Retry-After date is read against
}

// ExportProgress is the state of a running export.
type ExportProgress struct {
	Polls int           // status requests answered "in progress" so far
	Text  string        // the server's X-Progress (e.g. "50% complete"), cleaned; "" when none
	Wait  time.Duration // until the next poll
}

// ExportResult is a finished export: its manifest, and what DownloadExport needs to
// fetch the files and then delete the job on the server.
type ExportResult struct {
	TransactionTime     time.Time    // the server's time when the export ran: nothing changed later is in it
	RequiresAccessToken bool         // the files need the access token (then they must be on the FHIR server's origin)
	Output              []ExportFile // NDJSON files of resources, one type per file
	Errors              []ExportFile // NDJSON files of OperationOutcomes about what could not be exported
	Deleted             []ExportFile // with Since: Bundles of resources deleted since; not downloaded (without Since, a manifest listing any is refused)
	Expires             time.Time    // when the server drops the files; zero when it did not say
	Polls               int          // status requests made

	status  *url.URL
	secrets *secrets
}

// ExportFile is one file of a manifest. Its URL is kept unexported: a link that needs no
// token is itself a credential.
type ExportFile struct {
	Type  string // FHIR resource type of the file's resources
	Count int    // resources in the file as the server counts them; -1 when it did not say

	url *url.URL
}

const (
	opExport     = "export Bulk"
	opStatus     = "export status Bulk"
	opDelete     = "export delete Bulk"
	opDownload   = "export download " // + the file's resource type
	ndjsonFormat = "application/fhir+ndjson"

	defaultMaxPollWait = 5 * time.Minute
	firstPollWait      = time.Second
	maxProgressText    = 100 // the spec asks servers for less
)

// Export starts a Bulk Data export, polls its status until the server has made the
// files, and returns the manifest. Give the result to DownloadExport. An export the
// caller gives up on (deadline, cancellation, a failed poll) is deleted on the server,
// since no one will collect it.
func (c *Client) Export(ctx context.Context, req ExportRequest) (*ExportResult, error) {
	u, sec, err := c.exportURL(req)
	if err != nil {
		return nil, err
	}
	status, err := c.kickOff(ctx, u, sec)
	if err != nil {
		return nil, err
	}
	res, err := c.pollExport(ctx, req, status, sec)
	if err != nil {
		if !errors.Is(err, KindNotFound) { // a job that is gone needs no delete
			c.deleteExport(context.WithoutCancel(ctx), status, sec)
		}
		return nil, err
	}
	return res, nil
}

// exportURL is the kick-off URL of req, with the secrets of its errors (the Group id).
func (c *Client) exportURL(req ExportRequest) (*url.URL, *secrets, error) {
	var u *url.URL
	switch {
	case req.Group != "" && req.Patient:
		return nil, nil, errors.New("fhirclient: export: give Group or Patient, not both")
	case req.Group != "":
		if !ValidID(req.Group) {
			// Not quoted: a Group id can name a ward or a study.
			return nil, nil, errors.New("fhirclient: export: Group is not a FHIR id (" + fhirid.Rule + ")")
		}
		u = c.resourceURL("Group", req.Group, "$export")
	case req.Patient:
		u = c.resourceURL("Patient", "$export")
	default:
		u = c.resourceURL("$export")
	}
	if req.MaxPollWait < 0 {
		return nil, nil, fmt.Errorf("fhirclient: export: MaxPollWait is %s; want 0 (the default, %s) or more", req.MaxPollWait, defaultMaxPollWait)
	}
	q := url.Values{"_outputFormat": {ndjsonFormat}}
	for i, t := range req.Types {
		if !typePattern.MatchString(t) {
			return nil, nil, fmt.Errorf("fhirclient: export: Types[%d] %q is not a FHIR resource type name", i, t)
		}
	}
	if len(req.Types) > 0 {
		q.Set("_type", strings.Join(req.Types, ",")) // comma-separated: what v1 servers read too
	}
	for i, f := range req.TypeFilters {
		if err := checkTypeFilter(f, req.Types); err != nil {
			return nil, nil, fmt.Errorf("fhirclient: export: TypeFilters[%d] %w", i, err)
		}
		q.Add("_typeFilter", f) // repeated: a filter's own query may hold commas
	}
	if !req.Since.IsZero() {
		q.Set("_since", req.Since.UTC().Format(time.RFC3339Nano))
	}
	u.RawQuery = q.Encode()
	return u, newSecrets(req.Group), nil
}

// checkTypeFilter checks a _typeFilter value: "Type?params" of a type exported, without
// the search result parameters the spec forbids there. Messages do not quote the filter.
func checkTypeFilter(f string, types []string) error {
	t, query, ok := strings.Cut(f, "?")
	if !ok || !typePattern.MatchString(t) || query == "" {
		return errors.New("is not a search of the form Type?params")
	}
	if len(types) > 0 && !slices.Contains(types, t) {
		return fmt.Errorf("is for %s, which is not in Types", t)
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return errors.New("has a query that cannot be parsed")
	}
	for p := range params {
		if controlParams[p] {
			return fmt.Errorf("uses %s; search result parameters are not allowed in _typeFilter", p)
		}
	}
	return nil
}

// kickOff asks for the export and returns the status URL the server gives.
func (c *Client) kickOff(ctx context.Context, u *url.URL, sec *secrets) (*url.URL, error) {
	rq := &request{op: opExport, url: u, secrets: sec, header: http.Header{"Prefer": {"respond-async"}}}
	var loc string
	rq.read = func(_ context.Context, resp *http.Response) ([]byte, *Error) {
		drain(resp.Body)
		if resp.StatusCode != http.StatusAccepted {
			return nil, c.newError(rq, KindBadResponse, resp.StatusCode, fmt.Errorf("the server answered %d, not 202 Accepted: it did not start an asynchronous export", resp.StatusCode))
		}
		loc = resp.Header.Get("Content-Location")
		return nil, nil
	}
	if _, err := c.get(ctx, rq); err != nil {
		var e *Error
		if errors.As(err, &e) && e.Kind == KindNotFound {
			e.note("the server has no such Group, or no $export here")
		}
		return nil, err
	}
	bad := func(format string, args ...any) error {
		return c.newError(rq, KindBadResponse, http.StatusAccepted, fmt.Errorf(format, args...))
	}
	if loc == "" {
		return nil, bad("the server accepted the export but gave no Content-Location to poll")
	}
	su, err := u.Parse(loc) // absolute per the spec; a relative one is read against the request
	switch {
	case err != nil:
		return nil, bad("the Content-Location is not a URL")
	case !origin.Same(su, c.base):
		// Not followed: the token goes to the configured origin only.
		return nil, bad("the status URL (Content-Location) points to another origin (%s://%s); not followed", sec.clean(su.Scheme), sec.clean(su.Host))
	}
	su.Fragment, su.RawFragment = "", ""
	return su, nil
}

// pollAnswer is what one status request found.
type pollAnswer struct {
	running    bool
	progress   string
	retryAfter time.Duration // -1: none
	expires    time.Time
}

// pollExport polls the status URL until the export is done, and returns its manifest.
// A 202 is "still running"; errors (5xx, 429) are retried as for any GET.
func (c *Client) pollExport(ctx context.Context, req ExportRequest, status *url.URL, sec *secrets) (*ExportResult, error) {
	maxWait := req.MaxPollWait
	if maxWait == 0 {
		maxWait = defaultMaxPollWait
	}
	sleep, now := req.sleep, req.now
	if sleep == nil {
		sleep = sleepCtx
	}
	if now == nil {
		now = time.Now
	}
	for n := 1; ; n++ {
		rq := &request{op: opStatus, url: status, secrets: sec, header: http.Header{"Accept": {"application/json"}}}
		var a pollAnswer
		rq.read = func(ctx context.Context, resp *http.Response) ([]byte, *Error) {
			switch resp.StatusCode {
			case http.StatusAccepted:
				drain(resp.Body)
				a.running = true
				a.progress = cleanProgress(resp.Header.Get("X-Progress"), sec)
				a.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now())
				return nil, nil
			case http.StatusOK:
				if t, err := http.ParseTime(resp.Header.Get("Expires")); err == nil {
					a.expires = t
				}
				return c.readManifest(ctx, rq, resp)
			}
			drain(resp.Body)
			return nil, c.newError(rq, KindBadResponse, resp.StatusCode, fmt.Errorf("the server answered %d; want 202 (running) or 200 (done)", resp.StatusCode))
		}
		body, err := c.get(ctx, rq)
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.Kind == KindNotFound {
				e.note("the export job has expired or was deleted on the server; run the export again")
			}
			return nil, err
		}
		if !a.running {
			res, err := c.parseManifest(rq, body, !req.Since.IsZero())
			if err != nil {
				return nil, err
			}
			res.Expires, res.Polls, res.status, res.secrets = a.expires, n, status, sec
			return res, nil
		}
		wait := pollWait(n, a.retryAfter, maxWait)
		if req.OnProgress != nil {
			req.OnProgress(ExportProgress{Polls: n, Text: a.progress, Wait: wait})
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
			// Say so now, while the caller still has time to do something else.
			return nil, c.newError(rq, KindUnavailable, http.StatusAccepted, fmt.Errorf("the export is still running after %d status request%s and the next is due in %s, after the deadline; stopped", n, plural(n), wait.Round(time.Millisecond)))
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, c.ctxError(rq, err, "while waiting to poll the export's status")
		}
	}
}

// pollWait is the wait after the n-th poll found the export running: the server's
// Retry-After, else a backoff from a second, doubling; at least a second (a server's
// "0" must not make a busy loop) and at most maxWait.
func pollWait(n int, retryAfter, maxWait time.Duration) time.Duration {
	w := retryAfter
	if w < 0 {
		w = firstPollWait << min(n-1, 20)
	}
	return min(max(w, firstPollWait), maxWait)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// cleanProgress makes X-Progress safe to show: printable, short, free of secrets.
func cleanProgress(p string, sec *secrets) string {
	p = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, p)
	return clip(sec.clean(strings.TrimSpace(p)), maxProgressText)
}

// drain reads a little of a body we do not use, so that the connection can be reused.
func drain(body io.Reader) { _, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10)) }

// readManifest reads the body of a completed status request, bounded by MaxBodyBytes.
func (c *Client) readManifest(ctx context.Context, rq *request, resp *http.Response) ([]byte, *Error) {
	if p := contentTypeProblem(resp.Header.Get("Content-Type")); p != "" {
		return nil, c.newError(rq, KindBadResponse, resp.StatusCode, errors.New("the manifest: "+rq.secrets.clean(p)))
	}
	limit := c.cfg.MaxBodyBytes
	if resp.ContentLength > limit {
		return nil, c.tooLarge(rq, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		if ctx.Err() != nil {
			e := c.ctxError(rq, ctx.Err(), "while reading the manifest")
			e.Status = resp.StatusCode
			return nil, e
		}
		e := c.newError(rq, KindUnavailable, resp.StatusCode, fmt.Errorf("reading the manifest: %w", unwrapURLError(err)))
		e.retryable = true
		return nil, e
	}
	if int64(len(body)) > limit {
		return nil, c.tooLarge(rq, resp.StatusCode)
	}
	return body, nil
}

// manifest is the completed status's body, as the spec gives it.
type manifest struct {
	TransactionTime     string         `json:"transactionTime"`
	RequiresAccessToken *bool          `json:"requiresAccessToken"`
	Output              []manifestFile `json:"output"`
	Error               []manifestFile `json:"error"`
	Deleted             []manifestFile `json:"deleted"`
	Link                []manifestLink `json:"link"`
}

// manifestLink is a link of a paged manifest (allowPartialManifests): "next" is the
// rest of the files.
type manifestLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

type manifestFile struct {
	Type  string `json:"type"`
	URL   string `json:"url"`
	Count *int   `json:"count"`
}

// parseManifest checks the manifest and keeps what a download needs. Its "request" field
// is not kept: it repeats the kick-off URL, Group id and all. since tells whether the
// export asked for _since: only then is a list of deleted resources expected.
func (c *Client) parseManifest(rq *request, body []byte, since bool) (*ExportResult, error) {
	bad := func(format string, args ...any) error {
		return c.newError(rq, KindBadResponse, http.StatusOK, fmt.Errorf(format, args...))
	}
	if p := jsonProblem(body); p != "" {
		return nil, bad("the manifest: %s", p)
	}
	var m manifest
	if err := json.Unmarshal(body, &m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			if te.Type.Kind() == reflect.Slice { // not the Go type's name
				return nil, bad("the manifest's %s is not an array", te.Field)
			}
			return nil, bad("the manifest's %s is not a %s", te.Field, te.Type)
		}
		return nil, bad("the manifest is not a Bulk Data manifest")
	}
	if m.TransactionTime == "" {
		return nil, bad("the manifest has no transactionTime")
	}
	tt, err := time.Parse(time.RFC3339Nano, m.TransactionTime)
	if err != nil {
		return nil, bad("the manifest's transactionTime is not a FHIR instant")
	}
	if m.RequiresAccessToken == nil {
		return nil, bad("the manifest does not say whether its files need the access token (requiresAccessToken)")
	}
	// A page of a manifest lists some of the files; we never ask for pages
	// (allowPartialManifests), and what the other pages hold would read as "no records".
	// The link's URL is not quoted: it may carry a credential.
	for _, l := range m.Link {
		if strings.EqualFold(strings.TrimSpace(l.Relation), "next") {
			return nil, bad("the manifest is one page of several (it has a link with relation next), which was not asked for (allowPartialManifests): the files of the other pages would be missing; refused")
		}
	}
	// Without _since, deleted resources are not part of the answer: a server that lists
	// some did something this client cannot interpret.
	if !since && len(m.Deleted) > 0 {
		return nil, bad("the manifest lists %d deleted file%s, but the export did not ask for changes since a time (_since): what it means cannot be told; refused", len(m.Deleted), plural(len(m.Deleted)))
	}
	res := &ExportResult{TransactionTime: tt, RequiresAccessToken: *m.RequiresAccessToken}
	for _, part := range []struct {
		name     string
		files    []manifestFile
		to       *[]ExportFile
		anyTyped bool // error files are OperationOutcomes whatever they say
	}{
		{"output", m.Output, &res.Output, false},
		{"error", m.Error, &res.Errors, true},
		{"deleted", m.Deleted, &res.Deleted, false},
	} {
		for i, f := range part.files {
			typ := f.Type
			if part.anyTyped {
				typ = "OperationOutcome"
			} else if !typePattern.MatchString(typ) {
				return nil, bad("the manifest's %s[%d] has no FHIR resource type", part.name, i)
			}
			u, err := url.Parse(f.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
				return nil, bad("the manifest's %s[%d] (%s) has no absolute http(s) URL", part.name, i, typ)
			}
			count := -1
			if f.Count != nil {
				count = *f.Count
			}
			*part.to = append(*part.to, ExportFile{Type: typ, Count: count, url: u})
		}
	}
	return res, nil
}
