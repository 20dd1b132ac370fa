package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestBatchByIDsNeverLogsServerText: a FHIR server whose OperationOutcome names the
// patient fails every fetch of a CLI batch by ids; its words reach neither stderr (the
// run's log) nor any file of the output directory. Ids that are not FHIR ids ("." and
// "..", which would be GET [base]/Patient and GET [base]) are reported by line and
// never requested.
func TestBatchByIDsNeverLogsServerText(t *testing.T) {
	const text = "Patient Jane Q. Doe (MRN 99887766, born 1964-05-02) is locked"
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, strings.SplitN(r.RequestURI, "?", 2)[0])
		mu.Unlock()
		w.Header().Set("Content-Type", "application/fhir+json")
		w.WriteHeader(http.StatusForbidden) // not transient: the batch does not wait it out
		_, _ = w.Write([]byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","diagnostics":"` + text + `","details":{"text":"` + text + `"}}]}`))
	}))
	defer srv.Close()
	ids := writeFile(t, "ids.txt", "p-1\n.\nPatient/..\np-2\n")
	out := t.TempDir()
	code, _, stderr := runCLIEnv(t, map[string]string{envFHIRURL: srv.URL + "/fhir"}, append([]string{"batch", "--out", out, "--ids", ids}, asOfFlag...)...)
	if code == exitUsage {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	logs := stderr
	_ = filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			logs += "\n== " + p + "\n" + string(b)
		}
		return nil
	})
	for _, leak := range []string{"Jane", "99887766", "1964-05-02"} {
		if strings.Contains(logs, leak) {
			t.Errorf("the batch's log or output holds the server's text (%q):\n%s", leak, logs)
		}
	}
	if !strings.Contains(logs, "not authorized (HTTP 403)") {
		t.Errorf("the failure's class and status are not reported:\n%s", logs)
	}
	if !strings.Contains(logs, "line 2: not a patient id") || !strings.Contains(logs, "line 3: not a patient id") {
		t.Errorf(". and Patient/.. are not reported as not ids:\n%s", logs)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range paths {
		if p != "/fhir/metadata" && p != "/fhir/Patient/p-1" && p != "/fhir/Patient/p-2" && !strings.HasPrefix(p, "/fhir/") || p == "/fhir/" || p == "/fhir/Patient" {
			t.Errorf("a request went to %s", p)
		}
	}
}
