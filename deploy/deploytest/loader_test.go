package deploytest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeFHIR records the transactions the loader posts and answers each entry 201, or
// the whole Bundle with failStatus.
type fakeFHIR struct {
	mu         sync.Mutex
	bundles    []map[string]any
	failStatus int
}

func (f *fakeFHIR) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/fhir/metadata":
		w.Write([]byte(`{"resourceType":"CapabilityStatement"}`))
	case r.Method == http.MethodPost && r.URL.Path == "/fhir":
		var b map[string]any
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &b); err != nil {
			http.Error(w, "not JSON", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.bundles = append(f.bundles, b)
		f.mu.Unlock()
		if f.failStatus != 0 {
			http.Error(w, `{"resourceType":"OperationOutcome"}`, f.failStatus)
			return
		}
		var entries []any
		for range list(b, "entry") {
			entries = append(entries, map[string]any{"response": map[string]any{"status": "201 Created"}})
		}
		json.NewEncoder(w).Encode(map[string]any{"resourceType": "Bundle", "type": "transaction-response", "entry": entries})
	default:
		http.NotFound(w, r)
	}
}

// runLoader runs deploy/compose/load_demo_patients.py against base; it skips where
// there is no python3 (the compose demo runs it in a python image).
func runLoader(t *testing.T, base string, extra ...string) (string, error) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the demo loader is not run here")
	}
	args := append([]string{filepath.Join(composeDir(t), "load_demo_patients.py"), "--fhir", base, "--dir", filepath.Join(deployDir(t), "..", "demo", "patients"), "--poll", "0.05"}, extra...)
	out, err := exec.Command(py, args...).CombinedOutput()
	return string(out), err
}

// TestLoaderSendsTransactionsOfPuts: every demo Bundle reaches the FHIR server as a
// transaction that PUTs each of its resources at Type/id, with no relative fullUrl.
func TestLoaderSendsTransactionsOfPuts(t *testing.T) {
	fake := &fakeFHIR{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	out, err := runLoader(t, srv.URL+"/fhir")
	if err != nil {
		t.Fatalf("loader failed: %v\n%s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(deployDir(t), "..", "demo", "patients", "*.json"))
	if len(fake.bundles) != len(files) || len(files) == 0 {
		t.Fatalf("%d Bundles posted for %d files", len(fake.bundles), len(files))
	}
	want := map[string]int{} // resources per patient, from the files
	for _, f := range files {
		var b map[string]any
		if err := json.Unmarshal(readFile(t, f), &b); err != nil {
			t.Fatal(err)
		}
		want[str(b, "entry", "0", "resource", "id")] = len(list(b, "entry"))
	}
	for _, b := range fake.bundles {
		patient := str(b, "entry", "0", "resource", "id")
		if str(b, "type") != "transaction" {
			t.Errorf("%s: a %q Bundle, want transaction", patient, str(b, "type"))
		}
		if n := len(list(b, "entry")); n != want[patient] {
			t.Errorf("%s: %d entries, the file has %d", patient, n, want[patient])
		}
		for i, e := range list(b, "entry") {
			url := str(e, "resource", "resourceType") + "/" + str(e, "resource", "id")
			if str(e, "request", "method") != "PUT" || str(e, "request", "url") != url {
				t.Errorf("%s entry %d: request %v, want PUT %s", patient, i, get(e, "request"), url)
			}
			if full := str(e, "fullUrl"); full != "" && !strings.HasPrefix(full, "urn:") && !strings.HasPrefix(full, "http") {
				t.Errorf("%s entry %d: relative fullUrl %q in a transaction", patient, i, full)
			}
		}
	}
	if !strings.Contains(out, "candidate.json: 21 resources") {
		t.Errorf("the loader's output does not report what it loaded:\n%s", out)
	}
}

func TestLoaderFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.Handler
		want    string
	}{
		{"server refuses the Bundles", &fakeFHIR{failStatus: http.StatusUnprocessableEntity}, "HTTP 422"},
		{"server never answers metadata", http.NotFoundHandler(), "/metadata did not answer within 0 s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			out, err := runLoader(t, srv.URL+"/fhir", "--wait", "0")
			if err == nil {
				t.Fatalf("the loader succeeded:\n%s", out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output %q does not say %q", out, tc.want)
			}
		})
	}
}
