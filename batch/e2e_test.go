package batch

import (
	"bytes"
	"slices"
	"testing"
)

// TestNDJSONVerdictsEqualSinglePatientScreening: an export made of the 18 Synthea
// patients and the 4 demo patients, screened as a batch, gives for every patient the
// verdict document a single-patient screening of the same data gives. With a small
// memory budget the grouping spills sorted runs to disk and merges them, and the
// documents are still the same.
func TestNDJSONVerdictsEqualSinglePatientScreening(t *testing.T) {
	p := testProtocol(t)
	bundles := testBundles(t)
	dir := t.TempDir()
	writeNDJSON(t, dir, bundles)
	want := expectedDocs(t, p, bundles)
	cases := []struct {
		name     string
		budget   int
		wantRuns func(int64) bool
	}{
		{"in memory", 0, func(n int64) bool { return n == 0 }},
		{"spilled to sorted runs", 64 << 10, func(n int64) bool { return n > 1 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			prog := NewProgress()
			var probs problems
			c, st := runFiles(t, Config{Protocol: p, Settings: testSettings(), MemoryBudget: tc.budget, TempDir: t.TempDir(), Progress: prog, Report: probs.report}, dir)
			if len(probs.list) > 0 || st.Problems != 0 || st.Unscreened != 0 {
				t.Errorf("problems: %v, stats %+v", probs.list, st)
			}
			if runs := prog.Snapshot().SortRuns; !tc.wantRuns(runs) {
				t.Errorf("the grouping wrote %d sorted runs", runs)
			}
			if !slices.Equal(c.ids, mapKeys(want)) {
				t.Fatalf("patients screened, in order:\n%v\nwant\n%v", c.ids, mapKeys(want))
			}
			for i, id := range c.ids {
				if !bytes.Equal(c.lines[i], want[id]) {
					t.Errorf("patient %d: the batch's document differs from single-patient screening:\n%s\nwant\n%s", i, c.lines[i], want[id])
				}
			}
			if s := prog.Snapshot(); s.PatientsDone != 22 || s.PatientsTotal != 22 || s.Phase != PhaseDone {
				t.Errorf("progress at the end: %+v", s)
			}
		})
	}
}

// TestBundleFilesEqualSinglePatientScreening: Bundle files are screened exactly as
// `trialscreen screen --bundle` screens each, and come out in patient id order.
func TestBundleFilesEqualSinglePatientScreening(t *testing.T) {
	p := testProtocol(t)
	bundles := testBundles(t)
	want := bundleDocs(t, p, bundles)
	c, st := runFiles(t, Config{Protocol: p, Settings: testSettings(), TempDir: t.TempDir()}, syntheaDir, "../demo/patients")
	if st.Screened != 22 || st.Problems != 0 {
		t.Errorf("stats %+v", st)
	}
	if !slices.Equal(c.ids, mapKeys(want)) {
		t.Fatalf("patients screened, in order:\n%v\nwant\n%v", c.ids, mapKeys(want))
	}
	for i, id := range c.ids {
		if !bytes.Equal(c.lines[i], want[id]) {
			t.Errorf("patient %s: the batch's document differs from single-patient screening", id)
		}
	}
}
