package batch

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/screening"
)

func demoBundles(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, n := range demo.Names() {
		b, err := demo.Bundle(n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = b
	}
	return out
}

// TestMalformedLinesAreReportedAndOthersGoOn: every bad line is reported with its file
// and line, in the order found, and the demo patients are screened as usual, except
// that each line whose patient cannot be told (and that a criterion might read) is an
// unreadable entry in every patient's record, named by file and line.
func TestMalformedLinesAreReportedAndOthersGoOn(t *testing.T) {
	p := testProtocol(t)
	dir := t.TempDir()
	bundles := demoBundles(t)
	writeNDJSON(t, dir, bundles)
	broken := filepath.Join(dir, "zz-broken.ndjson")
	lines := []string{
		`{"resourceType":"Observation","subject":`, // 1 truncated
		`[1,2]`, // 2
		``,      // 3 blank: skipped
		`{"resourceType":"Observation","id":"o1","status":"final"}`,         // 4
		`{"resourceType":"Condition","subject":{"reference":"urn:uuid:1"}}`, // 5
		`{"resourceType":"Patient","name":[{"family":"X"}]}`,                // 6
		`{"id":"x"}`, // 7
		`{"resourceType":"Observation","subject":{"reference":"Patient/ghost"}}` + "\r", // 8 a patient with no Patient resource
		`{"resourceType":"Observation","id":"` + strings.Repeat("x", 3000) + `"}`,       // 9 too long
		`{"resourceType":"Organization","id":"org"}`,                                    // 10 nobody's: not a problem
	}
	if err := os.WriteFile(broken, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	var probs problems
	c := &collect{}
	st, err := Run(context.Background(), Config{Protocol: p, Settings: testSettings(), TempDir: t.TempDir(), Report: probs.report},
		Files{Paths: []string{dir}, MaxLine: 2048}, c)
	if err != nil {
		t.Fatal(err)
	}
	const anyones = "; whose record it is cannot be told, so it counts as unreadable in every patient's record"
	want := []string{
		broken + " line 1: not valid JSON: syntax error at byte 40" + anyones,
		broken + " line 2: a JSON array, not a FHIR resource (an object)" + anyones,
		broken + " line 4: Observation without a subject/patient reference" + anyones,
		broken + " line 5: Condition whose subject/patient is not a literal reference to a Patient" + anyones,
		broken + " line 6: Patient without an id",
		broken + " line 7: a resource without resourceType" + anyones,
		broken + " line 9: longer than 2048 bytes" + anyones,
		broken + " line 8: not screened: 1 resource refers to a patient the input has no Patient resource for",
	}
	if !slices.Equal(probs.list, want) {
		t.Errorf("problems:\n%s\nwant\n%s", strings.Join(probs.list, "\n"), strings.Join(want, "\n"))
	}
	if st.Problems != int64(len(want)) || st.Unscreened != 1 || st.Screened != 4 {
		t.Errorf("stats %+v", st)
	}
	anyone := func(line int, typ, problem string) screening.UnreadableEntry {
		return screening.UnreadableEntry{Index: -1, ResourceType: typ, Problem: fmt.Sprintf("%s line %d: %s (whose record it is cannot be told)", broken, line, problem)}
	}
	docs := expectedDocsWith(t, p, bundles, []screening.UnreadableEntry{
		anyone(1, "Observation", "not valid JSON: syntax error at byte 40"),
		anyone(2, "", "a JSON array, not a FHIR resource (an object)"),
		anyone(4, "Observation", "Observation without a subject/patient reference"),
		anyone(5, "Condition", "Condition whose subject/patient is not a literal reference to a Patient"),
		anyone(7, "", "a resource without resourceType"),
		anyone(9, "Observation", "longer than 2048 bytes"),
	})
	if !slices.Equal(c.ids, mapKeys(docs)) {
		t.Fatalf("screened %v, want %v", c.ids, mapKeys(docs))
	}
	for i, id := range c.ids {
		if !bytes.Equal(c.lines[i], docs[id]) {
			t.Errorf("%s: document differs from single-patient screening", id)
		}
	}
}
