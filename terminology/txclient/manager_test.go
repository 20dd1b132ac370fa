package txclient_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/terminology/txclient"
)

// txProtocol means "multiple myeloma and its descendants" by SNOMED CT 109989006 alone:
// only the terminology server can tell it that Kappa light chain myeloma (414553000)
// is one. The LOINC codeset is never sent to the server.
const txProtocol = `protocol: {id: tx-test, version: "0.1.0", title: Terminology test protocol}
statuses:
  observation: [final]
  discounted_verification: [refuted]
  active_clinical: [active]
  resolved_clinical: [resolved]
units:
  cell-count:
    canonical: 10*9/L
    accept:
      - {code: 10*9/L}
codesets:
  anc:
    title: ANC
    codes:
      - {system: loinc, code: 751-8, display: Neutrophils, source: S}
  myeloma:
    title: Multiple myeloma (SNOMED CT 109989006 and its descendants)
    codes:
      - {system: snomed, code: "109989006", display: Multiple myeloma, source: S}
      - {system: snomed, code: "94704006", display: Multiple myeloma in remission, source: U}
criteria:
  - id: neutrophils
    type: inclusion
    text: ANC >= 1x10^9/L
    check: measurement
    obtain: ANC within 14 days
    params: {label: ANC, codes: [anc], window_days: 14, units: cell-count, comparator: ">=", threshold: 1}
  - id: myeloma-history
    type: exclusion
    text: A history of multiple myeloma
    check: findings
    obtain: Diagnoses
    params:
      label: multiple myeloma
      rules:
        - {resource: Condition, codes: [myeloma], outcome: fail}
`

func compileTx(opts screening.Options) (*screening.Protocol, error) {
	return screening.LoadProtocol([]byte(txProtocol), opts)
}

// kappaRecord is a hand-built record: an adult with an active, confirmed Kappa light
// chain myeloma (SNOMED CT 414553000), a descendant of 109989006 the protocol does not
// list.
func kappaRecord() *screening.Record {
	at := func(t time.Time) screening.When { return screening.When{Time: t, Precision: screening.PrecisionDay} }
	complete := screening.SourceStatus{State: screening.FetchComplete}
	return &screening.Record{
		Patient: &screening.Patient{Ref: "Patient/tx-1", ID: "tx-1", BirthDate: at(clock.AddDate(-60, 0, 0)), Gender: "female"},
		Conditions: []screening.Condition{{
			Ref: "Condition/tx-1-kappa", Code: snomed("414553000"), Clinical: "active", Verification: "confirmed",
			Onset: at(clock.AddDate(-2, 0, 0)),
		}},
		Sources: map[string]screening.SourceStatus{
			screening.TypePatient: complete, screening.TypeCondition: complete, screening.TypeObservation: complete,
		},
		Seen: map[string]int{screening.TypePatient: 1, screening.TypeCondition: 1},
	}
}

