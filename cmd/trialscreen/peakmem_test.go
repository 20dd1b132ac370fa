//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/internal/bigrecord"
	"github.com/trialscreen/trialscreen/internal/fhirstub"
	"gopkg.in/yaml.v3"
)

// peakMargin is what the peak must stay below the pod's memory limit by: the kernel
// counts the page cache and what the runtime has not yet returned, too.
const peakMargin = 64 << 20

// podMemory is the Deployment's memory limit and the GOMEMLIMIT it runs the binary with
// (deploy/kubernetes/deployment.yaml), so that the test measures what is shipped.
func podMemory(t *testing.T) (limit int64, gomemlimit string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "kubernetes", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Env []struct {
							Name, Value string
						}
						Resources struct {
							Limits struct{ Memory string }
						}
					}
				}
			}
		}
	}
	if err := yaml.Unmarshal(data, &d); err != nil || len(d.Spec.Template.Spec.Containers) == 0 {
		t.Fatalf("deployment.yaml: %v", err)
	}
	c := d.Spec.Template.Spec.Containers[0]
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" {
			gomemlimit = e.Value
		}
	}
	mem := c.Resources.Limits.Memory
	n, err := strconv.ParseInt(strings.TrimRight(mem, "GMi"), 10, 64)
	switch {
	case err != nil || gomemlimit == "":
		t.Fatalf("deployment.yaml: limits.memory %q, GOMEMLIMIT %q", mem, gomemlimit)
	case strings.HasSuffix(mem, "Gi"):
		limit = n << 30
	case strings.HasSuffix(mem, "Mi"):
		limit = n << 20
	default:
		t.Fatalf("deployment.yaml: limits.memory %q is not in Mi or Gi", mem)
	}
	return limit, gomemlimit
}

