package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/trialscreen/trialscreen/batch"
	"github.com/trialscreen/trialscreen/internal/fhirid"
	"github.com/trialscreen/trialscreen/internal/jsonscan"
	"github.com/trialscreen/trialscreen/screening"
)

// Batch routes: asynchronous screening of a list of patients for portals. A batch runs
// in the background; its creator polls its status and then fetches the results.
const (
	routeBatches      = "/v1/batches"
	routeBatch        = "/v1/batches/:id"
	routeBatchResults = "/v1/batches/:id/results"
	routeBatchSummary = "/v1/batches/:id/summary.csv"
	routeBatchFunnel  = "/v1/batches/:id/funnel"
	surfaceBatch      = "batch" // audit records and the screenings metric
	batchPollSeconds  = "2"     // Retry-After while a batch is queued or running
	mimeNDJSON        = "application/x-ndjson"
)

// batchFields are the members a POST /v1/batches body may have.
var batchFields = []string{"patient_ids", "as_of", "lymphodepletion_date"}

// registerBatches adds the batch routes. They take the same caller authentication as
// the other REST routes (no report links: a batch is not one patient's report).
func (s *Server) registerBatches(e *echo.Echo) {
	s.batches = newBatchStore(s)
	if s.cfg.Batches != nil {
		s.shared = newSharedBatches(s, s.cfg.Batches)
	}
	auth := s.authenticate()
	e.POST(routeBatches, s.postBatch, s.payForBody, auth)
	e.GET(routeBatch, s.getBatch, auth)
	e.DELETE(routeBatch, s.deleteBatch, auth)
	e.GET(routeBatchResults, s.getBatchResults, auth)
	e.GET(routeBatchSummary, s.getBatchSummary, auth)
	e.GET(routeBatchFunnel, s.getBatchFunnel, auth)
}

// batchStatus is the status document of a batch.
type batchStatus struct {
	ID                  string         `json:"id"`
	State               string         `json:"state"`
	Created             time.Time      `json:"created"`
	Started             *time.Time     `json:"started,omitempty"`
	Finished            *time.Time     `json:"finished,omitempty"`
	AsOf                string         `json:"as_of"`
	LymphodepletionDate string         `json:"lymphodepletion_date,omitempty"`
	Total               int            `json:"total"`    // unique patient ids
	Done                int            `json:"done"`     // screened + failed
	Screened            int            `json:"screened"` // verdict documents written
	Failed              batchFailures  `json:"failed"`
	Verdicts            map[string]int `json:"verdicts"` // so far
	Error               string         `json:"error,omitempty"`
	Links               batchLinks     `json:"links"`
}

// batchFailures counts the patients that could not be screened, by reason. The ids are
// in nobody's log; a caller can tell them from the results (their lines are missing).
type batchFailures struct {
	Count   int            `json:"count"`
	Reasons map[string]int `json:"reasons"`
}

type batchLinks struct {
	Self    string `json:"self"`
	Results string `json:"results,omitempty"` // once done
	Summary string `json:"summary,omitempty"`
	Funnel  string `json:"funnel,omitempty"`
}

// statusLocked renders j. Called with the store's mutex held.
func (j *batchJob) statusLocked() batchStatus {
	self := "/v1/batches/" + j.id
	st := batchStatus{
		ID: j.id, State: j.state, Created: j.created, AsOf: j.settings.AsOf.Format(time.RFC3339Nano),
		Total: len(j.ids), Screened: j.screened, Error: j.errMsg, Links: batchLinks{Self: self},
		Failed:   batchFailures{Count: sum(j.failed), Reasons: map[string]int{}},
		Verdicts: map[string]int{},
	}
	if !j.settings.LymphodepletionDate.IsZero() {
		st.LymphodepletionDate = j.settings.LymphodepletionDate.Format("2006-01-02")
	}
	if !j.started.IsZero() {
		t := j.started
		st.Started = &t
	}
	if !j.finished.IsZero() {
		t := j.finished
		st.Finished = &t
	}
	for r, n := range j.failed {
		st.Failed.Reasons[r] = n
	}
	// Every verdict is present, zero or not, so that a portal need not guess.
	for _, v := range []screening.Verdict{screening.PotentiallyEligible, screening.Ineligible, screening.InsufficientData} {
		st.Verdicts[string(v)] = j.verdicts[v]
	}
	st.Done = st.Screened + st.Failed.Count
	if j.state == batchDone {
		st.Links.Results, st.Links.Summary, st.Links.Funnel = self+"/results", self+"/summary.csv", self+"/funnel"
	}
	return st
}

