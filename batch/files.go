package batch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Files is the input of exported files: NDJSON (one FHIR resource a line, any file
// name ending in .ndjson or .jsonl, gzipped too with .gz) and Bundle files (.json, one
// patient's record each). A path may be a file or a directory, whose files with those
// endings are read in name order (other files, e.g. a Bulk Data manifest kept beside
// them, are not inputs unless named).
type Files struct {
	Paths []string
	// MaxLine bounds one NDJSON line (default 64 MiB); longer lines are reported and
	// skipped without being held in memory.
	MaxLine int
	// whole keeps every line whole, never a stub: the tests hold the stubs to it.
	whole bool
}

type fileKind int

const (
	fileNDJSON fileKind = iota
	fileNDJSONGzip
	fileBundle
)

type inputFile struct {
	path string
	kind fileKind
	size int64
}

func kindOf(name string) (fileKind, bool) {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".ndjson"), strings.HasSuffix(n, ".jsonl"):
		return fileNDJSON, true
	case strings.HasSuffix(n, ".ndjson.gz"), strings.HasSuffix(n, ".jsonl.gz"):
		return fileNDJSONGzip, true
	case strings.HasSuffix(n, ".json"):
		return fileBundle, true
	}
	return 0, false
}

// listFiles expands the paths into input files. The list's order numbers the files, and
// the lines of one patient are read in that order.
func listFiles(paths []string) ([]inputFile, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("batch: no input files or directories given")
	}
	var out []inputFile
	seen := map[string]bool{}
	add := func(path string, kind fileKind, size int64) {
		if abs, err := filepath.Abs(path); err == nil {
			if real, err := filepath.EvalSymlinks(abs); err == nil {
				abs = real // a link and its target are one file
			}
			if seen[abs] {
				return // a file named twice is read once
			}
			seen[abs] = true
		}
		out = append(out, inputFile{path: path, kind: kind, size: size})
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("batch: input %w", err)
		}
		if !st.IsDir() {
			kind, ok := kindOf(p)
			if !ok {
				return nil, fmt.Errorf("batch: input %s: not .ndjson, .jsonl (optionally .gz) or a Bundle .json", p)
			}
			add(p, kind, st.Size())
			continue
		}
		entries, err := os.ReadDir(p) // in name order
		if err != nil {
			return nil, fmt.Errorf("batch: input %w", err)
		}
		n := len(out)
		for _, e := range entries {
			kind, ok := kindOf(e.Name())
			if !ok {
				continue
			}
			// Stat follows a symbolic link (a directory of links to an export is
			// common). A file named as input that cannot be read is an error, never
			// skipped: its resources missing could make a criterion pass.
			path := filepath.Join(p, e.Name())
			info, err := os.Stat(path)
			if err != nil {
				return nil, fmt.Errorf("batch: input %s cannot be read: %w", path, err)
			}
			if !info.Mode().IsRegular() {
				return nil, fmt.Errorf("batch: input %s is not a regular file (its name says it is input): move it out of the directory or name the files to read", path)
			}
			add(path, kind, info.Size())
		}
		if len(out) == n {
			return nil, fmt.Errorf("batch: input directory %s holds no .ndjson, .jsonl or .json files", p)
		}
	}
	if len(out) > 1<<31 {
		return nil, fmt.Errorf("batch: too many input files (%d)", len(out))
	}
	return out, nil
}

// Patients reads the files once into the external sort (see the package doc), then
// yields each patient's group in id order.
func (in Files) Patients(ctx context.Context, env *Env, yield func(Patient) error) error {
	files, err := listFiles(in.Paths)
	if err != nil {
		return err
	}
	var total int64
	for _, f := range files {
		total += f.size
	}
	env.Progress.setBytesTotal(total)
	tmp, err := os.MkdirTemp(env.TempDir, "trialscreen-batch-")
	if err != nil {
		return fmt.Errorf("batch: temporary directory: %w", err)
	}
	env.OnDone(func() { _ = os.RemoveAll(tmp) })
	meds, err := newMedIndex(tmp)
	if err != nil {
		return err
	}
	env.OnDone(func() { _ = meds.close() })
	s := &scanner{env: env, files: files, sort: newSorter(tmp, env.MemoryBudget), meds: meds, maxLine: in.MaxLine, whole: in.whole}
	if s.maxLine <= 0 {
		s.maxLine = defaultMaxLine
	}
	defer func() { _ = s.sort.wait() }() // a run still being written, when the pass failed
	if err := s.scanAll(ctx); err != nil {
		return err
	}
	if err := meds.finish(); err != nil {
		return err
	}
	it, err := s.sort.Finish()
	if err != nil {
		return err
	}
	defer it.Close()
	env.Progress.addSortRuns(s.sort.Runs())
	env.Progress.setPatientsTotal(s.patients)
	env.Progress.setPhase(PhaseScreening)
	return walkGroups(ctx, it, env.Reader.MaxEntries(), func(g *group) error {
		if p, ok := s.filesPatient(g); ok {
			return yield(p)
		}
		return nil
	})
}
