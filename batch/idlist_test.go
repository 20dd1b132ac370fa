package batch

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/demo"
)

// TestIDListFetchesThroughTheSource: ids are fetched through the record source, sorted
// and screened once each; ids the source does not know and lines that are no id are
// reported by line, and the others go on.
func TestIDListFetchesThroughTheSource(t *testing.T) {
	p := testProtocol(t)
	src, err := demo.NewSource(p)
	if err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(t.TempDir(), "ids.txt")
	os.WriteFile(list, []byte(strings.Join([]string{
		"demo-insufficient-data", "# a comment", "Patient/demo-candidate", "", "no-such-patient",
		"demo-ineligible-labs", "demo-candidate", "two ids", "demo-ineligible-exclusion",
		".", "Patient/..", "%2e", "a/b",
	}, "\n")+"\n"), 0o644)
	var probs problems
	c := &collect{}
	st, err := Run(context.Background(), Config{Protocol: p, Settings: testSettings(), Workers: 3, Report: probs.report, TempDir: t.TempDir()},
		IDList{Path: list, Source: src}, c)
	if err != nil {
		t.Fatal(err)
	}
	notID := " not a patient id (one id a line, e.g. 123 or Patient/123; an id is 1-64 characters of A-Z, a-z, 0-9, '-', '.', and not '.' or '..' alone)"
	want := []string{
		list + " line 8:" + notID,
		list + " line 10:" + notID, // "." and ".." are never fetched: Patient/.. is the server's base
		list + " line 11:" + notID,
		list + " line 12:" + notID,
		list + " line 13:" + notID,
		list + " line 5: not screened: patient not found on the FHIR server",
	}
	if !slices.Equal(probs.list, want) {
		t.Errorf("problems:\n%s\nwant\n%s", strings.Join(probs.list, "\n"), strings.Join(want, "\n"))
	}
	if st.Screened != 4 || st.Unscreened != 1 {
		t.Errorf("stats %+v", st)
	}
	docs := bundleDocs(t, p, demoBundles(t))
	if !slices.Equal(c.ids, mapKeys(docs)) {
		t.Fatalf("screened %v, want %v", c.ids, mapKeys(docs))
	}
	for i, id := range c.ids {
		if !bytes.Equal(c.lines[i], docs[id]) {
			t.Errorf("%s: document differs from single-patient screening", id)
		}
	}
	if _, err := Run(context.Background(), Config{Protocol: p}, IDList{Path: list}, c); err == nil || !strings.Contains(err.Error(), "needs a record source") {
		t.Errorf("without a source: %v", err)
	}
}
