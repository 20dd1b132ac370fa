package batch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseShard(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == EnvJobIndex {
				return v
			}
			return ""
		}
	}
	cases := []struct {
		name, in, envIndex string
		want               Shard
		err                string
	}{
		{"none", "", "", Shard{}, ""},
		{"explicit", "2/4", "", Shard{2, 4}, ""},
		{"auto", "auto/4", "3", Shard{3, 4}, ""},
		{"auto without the variable", "auto/4", "", Shard{}, "JOB_COMPLETION_INDEX is not set"},
		{"index too large", "4/4", "", Shard{}, `the index "4" must be a number from 0 to 3`},
		{"auto index too large", "auto/2", "2", Shard{}, `the index "2" must be a number from 0 to 1`},
		{"negative", "-1/4", "", Shard{}, "must be a number from 0 to 3"},
		{"no n", "1", "", Shard{}, "want i/n with n >= 1"},
		{"zero n", "0/0", "", Shard{}, "want i/n with n >= 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseShard(tc.in, env(tc.envIndex))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("got %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// TestShardsMergeToOneRun: three shards, each a separate run, merge into exactly what
// one unsharded run writes; every patient is in exactly one shard.
func TestShardsMergeToOneRun(t *testing.T) {
	p := testProtocol(t)
	input := t.TempDir()
	writeNDJSON(t, input, testBundles(t))
	inputs := []string{input}
	cfg := Config{Protocol: p, Settings: testSettings(), TempDir: t.TempDir()}
	whole := t.TempDir()
	if err := runDir(t, cfg, inputs, whole, false, 0); err != nil {
		t.Fatal(err)
	}
	var shards []string
	total := 0
	for i := range 3 {
		c := cfg
		c.Shard = Shard{i, 3}
		dir := t.TempDir()
		if err := runDir(t, c, inputs, dir, false, 0); err != nil {
			t.Fatal(err)
		}
		n := countLines(t, filepath.Join(dir, ResultsFile))
		if n == 0 || n == 22 {
			t.Errorf("shard %d holds %d of the 22 patients: the hash does not spread them", i, n)
		}
		total += n
		shards = append(shards, dir)
	}
	if total != 22 {
		t.Errorf("the shards hold %d patients, want 22", total)
	}
	merged := filepath.Join(t.TempDir(), "merged")
	if _, err := MergeDirs(merged, []string{shards[2], shards[0], shards[1]}, p); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, merged, whole)

	incomplete := t.TempDir()
	c := cfg
	c.Shard = Shard{1, 3}
	if _, err := OpenDir(incomplete, NewManifest(c, inputs), false); err != nil {
		t.Fatal(err)
	}
	otherAsOf := t.TempDir()
	c.Settings.AsOf = c.Settings.AsOf.Add(time.Hour)
	if err := runDir(t, c, inputs, otherAsOf, false, 0); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		dirs []string
		want string
	}{
		{"a shard missing", shards[:2], "shard 2/3 missing; merge every shard of the split"},
		{"a shard twice", []string{shards[0], shards[1], shards[1], shards[2]}, "are both shard 1/3"},
		{"an incomplete shard", []string{shards[0], incomplete, shards[2]}, "did not complete; resume it (--resume) first"},
		{"another as-of", []string{shards[0], otherAsOf, shards[2]}, "was screened with a different --as-of than"},
		{"a shard mixed with a whole run", []string{whole, shards[0]}, `is shard "0/3" but`},
		{"not an output directory", []string{t.TempDir()}, "is not a batch output directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := MergeDirs(filepath.Join(t.TempDir(), "out"), tc.dirs, p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("results out of order", func(t *testing.T) {
		dir := t.TempDir()
		for _, f := range outputFiles {
			b, _ := os.ReadFile(filepath.Join(whole, f))
			if f == ResultsFile {
				lines := strings.SplitAfter(string(b), "\n")
				lines[0], lines[1] = lines[1], lines[0]
				b = []byte(strings.Join(lines, ""))
			}
			os.WriteFile(filepath.Join(dir, f), b, 0o644)
		}
		_, err := MergeDirs(filepath.Join(t.TempDir(), "out"), []string{dir}, p)
		if err == nil || !strings.Contains(err.Error(), "line 2: not in patient id order") {
			t.Errorf("got %v", err)
		}
	})
}
