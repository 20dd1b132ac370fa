package batch

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// outputFiles are the files of an output directory that must not depend on how the
// run went (interrupted, resumed, sharded and merged).
var outputFiles = []string{ResultsFile, SummaryFile, FunnelJSON, FunnelHTML, ManifestFile}

// cancelAfter is a Sink that interrupts the run (cancels its context) after n documents.
type cancelAfter struct {
	Sink
	n, got int
	cancel context.CancelFunc
}

func (c *cancelAfter) Put(r *Result) error {
	if err := c.Sink.Put(r); err != nil {
		return err
	}
	if c.got++; c.got == c.n {
		c.cancel()
	}
	return nil
}

// runDir runs cfg over the input into dir; stopAfter > 0 interrupts it after that many
// documents. It returns the run's error and, for a complete run, finishes the directory.
func runDir(t *testing.T, cfg Config, inputs []string, dir string, resume bool, stopAfter int) error {
	t.Helper()
	d, err := OpenDir(dir, NewManifest(cfg, inputs), resume)
	if err != nil {
		t.Fatal(err)
	}
	cfg.After = d.After()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sink Sink = d
	if stopAfter > 0 {
		sink = &cancelAfter{Sink: d, n: stopAfter, cancel: cancel}
	}
	_, runErr := Run(ctx, cfg, Files{Paths: inputs}, sink)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if runErr == nil {
		if _, err := Finish(dir, cfg.Protocol); err != nil {
			t.Fatal(err)
		}
	}
	return runErr
}

func sameFiles(t *testing.T, got, want string) {
	t.Helper()
	for _, f := range outputFiles {
		a, err := os.ReadFile(filepath.Join(got, f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(want, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from the uninterrupted run's:\n%.400s\nwant\n%.400s", f, a, b)
		}
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

// TestResumeGivesTheUninterruptedOutput: a run interrupted after some patients (and
// one whose last line was torn by a crash) and then resumed writes byte for byte what
// an uninterrupted run writes, without screening the finished patients again.
func TestResumeGivesTheUninterruptedOutput(t *testing.T) {
	p := testProtocol(t)
	input := t.TempDir()
	writeNDJSON(t, input, testBundles(t))
	cfg := Config{Protocol: p, Settings: testSettings(), TempDir: t.TempDir()}
	whole := t.TempDir()
	if err := runDir(t, cfg, []string{input}, whole, false, 0); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		stopAfter int
		torn      string // appended to results.ndjson after the interruption
		wantAfter int    // documents kept when resuming
	}{
		{"interrupted after 7", 7, "", 7},
		{"interrupted after 1", 1, "", 1},
		{"a torn last line", 12, `{"patient":{"id":"zzz","reference":"Pat`, 12},
		{"a complete line then a torn one", 5, "{\"x\":1}\n{\"patient\":", 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			err := runDir(t, cfg, []string{input}, dir, false, tc.stopAfter)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted run: %v", err)
			}
			results := filepath.Join(dir, ResultsFile)
			if n := countLines(t, results); n != tc.stopAfter {
				t.Fatalf("the interrupted run wrote %d documents, want %d", n, tc.stopAfter)
			}
			if tc.torn != "" {
				f, _ := os.OpenFile(results, os.O_APPEND|os.O_WRONLY, 0)
				f.WriteString(tc.torn)
				f.Close()
			}
			d, err := OpenDir(dir, NewManifest(cfg, []string{input}), true)
			if err != nil {
				t.Fatal(err)
			}
			if n := countLines(t, results); n != tc.wantAfter {
				t.Errorf("resume kept %d documents, want %d", n, tc.wantAfter)
			}
			d.Close()
			var screened collectCount
			cfg2 := cfg
			cfg2.After = d.After()
			if _, err := Run(context.Background(), cfg2, Files{Paths: []string{input}}, &screened); err != nil {
				t.Fatal(err)
			}
			if screened.n != 22-tc.wantAfter {
				t.Errorf("resuming screens %d patients, want %d", screened.n, 22-tc.wantAfter)
			}
			if err := runDir(t, cfg, []string{input}, dir, true, 0); err != nil {
				t.Fatal(err)
			}
			sameFiles(t, dir, whole)
		})
	}
	t.Run("resuming a complete run changes nothing", func(t *testing.T) {
		if err := runDir(t, cfg, []string{input}, whole, true, 0); err != nil {
			t.Fatal(err)
		}
		if n := countLines(t, filepath.Join(whole, ResultsFile)); n != 22 {
			t.Errorf("%d documents after resuming a complete run", n)
		}
	})
}

type collectCount struct{ n int }

func (c *collectCount) Put(*Result) error { c.n++; return nil }

// TestOpenDirRefusals: what a caller is told when a directory cannot take the run.
func TestOpenDirRefusals(t *testing.T) {
	p := testProtocol(t)
	cfg := Config{Protocol: p, Settings: testSettings()}
	m := NewManifest(cfg, []string{"in"})
	used := t.TempDir()
	os.WriteFile(filepath.Join(used, ResultsFile), []byte("{}\n"), 0o644)
	writeManifest(used, m)
	other := cfg
	other.Settings.AsOf = other.Settings.AsOf.Add(time.Hour)
	cases := []struct {
		name   string
		dir    string
		m      Manifest
		resume bool
		want   string
	}{
		{"results there, no resume", used, m, false, "already holds results: resume that run with --resume, or choose another output directory"},
		{"nothing to resume", t.TempDir(), m, true, "holds no run to resume (no run.json)"},
		{"another as-of", used, NewManifest(other, []string{"in"}), true, "--resume: --as-of not the same as in the run in"},
		{"other inputs", used, NewManifest(cfg, []string{"in", "more"}), true, "--resume: the inputs not the same as in the run in"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenDir(tc.dir, tc.m, tc.resume)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}
