package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/batch/synthgen"
)

// writeCopies writes copies of the Synthea bundles with new ids as an export in dir and
// returns the number of patients and bytes.
func writeCopies(t testing.TB, dir string, copies int) (int, int64) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(syntheaDir, "*.json"))
	var ts []*synthgen.Template
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tp, err := synthgen.Prepare(data)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, tp)
	}
	bufs := map[string]*bytes.Buffer{}
	out := func(typ string) io.Writer {
		if bufs[typ] == nil {
			bufs[typ] = &bytes.Buffer{}
		}
		return bufs[typ]
	}
	var size int64
	for k := range copies {
		for _, tp := range ts {
			n, err := tp.Write(k, out)
			if err != nil {
				t.Fatal(err)
			}
			size += n
		}
	}
	for typ, b := range bufs {
		if err := os.WriteFile(filepath.Join(dir, typ+".ndjson"), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return copies * len(ts), size
}

// TestGeneratedCopiesScreenLikeTheOriginals: the generator's copies are new patients
// with the originals' clinical data: each copy's document, its id suffix removed, is
// the original's.
func TestGeneratedCopiesScreenLikeTheOriginals(t *testing.T) {
	p := testProtocol(t)
	syn := map[string][]byte{}
	for name, b := range testBundles(t) {
		if name[:4] != "demo" {
			syn[name] = b
		}
	}
	want := expectedDocs(t, p, syn)
	dir := t.TempDir()
	n, _ := writeCopies(t, dir, 2)
	c, st := runFiles(t, Config{Protocol: p, Settings: testSettings(), TempDir: t.TempDir()}, dir)
	if int(st.Screened) != n || n != 36 {
		t.Fatalf("screened %d of %d", st.Screened, n)
	}
	for i, line := range c.lines {
		orig := bytes.ReplaceAll(bytes.ReplaceAll(line, []byte("-g0"), nil), []byte("-g1"), nil)
		var doc struct{ Patient struct{ ID string } }
		json.Unmarshal(orig, &doc)
		if !bytes.Equal(orig, want[doc.Patient.ID]) {
			t.Errorf("copy %s screens differently from its original", c.ids[i])
		}
	}
}

// BenchmarkBatch screens an export of Synthea-shaped patients (the 18 Synthea patients
// repeated with new ids) into an output directory: grouping, screening, results,
// summary and funnel. Target: >= 150 patients/s on 2 cores.
func BenchmarkBatch(b *testing.B) {
	p := testProtocol(b)
	in := b.TempDir()
	patients, size := writeCopies(b, in, 10)
	cfg := Config{Protocol: p, Settings: testSettings(), TempDir: b.TempDir()}
	b.SetBytes(size)
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		out := filepath.Join(b.TempDir(), "out")
		d, err := OpenDir(out, NewManifest(cfg, []string{in}), false)
		if err != nil {
			b.Fatal(err)
		}
		st, err := Run(context.Background(), cfg, Files{Paths: []string{in}}, d)
		if err != nil || int(st.Screened) != patients {
			b.Fatalf("%+v %v", st, err)
		}
		d.Close()
		if _, err := Finish(out, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(patients*b.N)/time.Since(start).Seconds(), "patients/s")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "procs")
}