// writeBatchStatus answers with a status document; a client polling a batch that is
// not final is told when to ask again.
func writeBatchStatus(c echo.Context, code int, st batchStatus) error {
	h := c.Response().Header()
	if st.State == batchQueued || st.State == batchRunning {
		h.Set("Retry-After", batchPollSeconds)
	}
	h.Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(code, st)
}

// postBatch starts a batch and answers 202 with where to poll.
func (s *Server) postBatch(c echo.Context) error {
	r := c.Request()
	if err := checkBatchContentType(r.Header.Get(echo.HeaderContentType)); err != nil {
		return err
	}
	data, err := readJSONBody(r, []string{"patient_ids", "as_of", "lymphodepletion_date"})
	if err != nil {
		return err
	}
	req, err := parseBatchRequest(data, s.batches.maxIDs)
	if err != nil {
		return err
	}
	st, err := s.settings(req.AsOf, req.Lymphodepletion)
	if err != nil {
		return err
	}
	if st.AsOf.IsZero() {
		// One instant for the whole batch, chosen now: its patients' default, as single
		// screenings would have it. They all come from the configured source, whose
		// patients share one default (now; in demo mode the demo instant), so the
		// first one's stands for all.
		st.AsOf = s.defaultAsOf(req.PatientIDs[0])
	}
	status, err := s.backend().create(r.Context(), callerOf(c), remoteAddr(r), req.PatientIDs, st)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, status.Links.Self)
	return writeBatchStatus(c, http.StatusAccepted, status)
}

