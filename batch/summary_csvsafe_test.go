package batch

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/protocols"
)

// TestSummaryCSVFormulaCells: a text cell a spreadsheet would run as a formula (it
// begins with =, +, -, @, tab or carriage return) is written behind a single quote;
// every other cell, ordinary patient ids above all, is written exactly as before.
func TestSummaryCSVFormulaCells(t *testing.T) {
	cases := []struct {
		name string
		doc  string // one verdict document
		want string // its summary.csv row, as written
	}{
		{"ordinary id", `{"patient":{"id":"demo-candidate"},"verdict":"ineligible","counts":{"pass":2,"fail":1},"criteria":[{"id":"inc-age","outcome":"fail"}]}`,
			"demo-candidate,ineligible,2,1,0,0,inc-age,\n"},
		{"id with a dash inside", `{"patient":{"id":"a-b.c"},"verdict":"ineligible","counts":{},"criteria":[]}`,
			"a-b.c,ineligible,0,0,0,0,,\n"},
		{"equals", `{"patient":{"id":"=HYPERLINK(\"http://x\",\"y\")"},"verdict":"ineligible","counts":{},"criteria":[]}`,
			`"'=HYPERLINK(""http://x"",""y"")",ineligible,0,0,0,0,,` + "\n"},
		{"plus", `{"patient":{"id":"+1+cmd"},"verdict":"ineligible","counts":{},"criteria":[]}`,
			"'+1+cmd,ineligible,0,0,0,0,,\n"},
		{"minus (a valid FHIR id)", `{"patient":{"id":"-2+3"},"verdict":"ineligible","counts":{},"criteria":[]}`,
			"'-2+3,ineligible,0,0,0,0,,\n"},
		{"at", `{"patient":{"id":"@SUM(A1)"},"verdict":"ineligible","counts":{},"criteria":[]}`,
			"'@SUM(A1),ineligible,0,0,0,0,,\n"},
		{"tab", `{"patient":{"id":"\t=1"},"verdict":"ineligible","counts":{},"criteria":[]}`,
			"'\t=1,ineligible,0,0,0,0,,\n"},
		{"carriage return", `{"patient":{"id":"\r=1"},"verdict":"ineligible","counts":{},"criteria":[]}`,
			"\"'\r=1\",ineligible,0,0,0,0,,\n"},
		{"verdict", `{"patient":{"id":"p1"},"verdict":"=1","counts":{},"criteria":[]}`,
			"p1,'=1,0,0,0,0,,\n"},
		{"criterion ids", `{"patient":{"id":"p1"},"verdict":"ineligible","counts":{"fail":1,"unknown":1},"criteria":[{"id":"-x","outcome":"fail"},{"id":"@y","outcome":"unknown"},{"id":"ok","outcome":"unknown"}]}`,
			"p1,ineligible,0,1,1,0,'-x,'@y;ok\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := Summarize(strings.NewReader(tc.doc+"\n"), &out, nil); err != nil {
				t.Fatal(err)
			}
			want := strings.Join(SummaryHeader, ",") + "\n" + tc.want
			if out.String() != want {
				t.Errorf("summary.csv\n got %q\nwant %q", out.String(), want)
			}
		})
	}
}

// TestFinishWritesSafeSummary: Finish, which resume, shard merge and REST batches all
// end with, writes summary.csv with the same protection.
func TestFinishWritesSafeSummary(t *testing.T) {
	p, err := protocols.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	results := `{"patient":{"id":"-1+1"},"verdict":"ineligible","counts":{},"criteria":[]}` + "\n" +
		`{"patient":{"id":"p2"},"verdict":"ineligible","counts":{},"criteria":[]}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, ResultsFile), []byte(results), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeManifest(dir, Manifest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Finish(dir, p); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join(SummaryHeader, ",") + "\n'-1+1,ineligible,0,0,0,0,,\np2,ineligible,0,0,0,0,,\n"
	if string(got) != want {
		t.Errorf("summary.csv\n got %q\nwant %q", got, want)
	}
}