// TestPeakMemoryOfTheWorstRequests runs the shipped binary as the Deployment runs it
// (GOMEMLIMIT, authenticated REST, CDS Hooks, a FHIR server) and sends it, four at a
// time, the requests that used to kill a pod: Bundles and a CDS prefetch padded with
// empty entries up to the body limit, a Bundle of one-line unreadable entries up to the
// entry cap, a FHIR search page padded with empty entries; then four real records as
// large as the body limit takes. Each gets a clear answer (a verdict, 413 or 503), the
// process's peak resident memory stays under the pod's limit with a margin, and it
// still screens a patient afterwards.
func TestPeakMemoryOfTheWorstRequests(t *testing.T) {
	podMemoryLimit, gomemlimit := podMemory(t)
	bin := buildServeBinary(t)
	fhir := httptest.NewServer(paddedFHIR(t))
	t.Cleanup(fhir.Close)
	key := newEHRKey(t)
	const apiToken = "peak-memory-test-token-0001"
	c := startChild(t, bin, map[string]string{
		"GOMEMLIMIT":                  gomemlimit,
		envFHIRURL:                    fhir.URL + "/fhir",
		envAPITokensFile:              writeFile(t, "tokens", "peak "+apiToken+"\n"),
		envCDSConfig:                  key.cdsConfigFile(t),
		envPublicURL:                  peakPublicURL,
		"TRIALSCREEN_METRICS_LISTEN":  "127.0.0.1:0", // not the default :9090 on every interface
		envAuditLog:                   filepath.Join(t.TempDir(), "audit.log"),
		envDataDir:                    t.TempDir(),
		"TMPDIR":                      t.TempDir(),
		"TRIALSCREEN_REQUEST_TIMEOUT": "20s",
	})
	bodyLimit := loggedLimit(t, c, "max_body_bytes", 16<<20)
	entryCap := loggedLimit(t, c, "max_bundle_entries", fhirbundle.DefaultMaxEntries)
	auth := []string{"Authorization", "Bearer " + apiToken}
	now := c.serverNow(t)

	candidate, err := demo.Bundle("candidate")
	if err != nil {
		t.Fatal(err)
	}
	restBody := func(bundle []byte) []byte { return []byte(`{"bundle": ` + string(bundle) + `}`) }
	padded, err := bigrecord.PadTo(candidate, "{}", int(bodyLimit)-64)
	if err != nil {
		t.Fatal(err)
	}
	unreadable, err := bigrecord.Pad(candidate, `{"resource":1}`, int(entryCap)-21) // at the cap
	if err != nil {
		t.Fatal(err)
	}
	prefetch := paddedPrefetch(t, candidate, int(bodyLimit)-64)

	type call struct {
		name string
		send func() (int, string, error)
		want []int
	}
	// clear is an answer that says what happened: a verdict, or a problem naming the cap
	// or the busy budget.
	clear := map[int]string{200: `"verdict"`, 413: "one patient's record may hold", 503: "the service is busy"}
	round := func(calls []call) (answers map[string]string) {
		t.Helper()
		var wg sync.WaitGroup
		var mu sync.Mutex
		answers = map[string]string{}
		for _, cl := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				status, body, err := cl.send()
				t.Logf("%s: %d in %s: %.160s", cl.name, status, time.Since(start).Round(time.Millisecond), body)
				if err != nil || !slices.Contains(cl.want, status) || !strings.Contains(body, clear[status]) {
					t.Errorf("%s: status %d (%v), want one of %v saying what happened: %.300s", cl.name, status, err, cl.want, body)
				}
				mu.Lock()
				answers[cl.name] = fmt.Sprint(status, " ", body)
				mu.Unlock()
			}()
		}
		wg.Wait()
		return answers
	}
	answers := round([]call{
		{"REST Bundle of empty entries at the body limit", func() (int, string, error) { return c.post("/v1/screenings", restBody(padded), auth...) }, []int{413, 503}},
		{"REST Bundle of unreadable entries at the entry cap", func() (int, string, error) { return c.post("/v1/screenings", restBody(unreadable), auth...) }, []int{200, 503}},
		{"CDS prefetch of empty entries at the body limit", func() (int, string, error) {
			return c.post(cdsPath, prefetch, "Authorization", "Bearer "+key.token(t, now, 1))
		}, []int{413, 503}},
		{"FHIR search page of empty entries", func() (int, string, error) {
			req, _ := http.NewRequest(http.MethodGet, c.base+"/v1/patients/padded/screening", nil)
			req.Header.Set(auth[0], auth[1])
			return c.do(req)
		}, []int{200}},
	})
	// The padded page fails its search (its criteria unknown), naming the cap.
	if a := answers["FHIR search page of empty entries"]; !strings.Contains(a, fmt.Sprintf("more than the %d one patient's record may hold (MaxEntries)", entryCap)) {
		t.Errorf("the padded FHIR page's search does not fail naming the cap: %.600s", a)
	}
	afterAttacks := c.peakRSS(t)

	large := largestRealRecord(t, int(bodyLimit)-64)
	var calls []call
	for i := range 4 {
		calls = append(calls, call{fmt.Sprintf("real record %d (%.1f MB)", i+1, float64(len(large))/1e6),
			func() (int, string, error) { return c.post("/v1/screenings", restBody(large), auth...) }, []int{200, 503}})
	}
	screened := 0
	for _, a := range round(calls) {
		if strings.HasPrefix(a, "200 ") {
			screened++
		}
	}
	if screened == 0 {
		t.Error("none of the four real records at the body limit was screened")
	}
	peak := c.peakRSS(t)
	t.Logf("peak resident memory: %.0f MiB after the padded requests, %.0f MiB after the real records (the pod's limit: %d MiB)",
		float64(afterAttacks)/(1<<20), float64(peak)/(1<<20), podMemoryLimit>>20)

	if !c.alive() {
		t.Fatalf("serve died:\n%s", c.logs.String())
	}
	if peak > podMemoryLimit-peakMargin {
		t.Errorf("peak resident memory %d MiB; the pod's limit is %d MiB and the peak must stay %d MiB below it", peak>>20, podMemoryLimit>>20, peakMargin>>20)
	}
	req, _ := http.NewRequest(http.MethodGet, c.base+"/v1/patients/demo-candidate/screening", nil)
	req.Header.Set(auth[0], auth[1])
	if status, head, err := c.do(req); err != nil || status != 200 || !strings.Contains(head, `"verdict"`) {
		t.Errorf("a screening after the storm: %d %v %.200s", status, err, head)
	}
	c.stop(t)
}