func (s *Server) getBatch(c echo.Context) error {
	st, err := s.backend().status(c.Request().Context(), callerOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return writeBatchStatus(c, http.StatusOK, st)
}

// deleteBatch cancels a queued or running batch (200 with its status, now cancelled) or
// deletes a finished one and its results (204).
func (s *Server) deleteBatch(c echo.Context) error {
	st, deleted, err := s.backend().remove(c.Request().Context(), callerOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	if deleted {
		return c.NoContent(http.StatusNoContent)
	}
	return writeBatchStatus(c, http.StatusOK, st)
}

// getBatchResults streams the verdict documents, one a line in patient id order, each
// exactly the body GET /v1/patients/{id}/screening gives for the patient.
func (s *Server) getBatchResults(c echo.Context) error {
	return s.serveBatchFile(c, batch.ResultsFile, mimeNDJSON)
}

// getBatchSummary serves the CSV summary: one row per screened patient.
func (s *Server) getBatchSummary(c echo.Context) error {
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="summary.csv"`)
	return s.serveBatchFile(c, batch.SummaryFile, "text/csv; charset=utf-8")
}

// getBatchFunnel serves the funnel as JSON, or as its HTML page to a browser.
func (s *Server) getBatchFunnel(c echo.Context) error {
	c.Response().Header().Add(echo.HeaderVary, echo.HeaderAccept)
	f, err := s.batchFunnel(c.Request().Context(), callerOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderCacheControl, "no-store") // patient ids
	var buf bytes.Buffer
	if !prefersHTML(c.Request().Header.Get(echo.HeaderAccept)) {
		if err := f.WriteJSON(&buf); err != nil {
			return err
		}
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, buf.Bytes())
	}
	if err := f.WriteHTML(&buf); err != nil {
		return err
	}
	page := buf.Bytes()
	h.Set("Content-Security-Policy", funnelCSP(page))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	return c.Blob(http.StatusOK, "text/html; charset=utf-8", page)
}

// funnelCSP allows the page's own <style> element by its hash and nothing else (the
// charts are inline SVG; the page has no scripts).
func funnelCSP(page []byte) string {
	style := "'none'"
	if _, rest, ok := bytes.Cut(page, []byte("<style>")); ok {
		if css, _, ok := bytes.Cut(rest, []byte("</style>")); ok {
			sum := sha256.Sum256(css)
			style = "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		}
	}
	return "default-src 'none'; style-src " + style + "; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// checkDone refuses the outputs of a batch that is not done: they exist only then.
func checkDone(st batchStatus) error {
	if st.State == batchDone {
		return nil
	}
	msg := "the batch is " + st.State + "; its results are ready when its state is done"
	if st.State == batchFailed || st.State == batchCancelled {
		msg = "the batch is " + st.State + " and has no results"
	}
	return echo.NewHTTPError(http.StatusConflict, msg)
}

func (s *Server) serveBatchFile(c echo.Context, name, contentType string) error {
	f, err := s.backend().output(c.Request().Context(), callerOf(c), c.Param("id"), name)
	if err != nil {
		return err
	}
	defer f.Close()
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store") // patient data
	return c.Stream(http.StatusOK, contentType, f)
}

func (s *Server) readBatchFile(c echo.Context, name string) ([]byte, error) {
	f, err := s.backend().output(c.Request().Context(), callerOf(c), c.Param("id"), name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// checkBatchContentType accepts application/json (with parameters such as charset).
func checkBatchContentType(ct string) error {
	if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == echo.MIMEApplicationJSON {
		return nil
	}
	got := "none"
	if ct != "" {
		got = strconv.Quote(ct)
	}
	return echo.NewHTTPError(http.StatusUnsupportedMediaType, fmt.Sprintf(
		`Content-Type must be application/json (got %s): send {"patient_ids": [...]}`, got))
}

// batchRequest is the body of POST /v1/batches.
type batchRequest struct {
	PatientIDs      []string // sorted, duplicates removed
	AsOf            string
	Lymphodepletion string
}

// parseBatchRequest reads a POST /v1/batches body. Every error names the member at
// fault; an unknown member is an error, so that a misspelt setting is never ignored.
func parseBatchRequest(data []byte, maxIDs int) (batchRequest, error) {
	var req batchRequest
	members, err := jsonObject(data, batchFields, `send {"patient_ids": [...]}`)
	if err != nil {
		return req, err
	}
	err = stringMembers(members, map[string]*string{"as_of": &req.AsOf, "lymphodepletion_date": &req.Lymphodepletion})
	if err != nil {
		return req, err
	}
	ids, err := parsePatientIDs(members["patient_ids"], maxIDs)
	req.PatientIDs = ids
	return req, err
}

// parsePatientIDs reads the patient_ids member: 1 to maxIDs FHIR resource ids. They
// come back sorted (the order results are written in) without duplicates.
func parsePatientIDs(raw json.RawMessage, maxIDs int) ([]string, error) {
	if raw == nil || bytes.Equal(raw, []byte("null")) {
		return nil, invalid("patient_ids", "is required: a list of 1 to %d patient ids", maxIDs)
	}
	// Counted before they are read: a list of millions of one-byte items must be
	// refused for the price of a scan, not of the items.
	n := 0
	if !jsonscan.Elements(raw, func([]byte) bool { n++; return true }) {
		return nil, invalid("patient_ids", "must be an array of patient ids (strings)")
	}
	switch {
	case n == 0:
		return nil, invalid("patient_ids", "is empty: give 1 to %d patient ids", maxIDs)
	case n > maxIDs:
		return nil, invalid("patient_ids", "holds %d ids; a batch takes at most %d (split the list)", n, maxIDs)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, invalid("patient_ids", "must be an array of patient ids (strings)")
	}
	ids := make([]string, len(items))
	for i, item := range items {
		if err := json.Unmarshal(item, &ids[i]); err != nil || bytes.Equal(item, []byte("null")) {
			return nil, invalid("patient_ids", "item %d (from 0) must be a string", i)
		}
		if checkFHIRID("patient_ids", ids[i]) != nil {
			// The value is not quoted: it may be anything a caller sent.
			return nil, invalid("patient_ids", "item %d (from 0) is not a FHIR resource id (%s; got %d bytes)", i, fhirid.Rule, len(ids[i]))
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}
