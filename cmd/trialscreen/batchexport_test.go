package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/fhirbundle"
)

// bulkServer is a FHIR Bulk Data server over the demo patients: kick-off, one "still
// running" poll, then a manifest of one NDJSON file per resource type.
type bulkServer struct {
	*httptest.Server
	mu       sync.Mutex
	kickoff  string // the kick-off query
	polls    int
	errFile  bool // the manifest lists an error file
	deletes  int
	byType   map[string][]string
	sawToken bool
}

func newBulkServer(t *testing.T) *bulkServer {
	b := &bulkServer{byType: map[string][]string{}}
	for _, n := range demo.Names() {
		data, _ := demo.Bundle(n)
		bundle, err := fhirbundle.SplitBundle(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range bundle.Entries {
			var h struct{ ResourceType string }
			_ = json.Unmarshal(e.Resource, &h)
			var compact bytes.Buffer
			_ = json.Compact(&compact, e.Resource)
			b.byType[h.ResourceType] = append(b.byType[h.ResourceType], compact.String())
		}
	}
	b.Server = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.Close)
	return b
}

func (b *bulkServer) serve(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sawToken = b.sawToken || r.Header.Get("Authorization") == "Bearer export-token"
	switch {
	case strings.HasSuffix(r.URL.Path, "/$export"):
		b.kickoff = r.URL.RawQuery
		w.Header().Set("Content-Location", b.URL+"/fhir/status/1")
		w.WriteHeader(http.StatusAccepted)
	case r.URL.Path == "/fhir/status/1" && r.Method == http.MethodDelete:
		b.deletes++
		w.WriteHeader(http.StatusAccepted)
	case r.URL.Path == "/fhir/status/1":
		b.polls++
		if b.polls == 1 {
			w.Header().Set("Retry-After", "0")
			w.Header().Set("X-Progress", "50% done, now at Jane Q. Doe")
			w.WriteHeader(http.StatusAccepted)
			return
		}
		var out, errs []map[string]any
		for typ := range b.byType {
			out = append(out, map[string]any{"type": typ, "url": b.URL + "/fhir/files/" + typ})
		}
		if b.errFile {
			errs = append(errs, map[string]any{"type": "OperationOutcome", "url": b.URL + "/fhir/files/errors"})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"transactionTime": "2026-11-20T12:00:00Z", "request": "x", "requiresAccessToken": true, "output": out, "error": errs})
	case r.URL.Path == "/fhir/files/errors":
		w.Header().Set("Content-Type", "application/fhir+ndjson")
		fmt.Fprintln(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception","diagnostics":"Observation export failed"}]}`)
	case strings.HasPrefix(r.URL.Path, "/fhir/files/"):
		w.Header().Set("Content-Type", "application/fhir+ndjson")
		for _, line := range b.byType[strings.TrimPrefix(r.URL.Path, "/fhir/files/")] {
			fmt.Fprintln(w, line)
		}
	default:
		http.NotFound(w, r)
	}
}

// TestBatchFromBulkExport: a Group export of the demo patients, limited by _type and
// _typeFilter to what the protocol reads, screens like `screen --demo`.
func TestBatchFromBulkExport(t *testing.T) {
	srv := newBulkServer(t)
	out := t.TempDir()
	env := map[string]string{envFHIRURL: srv.URL + "/fhir", envFHIRToken: "export-token"}
	code, _, stderr := runCLIEnv(t, env, append([]string{"batch", "--out", out, "--export", "Group/oncology-1"}, asOfFlag...)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	checkDocs(t, readFile(t, filepath.Join(out, "results.ndjson")), demoScreenings(t))
	for _, want := range []string{"_type=Patient%2CMedication%2C", "_outputFormat=application%2Ffhir%2Bndjson"} {
		if !strings.Contains(srv.kickoff, want) {
			t.Errorf("the kick-off %q lacks %s", srv.kickoff, want)
		}
	}
	// No filter by code: a record whose code cannot be placed must be exported to be judged.
	if strings.Contains(srv.kickoff, "_typeFilter") {
		t.Errorf("the kick-off %q filters by code", srv.kickoff)
	}
	if !srv.sawToken || srv.deletes != 1 {
		t.Errorf("token sent %v, deletes %d; want the token and one DELETE of the finished job", srv.sawToken, srv.deletes)
	}
	if !strings.Contains(stderr, "export running (50% done)") || !strings.Contains(stderr, "export downloaded") {
		t.Errorf("stderr does not follow the export:\n%s", stderr)
	}
	if strings.Contains(stderr, "Jane") {
		t.Errorf("stderr holds the server's progress text beyond its percentage:\n%s", stderr)
	}
	// A resumed run screens the export it already has.
	polls := srv.polls
	if code, _, stderr := runCLIEnv(t, env, "batch", "--out", out, "--export", "Group/oncology-1", "--resume"); code != exitOK || srv.polls != polls {
		t.Errorf("resume: exit %d, %d more polls; want 0 and none:\n%s", code, srv.polls-polls, stderr)
	}
}

// An export whose server reports errors may be incomplete: it is not screened.
func TestBatchRefusesAnExportWithErrors(t *testing.T) {
	srv := newBulkServer(t)
	srv.errFile = true
	env := map[string]string{envFHIRURL: srv.URL + "/fhir"}
	code, _, stderr := runCLIEnv(t, env, "batch", "--out", t.TempDir(), "--export", "system")
	if code != exitError || !strings.Contains(stderr, "the server reported 1 problem(s) exporting the data") {
		t.Errorf("exit %d, stderr %s; want 1 and the refusal", code, stderr)
	}
}