// loggedLimit reads one of the limits serve logs at start-up. A build given in
// TRIALSCREEN_PEAKMEM_BINARY that logs none (one from before them) gets def.
func loggedLimit(t *testing.T, c *child, name string, def int64) int64 {
	t.Helper()
	for _, line := range strings.Split(c.logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "memory limits" {
			if v, ok := m[name].(float64); ok {
				return int64(v)
			}
		}
	}
	if os.Getenv("TRIALSCREEN_PEAKMEM_BINARY") != "" {
		return def
	}
	t.Fatalf("serve logged no %s:\n%s", name, c.logs.String())
	return 0
}

// paddedFHIR is a FHIR server with the demo patients and one more, "padded", whose
// Observation search answers one page padded with empty entries to 15 MB.
func paddedFHIR(t *testing.T) http.Handler {
	t.Helper()
	bundles, err := fhirstub.DemoBundles()
	if err != nil {
		t.Fatal(err)
	}
	stub, err := fhirstub.New(0, bundles...)
	if err != nil {
		t.Fatal(err)
	}
	page := []byte(`{"resourceType":"Bundle","type":"searchset","entry":[` + strings.TrimSuffix(strings.Repeat("{},", 5_000_000), ",") + `]}`)
	empty := []byte(`{"resourceType":"Bundle","type":"searchset","total":0}`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("patient") != "Patient/padded" && r.URL.Path != "/fhir/Patient/padded" {
			stub.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		switch {
		case r.URL.Path == "/fhir/Patient/padded":
			_, _ = w.Write([]byte(`{"resourceType":"Patient","id":"padded","gender":"female","birthDate":"1964-05-02"}`))
		case strings.HasSuffix(r.URL.Path, "/Observation"):
			_, _ = w.Write(page)
		default:
			_, _ = w.Write(empty)
		}
	})
}

// paddedPrefetch is a CDS Hooks call for the candidate with every prefetch key, its
// Observation searchset padded with empty entries to a body of size bytes.
func paddedPrefetch(t *testing.T, candidate []byte, size int) []byte {
	t.Helper()
	b, err := fhirbundle.SplitBundle(candidate)
	if err != nil {
		t.Fatal(err)
	}
	byType := map[string][]any{}
	var patient json.RawMessage
	for _, e := range b.Entries {
		var h struct{ ResourceType string }
		_ = json.Unmarshal(e.Resource, &h)
		if h.ResourceType == "Patient" {
			patient = e.Resource
			continue
		}
		byType[h.ResourceType] = append(byType[h.ResourceType], map[string]any{"resource": e.Resource, "search": map[string]string{"mode": "match"}})
	}
	pf := map[string]any{"patient": patient}
	for _, typ := range fhirbundle.RecordTypes[1:] {
		pf[typ] = map[string]any{"resourceType": "Bundle", "type": "searchset", "entry": append([]any{}, byType[typ]...)}
	}
	call := func(obs json.RawMessage) []byte {
		pf["Observation"] = obs
		out, err := json.Marshal(map[string]any{
			"hook": "patient-view", "hookInstance": "0f1e2d3c-4b5a-4697-8877-665544332211",
			"context": map[string]any{"patientId": "demo-candidate"}, "prefetch": pf,
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	obs, _ := json.Marshal(pf["Observation"])
	rest := size - len(call(obs))
	grown, err := bigrecord.PadTo(obs, "{}", len(obs)+rest)
	if err != nil {
		t.Fatal(err)
	}
	return call(grown)
}

// largestRealRecord is a real record (a Synthea patient's) grown with copies of its
// Observations to size bytes: a record of many years looks like that.
func largestRealRecord(t *testing.T, size int) []byte {
	t.Helper()
	base, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "data", "synthea", "13-malcolm-dach.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := bigrecord.Grow(base, func(rt string) bool { return rt == "Observation" }, 1<<30, size-len(`{"bundle": }`))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
