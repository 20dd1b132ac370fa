package demo_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/protocols"
	"github.com/trialscreen/trialscreen/screening"
)

var update = flag.Bool("update", false, "rewrite the golden verdict files")

// TestGoldenVerdicts screens every demo patient at the demo's fixed as-of and compares
// the whole verdict document with testdata/golden/NAME.json (go test -update rewrites).
func TestGoldenVerdicts(t *testing.T) {
	proto, err := protocols.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	reader, err := fhirbundle.NewReader(proto)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]screening.Verdict{
		"candidate":            screening.PotentiallyEligible,
		"ineligible-labs":      screening.Ineligible,
		"ineligible-exclusion": screening.Ineligible,
		"insufficient-data":    screening.InsufficientData,
	}
	if len(demo.Names()) != len(want) {
		t.Errorf("demo patients %v, want %d", demo.Names(), len(want))
	}
	for _, name := range demo.Names() {
		t.Run(name, func(t *testing.T) {
			data, err := demo.Bundle(name)
			if err != nil {
				t.Fatal(err)
			}
			rec, err := reader.ReadBundle(data, "")
			if err != nil {
				t.Fatal(err)
			}
			out := proto.Evaluate(rec, screening.Settings{AsOf: demo.AsOf()})
			if out.Verdict != want[name] {
				t.Errorf("verdict %s, want %s", out.Verdict, want[name])
			}
			if got, ok := demo.NameForPatientID(out.Patient.ID); !ok || got != name {
				t.Errorf("patient id %q does not map back to %q", out.Patient.ID, name)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(out); err != nil {
				t.Fatal(err)
			}
			got := bytes.TrimSpace(buf.Bytes())
			path := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			golden, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./demo -update to create it)", err)
			}
			if d := cmp.Diff(string(bytes.TrimSpace(golden)), string(got)); d != "" {
				t.Errorf("verdict document differs from %s (-golden +got):\n%s", path, d)
			}
		})
	}
}
