package funnel

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The demo patients' funnel as a table, as JSON and as a page, against files a person
// has read. Run `go test ./funnel -update` after a deliberate change and review the diff.
func TestDemoGolden(t *testing.T) {
	p := defaultProtocol(t)
	f := funnelOf(p, demoScreenings(t, p))
	for _, g := range []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"demo.table.txt", func(b *bytes.Buffer) error { return f.WriteTable(b) }},
		{"demo.json", func(b *bytes.Buffer) error { return f.WriteJSON(b) }},
		{"demo.html", func(b *bytes.Buffer) error { return f.WriteHTML(b) }},
	} {
		t.Run(g.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := g.write(&b); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", g.file)
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("%s differs (-golden +now):\n%s", path, diff)
			}
		})
	}
}

func TestTableFitsAndIsClean(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
	}{
		{"shipped protocol", "", ""},
		{"a very long criterion id", "- id: ecog\n", "- id: eastern-cooperative-oncology-group-performance-status-at-screening\n"},
		{"terminal escapes in the title", "title: Anti-BCMA CAR-T cell therapy for relapsed/refractory multiple myeloma\n", `title: "\e[31mRED\e[0m\r\n\tAnti-BCMA"` + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := defaultProtocol(t)
			if tc.old != "" {
				p = editedProtocol(t, tc.old, tc.new)
			}
			f := funnelOf(p, fivePatients(p))
			// Counts as wide as a large hospital's.
			f.patients += 2_000_000
			for i := range f.crit {
				f.crit[i].pass += 2_000_000
			}
			var b bytes.Buffer
			if err := f.WriteTable(&b); err != nil {
				t.Fatal(err)
			}
			for i, line := range strings.Split(b.String(), "\n") {
				if n := len([]rune(line)); n > tableWidth {
					t.Errorf("line %d is %d columns: %q", i+1, n, line)
				}
				if strings.ContainsAny(line, "\x1b\r\t") {
					t.Errorf("line %d holds a control character: %q", i+1, line)
				}
			}
		})
	}
}
