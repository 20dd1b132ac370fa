package batch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestProblemsInLineOrderAcrossChunks: the grouping pass checks lines on several
// goroutines, chunk by chunk, yet problems are reported in file and line order, lines
// larger than a chunk are read whole, and the demo patients are screened as usual.
func TestProblemsInLineOrderAcrossChunks(t *testing.T) {
	p := testProtocol(t)
	dir := t.TempDir()
	writeNDJSON(t, dir, demoBundles(t))
	filler := `{"resourceType":"Organization","id":"org","name":"` + strings.Repeat("n", 200) + `"}`
	huge := `{"resourceType":"Organization","id":"big","name":"` + strings.Repeat("h", 3<<20) + `"}`
	bad := map[int]string{
		5:     `{"resourceType":`,
		7000:  huge,
		7001:  huge[:len(huge)-1], // truncated: not JSON
		7002:  `{"resourceType":"Observation","id":"o"}`,
		15000: `null`,
		19999: `{"resourceType":"Condition","subject":{"reference":"Group/g"}}`,
	}
	var lines []string
	for i := 1; i <= 20000; i++ {
		if l, ok := bad[i]; ok {
			lines = append(lines, l)
		} else {
			lines = append(lines, filler)
		}
	}
	broken := filepath.Join(dir, "zz-many.ndjson")
	if err := os.WriteFile(broken, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var probs problems
	c := &collect{}
	st, err := Run(context.Background(), Config{Protocol: p, Settings: testSettings(), TempDir: t.TempDir(), Report: probs.report},
		Files{Paths: []string{dir}}, c)
	if err != nil {
		t.Fatal(err)
	}
	const anyones = "; whose record it is cannot be told, so it counts as unreadable in every patient's record"
	want := []string{
		broken + " line 5: not valid JSON: syntax error at byte 16" + anyones,
		broken + fmt.Sprintf(" line 7001: not valid JSON: syntax error at byte %d; skipped (no criterion reads it)", len(huge)-1),
		broken + " line 7002: Observation without a subject/patient reference" + anyones,
		broken + " line 15000: a JSON null, not a FHIR resource (an object)" + anyones,
		broken + " line 19999: Condition whose subject/patient is not a literal reference to a Patient" + anyones,
	}
	if !slices.Equal(probs.list, want) {
		t.Errorf("problems:\n%s\nwant\n%s", strings.Join(probs.list, "\n"), strings.Join(want, "\n"))
	}
	if st.Screened != 4 || st.Unscreened != 0 {
		t.Errorf("stats %+v", st)
	}
}
