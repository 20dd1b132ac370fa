package fhirclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/protocols"
	"github.com/trialscreen/trialscreen/screening"

	"github.com/trialscreen/trialscreen/internal/nodetest"
)

// startMedplum runs the Medplum FHIR server of testserver/ on 127.0.0.1 and returns its
// base URL. It skips the test when Node.js or the server's packages are missing (.ci/run
// installs both). With metadata, the server publishes a CapabilityStatement declaring
// batch and code search, so the client uses them; without, it has none.
func startMedplum(t *testing.T, metadata bool) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("Node.js is not installed: the Medplum FHIR server cannot run (.ci/run installs it)")
	}
	if _, err := os.Stat("testserver/node_modules/@medplum/fhir-router"); err != nil {
		t.Skip("the FHIR test server's packages are missing: run npm ci in fhirclient/testserver (.ci/run does)")
	}
	env := []string{"PORT=0"}
	if metadata {
		env = append(env, "METADATA=1")
	}
	return "http://127.0.0.1:" + nodetest.Start(t, node, "testserver", "server.mjs", env, 60*time.Second) + "/fhir/R4"
}

// loadTransaction posts a Bundle as a transaction and returns the new Patient's id.
// Collection bundles become transactions of PUTs, so their ids are kept.
func loadTransaction(t *testing.T, base string, data []byte) string {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	if b["type"] != "transaction" {
		b["type"] = "transaction"
		for _, e := range b["entry"].([]any) {
			r := e.(map[string]any)["resource"].(map[string]any)
			e.(map[string]any)["request"] = map[string]any{"method": "PUT", "url": fmt.Sprintf("%s/%s", r["resourceType"], r["id"])}
		}
	}
	body, _ := json.Marshal(b)
	resp, err := http.Post(base, "application/fhir+json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Entry []struct {
			Response struct{ Status, Location string } `json:"response"`
		} `json:"entry"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("transaction: HTTP %d, %v", resp.StatusCode, err)
	}
	for _, e := range out.Entry {
		if id, ok := strings.CutPrefix(e.Response.Location, "Patient/"); ok {
			id, _, _ = strings.Cut(id, "/")
			return id
		}
	}
	t.Fatal("the transaction created no Patient")
	return ""
}

// TestScreeningThroughARealFHIRServer loads patients into Medplum, fetches each record
// through the client and checks that every criterion comes out as it does when the same
// bundle file is screened directly.
func TestScreeningThroughARealFHIRServer(t *testing.T) {
	t.Run("concurrent searches", func(t *testing.T) { screenThroughMedplum(t, false) })
	t.Run("batch with code search", func(t *testing.T) { screenThroughMedplum(t, true) })
}

// requestCounter is an Observer that counts HTTP requests by resource type.
type requestCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *requestCounter) Request(rt, _ string, _ time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[rt]++
}
func (c *requestCounter) Retry(string)        {}
func (c *requestCounter) BreakerState(string) {}

func (c *requestCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	return n
}

func screenThroughMedplum(t *testing.T, metadata bool) {
	base := startMedplum(t, metadata)
	proto, err := protocols.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	reader, err := fhirbundle.NewReader(proto)
	if err != nil {
		t.Fatal(err)
	}
	counter := &requestCounter{n: map[string]int{}}
	client, err := fhirclient.New(fhirclient.Config{BaseURL: base, PageSize: 50, Observer: counter})
	if err != nil {
		t.Fatal(err)
	}
	defer client.CloseIdleConnections()
	src, err := fhirclient.NewRecordSource(client, proto)
	if err != nil {
		t.Fatal(err)
	}
	type patient struct {
		name string
		data []byte
	}
	var patients []patient
	for _, n := range demo.Names() {
		data, err := demo.Bundle(n)
		if err != nil {
			t.Fatal(err)
		}
		patients = append(patients, patient{"demo " + n, data})
	}
	for _, f := range []string{"01-alberto-atencio.json", "11-liz-conn.json", "17-stephen-mclaughlin.json"} {
		data, err := os.ReadFile(filepath.Join("../../shared/data/synthea", f))
		if err != nil {
			t.Fatal(err)
		}
		patients = append(patients, patient{"synthea " + f, data})
	}
	settings := screening.Settings{AsOf: demo.AsOf()}
	for _, p := range patients {
		t.Run(p.name, func(t *testing.T) {
			id := loadTransaction(t, base, p.data)
			direct, err := reader.ReadBundle(p.data, "")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			counter.take()
			fetched, err := src.Record(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			requests := counter.take()
			switch {
			case metadata && (requests["Bundle"] != 1 || requests["Patient"] != 0):
				t.Errorf("requests %v; want one batch and no separate Patient read", requests)
			case !metadata && requests["Bundle"] != 0:
				t.Errorf("requests %v; want no batch from a server that declares none", requests)
			}
			t.Logf("requests: %v", requests)
			want, got := proto.Evaluate(direct, settings), proto.Evaluate(fetched, settings)
			if got.Verdict != want.Verdict {
				t.Errorf("verdict %s through the server, %s from the file", got.Verdict, want.Verdict)
			}
			for i := range want.Criteria {
				w, g := want.Criteria[i], got.Criteria[i]
				if w.Outcome != g.Outcome || w.Reason != g.Reason {
					t.Errorf("%s: %s/%s through the server (%s), %s/%s from the file (%s)", w.ID, g.Outcome, g.Reason, g.Summary, w.Outcome, w.Reason, w.Summary)
				}
			}
			checkEvidenceVersions(t, got, want)
			for typ, st := range fetched.Sources {
				if st.State != screening.FetchComplete {
					t.Errorf("%s: %s (%s)", typ, st.State, st.Detail)
				}
			}
		})
	}
}

// checkEvidenceVersions: the server versions every resource it stores (meta.versionId,
// meta.lastUpdated), and the screening through it names the version of each resource its
// evidence cites; the same record read from the file, which gives no meta, names none.
func checkEvidenceVersions(t *testing.T, through, file *screening.Screening) {
	t.Helper()
	cited := 0
	for _, c := range through.Criteria {
		for _, e := range c.Evidence {
			if e.Resource == "" {
				continue
			}
			cited++
			if e.VersionID == "" || e.LastUpdated == "" {
				t.Errorf("%s: evidence %s names no version (version %q, last updated %q)", c.ID, e.Resource, e.VersionID, e.LastUpdated)
			}
		}
	}
	if cited == 0 {
		t.Error("no evidence names a resource: nothing shows the versions are kept")
	}
	for _, c := range file.Criteria {
		for _, e := range c.Evidence {
			if e.VersionID != "" || e.LastUpdated != "" {
				t.Errorf("%s: evidence %s from the file names version %q, updated %q; the file gives none", c.ID, e.Resource, e.VersionID, e.LastUpdated)
			}
		}
	}
}

// An unknown patient is an error the caller can tell apart, not an empty record.
func TestUnknownPatientOnARealFHIRServer(t *testing.T) {
	for _, metadata := range []bool{false, true} {
		t.Run(fmt.Sprint("metadata=", metadata), func(t *testing.T) { unknownPatientOnMedplum(t, metadata) })
	}
}

func unknownPatientOnMedplum(t *testing.T, metadata bool) {
	base := startMedplum(t, metadata)
	proto, _ := protocols.LoadDefault()
	client, err := fhirclient.New(fhirclient.Config{BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	defer client.CloseIdleConnections()
	src, _ := fhirclient.NewRecordSource(client, proto)
	_, err = src.Record(context.Background(), "no-such-patient")
	if !errors.Is(err, fhirclient.KindNotFound) || !strings.Contains(err.Error(), "read Patient") {
		t.Fatalf("err = %v, want a not-found error naming the read", err)
	}
}
