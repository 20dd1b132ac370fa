package fhirclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/trialscreen/trialscreen/fhirbundle"
)

// BatchRequest is one read or search in a batch.
type BatchRequest struct {
	ResourceType string
	ID           string     // set: a read of ResourceType/ID
	Params       url.Values // otherwise: a search, as for Search
}

// BatchResponse is the answer to one BatchRequest: Resource for a read, Search for a
// search (its later pages fetched with GETs), or Err.
type BatchResponse struct {
	Resource json.RawMessage
	Search   *SearchResult
	Err      error
}

// Batch sends reqs as one FHIR batch Bundle (POST [base]) and returns one response per
// request, in order. A whole patient record then costs one round trip, and one request
// against the server's rate limits, where the server accepts batches (see
// Capabilities.Batch). Only reads and searches go in a batch, so it has no side effects
// and is retried like a GET. The error is for the batch as a whole: the server refused
// it, failed, or answered with something other than a batch-response; each entry's own
// failure is in its BatchResponse.Err, classified like a Read's or a Search's.
func (c *Client) Batch(ctx context.Context, reqs []BatchRequest) ([]BatchResponse, error) {
	type entry struct {
		Request struct {
			Method string `json:"method"`
			URL    string `json:"url"`
		} `json:"request"`
	}
	bundle := struct {
		ResourceType string  `json:"resourceType"`
		Type         string  `json:"type"`
		Entry        []entry `json:"entry"`
	}{ResourceType: "Bundle", Type: "batch"}
	sec := newSecrets()
	urls := make([]*url.URL, len(reqs))
	for i, r := range reqs {
		var u *url.URL
		if r.ID != "" {
			if !typePattern.MatchString(r.ResourceType) || !ValidID(r.ID) {
				return nil, fmt.Errorf("fhirclient: batch: entry %d: not a FHIR resource type and id", i)
			}
			u = c.resourceURL(r.ResourceType, r.ID)
			sec.words = appendForms(sec.words, r.ID)
		} else {
			su, ssec, err := c.searchURL(r.ResourceType, r.Params)
			if err != nil {
				return nil, fmt.Errorf("fhirclient: batch: entry %d: %w", i, err)
			}
			u = su
			sec.words = append(sec.words, ssec.words...)
		}
		urls[i] = u
		var e entry
		e.Request.Method = http.MethodGet
		e.Request.URL = strings.TrimPrefix(strings.TrimPrefix(u.String(), c.base.String()), "/") // relative to the base, as batch entries are
		bundle.Entry = append(bundle.Entry, e)
	}
	body, err := json.Marshal(bundle)
	if err != nil {
		return nil, err
	}
	base := *c.base
	base.Path += "/" // POST [base]/: some servers route the bare base elsewhere
	rq := &request{op: "batch Bundle", url: &base, secrets: sec, body: body}
	resp, err := c.get(ctx, rq)
	if err != nil {
		return nil, err
	}
	entries, err := batchEntries(rq, resp, len(reqs))
	if err != nil {
		return nil, err
	}
	out := make([]BatchResponse, len(reqs))
	for i, r := range reqs {
		op := "search " + r.ResourceType
		if r.ID != "" {
			op = "read " + r.ResourceType
		}
		erq := &request{op: op, url: urls[i], secrets: sec}
		if e := entryError(erq, entries[i]); e != nil {
			out[i].Err = e
			continue
		}
		if r.ID != "" {
			out[i].Resource, out[i].Err = checkResource(erq, entries[i].Resource, r.ResourceType, r.ID)
			continue
		}
		out[i].Search, out[i].Err = c.collect(ctx, r.ResourceType, urls[i], sec, entries[i].Resource)
	}
	return out, nil
}

// batchEntry is one entry of a batch-response.
type batchEntry struct {
	Resource json.RawMessage `json:"resource"`
	Response struct {
		Status   string          `json:"status"` // "200 OK"
		Outcome  json.RawMessage `json:"outcome"`
		Location string          `json:"location"`
	} `json:"response"`
}

// batchEntries checks that body is a batch-response with one entry per request.
func batchEntries(rq *request, body []byte, n int) ([]batchEntry, error) {
	bad := func(format string, args ...any) error {
		return &Error{Kind: KindBadResponse, Op: rq.op, Status: http.StatusOK, Err: fmt.Errorf(format, args...)}
	}
	if p := jsonProblem(body); p != "" {
		return nil, bad("%s", p)
	}
	// Counted before it is read: a batch-response padded with entries must not be
	// decoded into them.
	if got, ok := fhirbundle.CountEntries(body); ok && got != n {
		return nil, bad("the batch-response has %d entries for %d requests", got, n)
	}
	var b struct {
		ResourceType string       `json:"resourceType"`
		Type         string       `json:"type"`
		Entry        []batchEntry `json:"entry"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.ResourceType != "Bundle" || b.Type != "batch-response" {
		e := bad("the answer is not a batch-response Bundle")
		e.(*Error).Outcome = rq.secrets.clean(outcomeText(body))
		return nil, e
	}
	if len(b.Entry) != n {
		return nil, bad("the batch-response has %d entries for %d requests", len(b.Entry), n)
	}
	return b.Entry, nil
}

// entryError classifies an entry's response.status like an HTTP status.
func entryError(rq *request, e batchEntry) *Error {
	code, err := strconv.Atoi(strings.Fields(e.Response.Status + " x")[0])
	if err != nil {
		return &Error{Kind: KindBadResponse, Op: rq.op, Err: errors.New("a batch-response entry has no response status")}
	}
	if code == http.StatusOK {
		if len(e.Resource) == 0 || string(e.Resource) == "null" {
			return &Error{Kind: KindBadResponse, Op: rq.op, Status: code, Err: errors.New("a batch-response entry has no resource")}
		}
		return nil
	}
	kind, _ := statusKind(code)
	if code >= 200 && code < 300 {
		kind = KindBadResponse // a read or search answers 200, nothing else
	}
	outcome := e.Response.Outcome
	if len(outcome) == 0 {
		outcome = e.Resource
	}
	return &Error{Kind: kind, Op: rq.op, Status: code, Outcome: rq.secrets.clean(outcomeText(outcome))}
}