func outcomeOf(t testing.TB, s *screening.Screening, id string) screening.Result {
	t.Helper()
	for _, r := range s.Criteria {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no criterion %s", id)
	return screening.Result{}
}

// A SNOMED CT descendant the server returns makes the codeset match it: the protocol
// compiled with the client excludes the Kappa light chain myeloma record, the one
// compiled without it does not.
func TestServerDescendantMatches(t *testing.T) {
	srv := newTxServer(t, func(w http.ResponseWriter, r *http.Request, er expandRequest) {
		if slices.Contains(er.Concepts, "109989006") {
			writeFHIR(w, 200, fixture(t, "expansion-nested.json"))
			return
		}
		hierarchyAnswer(w, r, er)
	})
	with, err := compileTx(screening.Options{Terminology: newClient(t, srv.base(), nil)})
	if err != nil {
		t.Fatal(err)
	}
	without, err := compileTx(screening.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := screening.Settings{AsOf: clock}
	if r := outcomeOf(t, with.Evaluate(kappaRecord(), s), "myeloma-history"); r.Outcome != screening.Fail {
		t.Errorf("with the server: %s/%s (%s), want fail", r.Outcome, r.Reason, r.Summary)
	}
	if r := outcomeOf(t, without.Evaluate(kappaRecord(), s), "myeloma-history"); r.Outcome != screening.Pass {
		t.Errorf("without the server: %s/%s (%s), want pass", r.Outcome, r.Reason, r.Summary)
	}
	// One request per verification tag of the codeset's SNOMED CT codes; none for LOINC.
	var asked [][]string
	for _, r := range srv.got() {
		asked = append(asked, r.Concepts)
	}
	if fmt.Sprint(asked) != "[[109989006] [94704006]]" {
		t.Errorf("requests %v, want [[109989006] [94704006]]", asked)
	}
}

type managerRun struct {
	mgr   *txclient.Manager
	reg   *prometheus.Registry
	log   *syncBuffer
	cache string
}

func newManager(t *testing.T, base, cacheDir string) *managerRun {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := txclient.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	log := &syncBuffer{}
	return &managerRun{
		mgr: &txclient.Manager{
			Client:  newClient(t, base, func(c *txclient.Config) { c.RequestTimeout = 2 * time.Second }),
			Cache:   &txclient.Cache{Dir: cacheDir},
			Metrics: m,
			Log:     slog.New(slog.NewJSONHandler(log, nil)),
			Now:     fixedNow,
		},
		reg: reg, log: log, cache: cacheDir,
	}
}

func (mr *managerRun) sourceIs(t *testing.T, want txclient.Source) {
	t.Helper()
	for _, s := range txclient.Sources {
		v := metric(t, mr.reg, txclient.MetricSource, "source", string(s))
		if (s == want) != (v == 1) {
			t.Errorf("%s{source=%q} = %v (want source %s)", txclient.MetricSource, s, v, want)
		}
	}
}

func (mr *managerRun) failuresAre(t *testing.T, want map[txclient.Reason]float64) {
	t.Helper()
	for _, r := range txclient.Reasons {
		if v := metric(t, mr.reg, txclient.MetricFailures, "reason", string(r)); v != want[r] {
			t.Errorf("%s{reason=%q} = %v, want %v", txclient.MetricFailures, r, v, want[r])
		}
	}
}

func screenKappa(t *testing.T, p *screening.Protocol) (screening.Outcome, string) {
	t.Helper()
	s := p.Evaluate(kappaRecord(), screening.Settings{AsOf: clock})
	return outcomeOf(t, s, "myeloma-history").Outcome, s.Settings.Terminology.Expansion
}

// The server answers: the protocol uses its expansion, the settings say so, the disk
// cache holds a file per codeset with the server and the fetched-at time, and the
// metrics say server.
func TestManagerUsesTheServerAndWritesTheCache(t *testing.T) {
	srv := newTxServer(t, hierarchyAnswer)
	mr := newManager(t, srv.base(), filepath.Join(t.TempDir(), "terminology"))
	p, out, err := mr.mgr.Start(context.Background(), compileTx, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantExp := "terminology server " + srv.base() + " at 2026-12-06T08:00:00Z"
	if out.Source != txclient.SourceServer || out.Expansion != wantExp || out.Reason != "" {
		t.Errorf("outcome %+v, want server and %q", out, wantExp)
	}
	if o, exp := screenKappa(t, p); o != screening.Fail || exp != wantExp {
		t.Errorf("screening: %s, settings.terminology.expansion %q", o, exp)
	}
	mr.sourceIs(t, txclient.SourceServer)
	mr.failuresAre(t, nil)
	if v := metric(t, mr.reg, txclient.MetricLastSuccess, "", ""); v != float64(clock.Unix()) {
		t.Errorf("%s = %v, want %v", txclient.MetricLastSuccess, v, clock.Unix())
	}

	// The cache: one file per codeset with SNOMED CT codes (not anc).
	entries, _ := os.ReadDir(mr.cache)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"myeloma.json"}) {
		t.Fatalf("cache files %v, want [myeloma.json]", names)
	}
	var f txclient.CacheFile
	data, _ := os.ReadFile(filepath.Join(mr.cache, "myeloma.json"))
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if f.Codeset != "myeloma" || f.Server != srv.base() || !f.FetchedAt.Equal(clock) || len(f.Expansions) != 2 {
		t.Errorf("cache file %+v", f)
	}
	if got := len(f.Expansions[0].Codes); got != len(hierarchy["109989006"]) {
		t.Errorf("the verified request's expansion has %d codes, want %d", got, len(hierarchy["109989006"]))
	}
	assertNoToken(t, "the cache file", string(data))
	assertNoToken(t, "the log", mr.log.String())
}

// The server fails after an earlier start cached its expansion: the protocol uses the
// cache (the descendant still matches), the settings name the cache, its time and the
// failure, and the failure is counted by reason.
func TestManagerFallsBackToTheCache(t *testing.T) {
	cacheDir := t.TempDir()
	var down atomic.Bool
	srv := newTxServer(t, func(w http.ResponseWriter, r *http.Request, er expandRequest) {
		if down.Load() {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		hierarchyAnswer(w, r, er)
	})
	if _, _, err := newManager(t, srv.base(), cacheDir).mgr.Start(context.Background(), compileTx, nil); err != nil {
		t.Fatal(err)
	}

	down.Store(true)
	mr := newManager(t, srv.base(), cacheDir)
	mr.mgr.Now = func() time.Time { return clock.Add(36 * time.Hour) } // a later start
	p, out, err := mr.mgr.Start(context.Background(), compileTx, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantExp := "disk cache of " + srv.base() + " from 2026-12-06T08:00:00Z (server failed: http-status: HTTP 503)"
	if out.Source != txclient.SourceCache || out.Expansion != wantExp || out.Reason != txclient.ReasonHTTPStatus {
		t.Errorf("outcome %+v, want %q", out, wantExp)
	}
	if o, exp := screenKappa(t, p); o != screening.Fail || exp != wantExp {
		t.Errorf("screening: %s, settings.terminology.expansion %q", o, exp)
	}
	mr.sourceIs(t, txclient.SourceCache)
	mr.failuresAre(t, map[txclient.Reason]float64{txclient.ReasonHTTPStatus: 1})
	if v := metric(t, mr.reg, txclient.MetricLastSuccess, "", ""); v != 0 {
		t.Errorf("%s = %v, want 0 (no success since this start)", txclient.MetricLastSuccess, v)
	}
	log := mr.log.String()
	if !strings.Contains(log, `"reason":"http-status"`) || !strings.Contains(log, `"source":"cache"`) {
		t.Errorf("the log does not say why and what was used instead:\n%s", log)
	}
	assertNoToken(t, "the log", log)
}

// No usable cache: the shipped expansions only, and the settings say why. A cache from
// another server, or one that lacks a request the protocol now makes, is no cache.
func TestManagerFallsBackToShipped(t *testing.T) {
	timeoutAnswer := func(w http.ResponseWriter, r *http.Request, _ expandRequest) { <-r.Context().Done() }
	tests := []struct {
		name   string
		setup  func(t *testing.T, dir, base string)
		answer func(w http.ResponseWriter, r *http.Request, er expandRequest)
		reason txclient.Reason
		detail string
	}{
		{
			name: "cache absent", reason: txclient.ReasonOperationOutcome, detail: "operation-outcome: HTTP 400, OperationOutcome too-costly",
			answer: func(w http.ResponseWriter, _ *http.Request, _ expandRequest) {
				writeFHIR(w, 400, fixture(t, "operationoutcome-too-costly.json"))
			},
		},
		{
			name: "cache of another server", reason: txclient.ReasonMalformed, detail: "malformed: the answer is not JSON",
			setup: func(t *testing.T, dir, _ string) {
				other := newTxServer(t, hierarchyAnswer)
				if _, _, err := newManager(t, other.base(), dir).mgr.Start(context.Background(), compileTx, nil); err != nil {
					t.Fatal(err)
				}
			},
			answer: func(w http.ResponseWriter, _ *http.Request, _ expandRequest) { writeFHIR(w, 200, []byte("<html>")) },
		},
		{
			name: "cache that lacks a request", reason: txclient.ReasonTimeout, detail: "timeout: no full expansion within 300ms",
			setup: func(t *testing.T, dir, base string) {
				// The file names this server but holds no expansion of the codeset's codes.
				data, _ := json.Marshal(txclient.CacheFile{Codeset: "myeloma", Server: base, FetchedAt: clock})
				if err := os.WriteFile(filepath.Join(dir, "myeloma.json"), data, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			answer: timeoutAnswer,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			srv := newTxServer(t, tt.answer)
			if tt.setup != nil {
				tt.setup(t, dir, srv.base())
			}
			mr := newManager(t, srv.base(), dir)
			mr.mgr.StartupBudget = 300 * time.Millisecond
			p, out, err := mr.mgr.Start(context.Background(), compileTx, nil)
			if err != nil {
				t.Fatal(err)
			}
			wantExp := "shipped (server failed: " + tt.detail + ")"
			if out.Source != txclient.SourceShipped || out.Expansion != wantExp || out.Reason != tt.reason {
				t.Errorf("outcome %+v, want %q", out, wantExp)
			}
			if o, exp := screenKappa(t, p); o != screening.Pass || exp != wantExp {
				t.Errorf("screening: %s (the descendant must not match), settings.terminology.expansion %q", o, exp)
			}
			mr.sourceIs(t, txclient.SourceShipped)
			mr.failuresAre(t, map[txclient.Reason]float64{tt.reason: 1})
			assertNoToken(t, "the log", mr.log.String())
		})
	}
}

// A refresh that succeeds replaces the cache and, when its codes differ from the running
// protocol's, says a restart would apply them; one that fails keeps the cache and is
// counted. Run refreshes on each tick.
func TestManagerRefresh(t *testing.T) {
	var mode atomic.Int32 // 0 down, 1 up, 2 up with one more descendant
	srv := newTxServer(t, func(w http.ResponseWriter, r *http.Request, er expandRequest) {
		switch mode.Load() {
		case 0:
			http.Error(w, "down", http.StatusBadGateway)
		case 1:
			hierarchyAnswer(w, r, er)
		default:
			all := append(slices.Clone(hierarchy[er.Concepts[0]]), "452291000124109")
			writeFHIR(w, 200, page(all, er.Offset, er.Count))
		}
	})
	mr := newManager(t, srv.base(), t.TempDir())
	if _, out, err := mr.mgr.Start(context.Background(), compileTx, nil); err != nil || out.Source != txclient.SourceShipped {
		t.Fatalf("start: %+v %v", out, err)
	}
	if err := mr.mgr.Refresh(context.Background()); txclient.ReasonOf(err) != txclient.ReasonHTTPStatus {
		t.Errorf("refresh while down: %v", err)
	}
	mr.failuresAre(t, map[txclient.Reason]float64{txclient.ReasonHTTPStatus: 2})
	if _, err := os.Stat(filepath.Join(mr.cache, "myeloma.json")); err == nil {
		t.Error("a failed refresh wrote the cache")
	}

	mode.Store(1)
	later := clock.Add(24 * time.Hour)
	mr.mgr.Now = func() time.Time { return later }
	if err := mr.mgr.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v := metric(t, mr.reg, txclient.MetricLastSuccess, "", ""); v != float64(later.Unix()) {
		t.Errorf("%s = %v", txclient.MetricLastSuccess, v)
	}
	if v := metric(t, mr.reg, txclient.MetricRestartPending, "", ""); v != 1 {
		t.Errorf("%s = %v, want 1 (the running protocol has the shipped expansions only)", txclient.MetricRestartPending, v)
	}
	mr.sourceIs(t, txclient.SourceShipped) // the running protocol is unchanged

	// The next start reads what the refresh cached, even with the server down again.
	mode.Store(0)
	next := newManager(t, srv.base(), mr.cache)
	p, out, err := next.mgr.Start(context.Background(), compileTx, nil)
	if err != nil || out.Source != txclient.SourceCache || !strings.Contains(out.Expansion, "from 2026-12-07T08:00:00Z") {
		t.Fatalf("next start: %+v %v", out, err)
	}
	if o, _ := screenKappa(t, p); o != screening.Fail {
		t.Errorf("the next start does not match the descendant: %s", o)
	}

	// Run: a tick refreshes; the server now has one more descendant than the cache.
	mode.Store(2)
	before := len(srv.got())
	ctx, cancel := context.WithCancel(context.Background())
	tick := make(chan time.Time)
	done := make(chan struct{})
	go func() { next.mgr.Run(ctx, tick); close(done) }()
	tick <- clock // taken by Run: the refresh runs before the next tick is taken
	tick <- clock
	cancel()
	<-done
	if n := len(srv.got()) - before; n < 2 {
		t.Errorf("Run made %d requests on two ticks", n)
	}
	if v := metric(t, next.reg, txclient.MetricRestartPending, "", ""); v != 1 {
		t.Errorf("%s = %v after the server's expansion changed", txclient.MetricRestartPending, v)
	}
	var f txclient.CacheFile
	data, _ := os.ReadFile(filepath.Join(mr.cache, "myeloma.json"))
	_ = json.Unmarshal(data, &f)
	if !strings.Contains(string(data), "452291000124109") {
		t.Errorf("the refreshed cache lacks the new descendant: %+v", f)
	}
}

// A refresh that brings the same codes as the running protocol's is no restart.
func TestManagerRefreshUnchanged(t *testing.T) {
	srv := newTxServer(t, hierarchyAnswer)
	mr := newManager(t, srv.base(), t.TempDir())
	if _, _, err := mr.mgr.Start(context.Background(), compileTx, nil); err != nil {
		t.Fatal(err)
	}
	if err := mr.mgr.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v := metric(t, mr.reg, txclient.MetricRestartPending, "", ""); v != 0 {
		t.Errorf("%s = %v, want 0", txclient.MetricRestartPending, v)
	}
}

// A codeset name that is not a plain file name stays inside the cache directory.
func TestCacheNamesStayInside(t *testing.T) {
	dir := t.TempDir()
	srv := newTxServer(t, hierarchyAnswer)
	y := strings.Replace(txProtocol, "  myeloma:\n", "  ../myeloma:\n", 1)
	y = strings.Replace(y, "codes: [myeloma]", "codes: [../myeloma]", 1)
	compile := func(opts screening.Options) (*screening.Protocol, error) {
		return screening.LoadProtocol([]byte(y), opts)
	}
	mr := newManager(t, srv.base(), filepath.Join(dir, "cache"))
	if _, out, err := mr.mgr.Start(context.Background(), compile, nil); err != nil || out.Source != txclient.SourceServer {
		t.Fatalf("%+v %v", out, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "cache" {
		t.Errorf("files beside the cache directory: %v", entries)
	}
	files, _ := os.ReadDir(filepath.Join(dir, "cache"))
	if len(files) != 1 || !strings.HasPrefix(files[0].Name(), "codeset-") {
		t.Errorf("cache files %v", files)
	}
}

// A start that fell back tries the server again as soon as Run starts, not a refresh
// interval later: the next start then finds the cache.
func TestManagerRunRetriesAtOnceAfterAFallback(t *testing.T) {
	var up atomic.Bool
	srv := newTxServer(t, func(w http.ResponseWriter, r *http.Request, er expandRequest) {
		if !up.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		hierarchyAnswer(w, r, er)
	})
	mr := newManager(t, srv.base(), t.TempDir())
	if _, out, err := mr.mgr.Start(context.Background(), compileTx, nil); err != nil || out.Source != txclient.SourceShipped {
		t.Fatalf("start: %+v %v", out, err)
	}
	up.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	tick := make(chan time.Time)
	done := make(chan struct{})
	go func() { mr.mgr.Run(ctx, tick); close(done) }()
	tick <- clock // taken only after the first refresh
	cancel()
	<-done
	if _, err := os.Stat(filepath.Join(mr.cache, "myeloma.json")); err != nil {
		t.Errorf("no cache after Run's first refresh: %v", err)
	}
	if v := metric(t, mr.reg, txclient.MetricRestartPending, "", ""); v != 1 {
		t.Errorf("%s = %v, want 1", txclient.MetricRestartPending, v)
	}
}
