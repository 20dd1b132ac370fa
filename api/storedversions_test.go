package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/internal/fhirstub"
)

// withVersions gives every resource of a Bundle meta.versionId and meta.lastUpdated, as
// a FHIR server that versions its resources does (meta's other members are kept).
func withVersions(t *testing.T, bundle, version, updated string) string {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal([]byte(bundle), &b); err != nil {
		t.Fatal(err)
	}
	for _, e := range b["entry"].([]any) {
		res := e.(map[string]any)["resource"].(map[string]any)
		meta, _ := res["meta"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
		}
		meta["versionId"], meta["lastUpdated"] = version, updated
		res["meta"] = meta
	}
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// A screening stores, for each evidence resource, the meta.versionId and
// meta.lastUpdated its record gave (read back with the store's Get), and none for a
// record without meta; a later screening over an amended record (new versions, same
// outcomes) says in its report which criteria's deciding records changed.
func TestStoredEvidenceVersions(t *testing.T) {
	st := openStore(t, "")
	env := newRESTEnv(t, withStore(st))
	screen := func(t *testing.T, bundle string) string {
		t.Helper()
		rec := env.postJSON(t, `{"bundle": `+bundle+`}`)
		d := docOf(t, rec.Body.Bytes())
		if rec.Code != http.StatusOK || d.ScreeningID == "" {
			t.Fatalf("screening: %d %.300s", rec.Code, rec.Body)
		}
		return d.ScreeningID
	}
	plain := demoBundle(t, "candidate")
	t.Run("no meta, no versions", func(t *testing.T) {
		sc, err := st.Get(context.Background(), screen(t, plain))
		if err != nil || len(sc.Evidence) == 0 {
			t.Fatalf("Get: %v, %d evidence references", err, len(sc.Evidence))
		}
		for _, e := range sc.Evidence {
			if e.VersionID != "" || e.LastUpdated != "" {
				t.Errorf("%s stored with version %q, updated %q; the record gave none", e.Resource, e.VersionID, e.LastUpdated)
			}
		}
	})
	first := screen(t, withVersions(t, plain, "1", "2026-11-01T08:00:00Z"))
	t.Run("versions stored", func(t *testing.T) {
		sc, err := st.Get(context.Background(), first)
		if err != nil || len(sc.Evidence) == 0 {
			t.Fatalf("Get: %v, %d evidence references", err, len(sc.Evidence))
		}
		for _, e := range sc.Evidence {
			if e.VersionID != "1" || e.LastUpdated != "2026-11-01T08:00:00Z" {
				t.Errorf("%s stored with version %q, updated %q; want 1, 2026-11-01T08:00:00Z", e.Resource, e.VersionID, e.LastUpdated)
			}
		}
		if !bytes.Contains(sc.Document, []byte(`"version_id":"1"`)) {
			t.Errorf("the verdict document's evidence does not name the versions: %.300s", sc.Document)
		}
	})
	t.Run("the report names the amended records", func(t *testing.T) {
		second := screen(t, withVersions(t, plain, "2", "2026-11-20T08:00:00Z"))
		rr := env.do(t, http.MethodGet, "/v1/screenings/"+second, nil, "Accept", "text/html")
		doc, err := html.Parse(bytes.NewReader(rr.Body.Bytes()))
		if rr.Code != http.StatusOK || err != nil {
			t.Fatalf("report: %d %v", rr.Code, err)
		}
		text := nodeText(nodeWhere(t, doc, func(n *html.Node) bool { return nodeAttr(n, "id") == "changes" }))
		for _, want := range []string{"Same verdict", "No criterion changed outcome", "deciding records were updated", "version 1 → 2"} {
			if !strings.Contains(text, want) {
				t.Errorf("the changes section does not say %q:\n%s", want, text)
			}
		}
	})
}

// A REST screening of a patient read from a FHIR server that versions its resources
// (the stub serving the demo records with meta, as Medplum or HAPI give them) stores
// each evidence resource's version, read back with the store's Get.
func TestStoredEvidenceVersionsFromAFHIRServer(t *testing.T) {
	var bundles [][]byte
	for _, name := range demo.Names() {
		bundles = append(bundles, []byte(withVersions(t, demoBundle(t, name), "7", "2026-11-02T09:30:00Z")))
	}
	stub, err := fhirstub.New(0, bundles...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	st := openStore(t, "")
	fromServer := newFHIRRecordSource(t, srv.URL+"/fhir", 1)
	env := newRESTEnv(t, func(c *Config) { fromServer(c); withStore(st)(c) })
	rec := env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil)
	d := docOf(t, rec.Body.Bytes())
	if rec.Code != http.StatusOK || d.ScreeningID == "" {
		t.Fatalf("screening: %d %.300s", rec.Code, rec.Body)
	}
	sc, err := st.Get(context.Background(), d.ScreeningID)
	if err != nil || len(sc.Evidence) == 0 {
		t.Fatalf("Get: %v, %d evidence references", err, len(sc.Evidence))
	}
	for _, e := range sc.Evidence {
		if e.VersionID != "7" || e.LastUpdated != "2026-11-02T09:30:00Z" {
			t.Errorf("%s stored with version %q, updated %q; want the server's 7, 2026-11-02T09:30:00Z", e.Resource, e.VersionID, e.LastUpdated)
		}
	}
}
