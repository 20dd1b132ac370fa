package batch

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/internal/fhirstub"
	"github.com/trialscreen/trialscreen/screening"
)

// faultyFHIR is the demo patients' FHIR server, answering status to its first fail
// requests (every request when fail < 0), or only to those whose path starts with only,
// and counting Patient reads.
type faultyFHIR struct {
	stub         *fhirstub.Server
	status       int
	fail         int64
	only         string
	requests     atomic.Int64
	patientReads atomic.Int64
}

func (f *faultyFHIR) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.only != "" && !strings.HasPrefix(r.URL.Path, f.only) {
		f.stub.ServeHTTP(w, r)
		return
	}
	n := f.requests.Add(1)
	if strings.HasPrefix(r.URL.Path, "/Patient/") {
		f.patientReads.Add(1)
	}
	if f.fail < 0 || n <= f.fail {
		w.Header().Set("Content-Type", "application/fhir+json")
		w.WriteHeader(f.status)
		_, _ = w.Write([]byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"transient","diagnostics":"down for maintenance"}]}`))
		return
	}
	f.stub.ServeHTTP(w, r)
}

// runIDListAgainst screens the four demo patients by id through a real FHIR client
// (one attempt per request, a breaker that opens after 2 failures for 30 ms) against h.
func runIDListAgainst(t *testing.T, h http.Handler, timeout time.Duration) (*collect, []string, Stats) {
	t.Helper()
	p := testProtocol(t)
	srv := httptest.NewServer(h)
	defer srv.Close()
	c, err := fhirclient.New(fhirclient.Config{BaseURL: srv.URL, Attempts: 1, BreakerFailures: 2, BreakerCooldown: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	src, err := fhirclient.NewRecordSource(c, p)
	if err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(t.TempDir(), "ids.txt")
	ids := slices.Sorted(slices.Values(mapKeys(bundleDocs(t, p, demoBundles(t)))))
	if err := os.WriteFile(list, []byte(strings.Join(ids, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var probs problems
	out := &collect{}
	st, err := Run(context.Background(), Config{Protocol: p, Settings: testSettings(), Workers: 2, Report: probs.report, TempDir: t.TempDir()},
		IDList{Path: list, Source: src, Timeout: timeout, RetryWait: 10 * time.Millisecond}, out)
	if err != nil {
		t.Fatal(err)
	}
	return out, probs.list, st
}

// verdicts reads the verdict of each screened patient.
func verdicts(t *testing.T, c *collect) map[string]screening.Verdict {
	t.Helper()
	out := map[string]screening.Verdict{}
	for i, line := range c.lines {
		var s screening.Screening
		if err := json.Unmarshal(line, &s); err != nil {
			t.Fatal(err)
		}
		out[c.ids[i]] = s.Verdict
	}
	return out
}

// A FHIR server that is down for a while (its first 12 requests answer 503, and the
// client's breaker opens meanwhile) costs the batch no patient: the fetches wait and try
// again, and every patient gets the verdict a healthy server gives.
func TestIDListWaitsOutAnOutage(t *testing.T) {
	stub, err := fhirstub.New(0, demoBundleList(t)...)
	if err != nil {
		t.Fatal(err)
	}
	healthy, _, _ := runIDListAgainst(t, stub, 10*time.Second)
	want := verdicts(t, healthy)
	if len(want) != 4 {
		t.Fatalf("a healthy server gave %d verdicts", len(want))
	}

	f := &faultyFHIR{stub: stub, status: http.StatusServiceUnavailable, fail: 12}
	out, probs, st := runIDListAgainst(t, f, 10*time.Second)
	if len(probs) != 0 || st.Unscreened != 0 {
		t.Fatalf("patients lost to the outage (%+v):\n%s", st, strings.Join(probs, "\n"))
	}
	if got := verdicts(t, out); !mapsEqual(got, want) {
		t.Errorf("verdicts after the outage %v, want %v", got, want)
	}
	if f.requests.Load() <= 12 {
		t.Errorf("the server saw %d requests: the outage was not met", f.requests.Load())
	}
}

// Waiting has its limits: a server down for longer than a patient's fetch time costs
// those patients (reported, with the server's words and the attempts made), and a
// refusal that will not pass (403) is not asked again.
func TestIDListGivesUp(t *testing.T) {
	stub, err := fhirstub.New(0, demoBundleList(t)...)
	if err != nil {
		t.Fatal(err)
	}
	down := &faultyFHIR{stub: stub, status: http.StatusServiceUnavailable, fail: -1}
	out, probs, st := runIDListAgainst(t, down, 150*time.Millisecond)
	if len(out.ids) != 0 || st.Unscreened != 4 || len(probs) != 4 {
		t.Fatalf("down server: screened %v, stats %+v, problems:\n%s", out.ids, st, strings.Join(probs, "\n"))
	}
	fetches := regexp.MustCompile(`\((\d+) fetches; no more time to wait for the server\)$`)
	for _, p := range probs {
		m := fetches.FindStringSubmatch(p)
		if !strings.Contains(p, "unavailable") || m == nil || m[1] == "1" {
			t.Errorf("problem %q does not say the server was unavailable, asked again, until the wait ran out", p)
		}
	}

	forbidden := &faultyFHIR{stub: stub, status: http.StatusForbidden, fail: -1}
	out, probs, _ = runIDListAgainst(t, forbidden, 10*time.Second)
	if len(out.ids) != 0 || len(probs) != 4 {
		t.Fatalf("forbidden: screened %v, problems:\n%s", out.ids, strings.Join(probs, "\n"))
	}
	if n := forbidden.patientReads.Load(); n != 4 {
		t.Errorf("%d Patient reads for 4 patients refused with 403: a refusal was asked again", n)
	}
	for _, p := range probs {
		if !strings.Contains(p, "auth") || strings.Contains(p, "fetches") {
			t.Errorf("problem %q: want the auth failure, fetched once", p)
		}
	}
}

// A search that keeps failing transiently is asked again until the patient's time is
// up; then the patient is screened from what could be had, its criteria that read that
// type unknown with source-error, never dropped and never passed on missing data.
func TestIDListKeepsThePartialRecord(t *testing.T) {
	stub, err := fhirstub.New(0, demoBundleList(t)...)
	if err != nil {
		t.Fatal(err)
	}
	f := &faultyFHIR{stub: stub, status: http.StatusServiceUnavailable, fail: -1, only: "/Observation"}
	out, probs, _ := runIDListAgainst(t, f, 300*time.Millisecond)
	if len(probs) != 0 || len(out.ids) != 4 {
		t.Fatalf("screened %v, problems:\n%s", out.ids, strings.Join(probs, "\n"))
	}
	if n := f.requests.Load(); n <= 4 {
		t.Errorf("%d Observation searches for 4 patients: none was asked again", n)
	}
	for i, line := range out.lines {
		var s screening.Screening
		if err := json.Unmarshal(line, &s); err != nil {
			t.Fatal(err)
		}
		if s.Verdict == screening.PotentiallyEligible {
			t.Errorf("%s: potentially eligible without Observations", out.ids[i])
		}
		for _, c := range s.Criteria {
			if c.ID == "neutrophils" && (c.Outcome != screening.Unknown || c.Reason != "source-error") {
				t.Errorf("%s: neutrophils %s/%s, want unknown/source-error", out.ids[i], c.Outcome, c.Reason)
			}
		}
	}
}

func demoBundleList(t *testing.T) [][]byte {
	t.Helper()
	var out [][]byte
	for _, b := range demoBundles(t) {
		out = append(out, b)
	}
	return out
}

func mapsEqual(a, b map[string]screening.Verdict) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
