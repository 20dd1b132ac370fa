package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/protocols"
	"github.com/trialscreen/trialscreen/screening"
)

// The shared data sits beside the checkout.
const syntheaDir = "../../shared/data/synthea"

func testProtocol(t testing.TB) *screening.Protocol {
	t.Helper()
	p, err := protocols.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func testSettings() screening.Settings { return screening.Settings{AsOf: demo.AsOf()} }

// testBundles is the 18 Synthea patients and the 4 hand-built demo patients, by name.
func testBundles(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	files, err := filepath.Glob(filepath.Join(syntheaDir, "*.json"))
	if err != nil || len(files) != 18 {
		t.Fatalf("want the 18 Synthea bundles in %s, found %d (%v)", syntheaDir, len(files), err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = b
	}
	for _, n := range demo.Names() {
		b, err := demo.Bundle(n)
		if err != nil {
			t.Fatal(err)
		}
		out["demo-"+n] = b
	}
	return out
}

func sortedNames(m map[string][]byte) []string {
	var names []string
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// writeNDJSON turns bundles into an export as a Bulk Data server writes it: one file per
// resource type, one compact resource a line, references to bundle entries (urn:uuid in
// Synthea's transaction bundles) rewritten to Type/id. It returns the lines by type.
func writeNDJSON(t testing.TB, dir string, bundles map[string][]byte) {
	t.Helper()
	byType := map[string]*bytes.Buffer{}
	for _, name := range sortedNames(bundles) {
		b, err := fhirbundle.SplitBundle(bundles[name])
		if err != nil {
			t.Fatal(err)
		}
		refs := map[string]string{}
		for _, e := range b.Entries {
			info, err := scanResource(compact(t, e.Resource))
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(e.FullURL, "urn:") {
				refs[`"`+e.FullURL+`"`] = `"` + info.resourceType + "/" + info.id + `"`
			}
		}
		for _, e := range b.Entries {
			line := string(compact(t, e.Resource))
			for from, to := range refs {
				line = strings.ReplaceAll(line, from, to)
			}
			info, _ := scanResource([]byte(line))
			if byType[info.resourceType] == nil {
				byType[info.resourceType] = &bytes.Buffer{}
			}
			byType[info.resourceType].WriteString(line + "\n")
		}
	}
	for typ, buf := range byType {
		if err := os.WriteFile(filepath.Join(dir, typ+".ndjson"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func compact(t testing.TB, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// expectedDocs screens each bundle on its own, as `trialscreen screen --bundle` and the
// REST API do, and returns the verdict documents by patient id. The one difference an
// export makes is known and applied: resources that name no patient (Synthea's
// Organization and Practitioner entries) are in the Bundle but in no patient's part of
// an export, so they are not in resources_seen.
func expectedDocs(t testing.TB, p *screening.Protocol, bundles map[string][]byte) map[string][]byte {
	t.Helper()
	return expectedDocsWith(t, p, bundles, nil)
}

// expectedDocsWith is expectedDocs with unreadable entries every record gets (lines of
// the input whose patient cannot be told).
func expectedDocsWith(t testing.TB, p *screening.Protocol, bundles map[string][]byte, anyone []screening.UnreadableEntry) map[string][]byte {
	t.Helper()
	r, err := fhirbundle.NewReader(p)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, name := range sortedNames(bundles) {
		rec, err := r.ReadBundle(bundles[name], "")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := fhirbundle.SplitBundle(bundles[name])
		for _, e := range b.Entries {
			info, _ := scanResource(compact(t, e.Resource))
			if info.resourceType != screening.TypePatient && info.patientRef == "" {
				if rec.Seen[info.resourceType]--; rec.Seen[info.resourceType] == 0 {
					delete(rec.Seen, info.resourceType)
				}
			}
		}
		rec.Unreadable = append(rec.Unreadable, anyone...)
		s := p.Evaluate(rec, testSettings())
		doc, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		out[s.Patient.ID] = doc
	}
	return out
}

// bundleDocs screens each bundle exactly as a single-patient screening does.
func bundleDocs(t testing.TB, p *screening.Protocol, bundles map[string][]byte) map[string][]byte {
	t.Helper()
	r, _ := fhirbundle.NewReader(p)
	out := map[string][]byte{}
	for _, name := range sortedNames(bundles) {
		rec, err := r.ReadBundle(bundles[name], "")
		if err != nil {
			t.Fatal(err)
		}
		s := p.Evaluate(rec, testSettings())
		doc, _ := json.Marshal(s)
		out[s.Patient.ID] = doc
	}
	return out
}

// collect is a Sink keeping what it gets; cancel, when set, is called after stopAfter
// documents (an interrupted run).
type collect struct {
	ids       []string
	lines     [][]byte
	stopAfter int
	cancel    context.CancelFunc
}

func (c *collect) Put(r *Result) error {
	c.ids = append(c.ids, r.PatientID)
	c.lines = append(c.lines, slices.Clone(r.JSON))
	if c.cancel != nil && len(c.ids) == c.stopAfter {
		c.cancel()
	}
	return nil
}

// problems collects reported problems as strings.
type problems struct{ list []string }

func (p *problems) report(x Problem) { p.list = append(p.list, x.String()) }

func runFiles(t *testing.T, cfg Config, paths ...string) (*collect, Stats) {
	t.Helper()
	c := &collect{}
	st, err := Run(context.Background(), cfg, Files{Paths: paths}, c)
	if err != nil {
		t.Fatal(err)
	}
	return c, st
}

func mapKeys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
