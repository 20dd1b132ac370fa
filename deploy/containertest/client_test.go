package containertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/screening"
)

// wantVerdict is each demo patient's verdict at the demo's as-of instant.
var wantVerdict = map[string]screening.Verdict{
	"demo-candidate":            screening.PotentiallyEligible,
	"demo-ineligible-labs":      screening.Ineligible,
	"demo-ineligible-exclusion": screening.Ineligible,
	"demo-insufficient-data":    screening.InsufficientData,
}

// asOf is sent with every screening: over a FHIR server the service defaults to now,
// when the demo patients' labs are stale.
var asOf = demo.AsOf().Format(time.RFC3339)

var httpClient = &http.Client{Timeout: 30 * time.Second}

// answer is what the service said to one request.
type answer struct {
	status      int
	contentType string
	body        string
	err         error // no HTTP answer at all
}

// get sends GET base+path to the API port, with the caller's token when auth is set.
func (sv *service) get(ctx context.Context, path string, auth bool) answer {
	return sv.getAt(ctx, sv.base, path, auth)
}

// getAt sends GET base+path to one of the service's ports (sv.base, sv.ops).
func (sv *service) getAt(ctx context.Context, base, path string, auth bool) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Accept", "application/json")
	if auth {
		req.Header.Set("Authorization", "Bearer "+sv.token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: string(body), err: err}
}

// screen asks for a demo patient's screening.
func (sv *service) screen(ctx context.Context, id string) answer {
	return sv.get(ctx, "/v1/patients/"+url.PathEscape(id)+"/screening?as_of="+url.QueryEscape(asOf), true)
}

// verdictOf reads a verdict document's patient id and verdict.
func verdictOf(body string) (patient string, verdict screening.Verdict, err error) {
	var doc struct {
		Patient struct {
			ID string `json:"id"`
		} `json:"patient"`
		Verdict screening.Verdict `json:"verdict"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		return "", "", fmt.Errorf("not a verdict document: %w", err)
	}
	return doc.Patient.ID, doc.Verdict, nil
}

// Outcomes of one screening under faults.
const (
	outcomeCorrect = "correct"           // 200, the patient's own verdict
	outcomeUnknown = "insufficient-data" // 200, criteria unknown because data is missing
	outcome502     = "502"
	outcome504     = "504"
)

// judge classifies a screening of patient id. Under FHIR faults the only acceptable
// answers are the right verdict, insufficient-data (some data missing), or a 502/504
// problem; anything else is returned as a violation.
func judge(id string, a answer) (outcome string, violation error) {
	if a.err != nil {
		return "", fmt.Errorf("%s: no HTTP answer: %v", id, a.err)
	}
	switch a.status {
	case http.StatusOK:
		patient, v, err := verdictOf(a.body)
		switch {
		case err != nil:
			return "", fmt.Errorf("%s: 200 with %v: %.300s", id, err, a.body)
		case patient != id:
			return "", fmt.Errorf("%s: 200 about patient %q", id, patient)
		case v == wantVerdict[id]:
			return outcomeCorrect, nil
		case v == screening.InsufficientData:
			return outcomeUnknown, nil
		}
		return "", fmt.Errorf("%s: WRONG VERDICT %q, want %q (or insufficient-data, 502, 504)", id, v, wantVerdict[id])
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		if a.contentType != "application/problem+json" {
			return "", fmt.Errorf("%s: %d with Content-Type %q, want application/problem+json", id, a.status, a.contentType)
		}
		return fmt.Sprint(a.status), nil
	}
	return "", fmt.Errorf("%s: status %d, want 200, 502 or 504: %.300s", id, a.status, a.body)
}

// allCorrect screens every demo patient once and reports the first answer that is not
// that patient's verdict.
func (sv *service) allCorrect(ctx context.Context) error {
	for id := range wantVerdict {
		a := sv.screen(ctx, id)
		if o, err := judge(id, a); err != nil || o != outcomeCorrect {
			return fmt.Errorf("%s: status %d, outcome %q, %v", id, a.status, o, err)
		}
	}
	return nil
}

// waitAllCorrect polls allCorrect until it passes or within runs out.
func (sv *service) waitAllCorrect(ctx context.Context, within time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		err := sv.allCorrect(ctx)
		if err == nil {
			return time.Since(start), nil
		}
		if time.Since(start) > within {
			return time.Since(start), fmt.Errorf("not all screenings correct after %s: %w", within, err)
		}
		select {
		case <-ctx.Done():
			return time.Since(start), ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
