package batch

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRecordsOverTheEntryCapAreNotScreened: a patient whose record holds more entries
// than Config.MaxEntries, as a Bundle file or as an export's lines, is reported, naming
// the count and the cap, and not screened; the others are. An export's lines past the
// cap are counted, not kept.
func TestRecordsOverTheEntryCapAreNotScreened(t *testing.T) {
	run := func(t *testing.T, dir string) (ids, probs []string) {
		t.Helper()
		var p problems
		c := &collect{}
		_, err := Run(context.Background(), Config{Protocol: testProtocol(t), Settings: testSettings(), TempDir: t.TempDir(),
			Report: p.report, MaxEntries: 15}, Files{Paths: []string{dir}}, c)
		if err != nil {
			t.Fatal(err)
		}
		return c.ids, p.list
	}
	t.Run("ndjson", func(t *testing.T) {
		dir := t.TempDir()
		writeNDJSON(t, dir, demoBundles(t))
		ids, probs := run(t, dir)
		// insufficient-data has 13 resources; the others more than 15.
		if !slices.Equal(ids, []string{"demo-insufficient-data"}) {
			t.Errorf("screened %v; want only demo-insufficient-data", ids)
		}
		n := 0
		for _, p := range probs {
			if strings.Contains(p, "the patient's record holds ") && strings.Contains(p, " entries, more than the 15 one patient's record may hold") {
				n++
			}
		}
		if n != 3 {
			t.Errorf("%d of 3 patients reported as over the cap:\n%s", n, strings.Join(probs, "\n"))
		}
	})
	t.Run("bundle files", func(t *testing.T) {
		dir := t.TempDir()
		for name, b := range demoBundles(t) {
			if err := os.WriteFile(filepath.Join(dir, name+".json"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		ids, probs := run(t, dir)
		if !slices.Equal(ids, []string{"demo-insufficient-data"}) {
			t.Errorf("screened %v; want only demo-insufficient-data", ids)
		}
		want := filepath.Join(dir, "candidate.json") + ": the Bundle holds 21 entries, more than the 15 one patient's record may hold"
		if !slices.ContainsFunc(probs, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("no problem %q among:\n%s", want, strings.Join(probs, "\n"))
		}
	})
}
