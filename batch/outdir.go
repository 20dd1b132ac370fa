package batch

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Results are made durable (flushed and fsync'd) every syncEvery documents or
// syncInterval, whichever comes first: an interrupted run then loses little, and a
// fsync per patient would cost more than the screening.
const (
	syncEvery    = 256
	syncInterval = 2 * time.Second
)

// Dir is an output directory as a Sink: results.ndjson is appended in patient id
// order, so that an interrupted run leaves a prefix of the full output and --resume
// continues after its last complete line.
type Dir struct {
	path     string
	manifest Manifest
	f        *os.File
	w        *bufio.Writer
	pending  int
	lastSync time.Time
	after    string
}

// OpenDir opens dir for a run described by m. Without resume the directory must hold no
// results yet. With resume, m must describe the same run as the run.json there; the
// results file is cut back to its last complete document, and After is the id of that
// document's patient (the run goes on after it).
func OpenDir(dir string, m Manifest, resume bool) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("batch: output directory: %w", err)
	}
	results := filepath.Join(dir, ResultsFile)
	d := &Dir{path: dir, manifest: m, lastSync: time.Now()}
	if !resume {
		if st, err := os.Stat(results); err == nil && st.Size() > 0 {
			return nil, fmt.Errorf("batch: %s already holds results: resume that run with --resume, or choose another output directory", dir)
		}
		if err := writeManifest(dir, m); err != nil {
			return nil, err
		}
		f, err := os.Create(results)
		if err != nil {
			return nil, fmt.Errorf("batch: %w", err)
		}
		d.f = f
	} else {
		old, err := ReadManifest(dir)
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("batch: --resume: %s holds no run to resume (no %s)", dir, ManifestFile)
		}
		if err != nil {
			return nil, err
		}
		if diff := old.sameRun(m); diff != "" {
			return nil, fmt.Errorf("batch: --resume: %s not the same as in the run in %s; resume with the same settings and inputs", diff, dir)
		}
		f, err := os.OpenFile(results, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("batch: %w", err)
		}
		if d.after, err = recoverResults(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("batch: --resume: %s: %w", results, err)
		}
		d.f = f
		m.Complete = false
		if err := writeManifest(dir, m); err != nil {
			f.Close()
			return nil, err
		}
	}
	d.w = bufio.NewWriterSize(d.f, 1<<20)
	return d, nil
}

// After is the last patient id the results already hold; "" when none.
func (d *Dir) After() string { return d.after }

// Put appends one verdict document.
func (d *Dir) Put(r *Result) error {
	if _, err := d.w.Write(r.JSON); err != nil {
		return fmt.Errorf("batch: writing results: %w", err)
	}
	if err := d.w.WriteByte('\n'); err != nil {
		return fmt.Errorf("batch: writing results: %w", err)
	}
	d.pending++
	if d.pending >= syncEvery || time.Since(d.lastSync) >= syncInterval {
		return d.sync()
	}
	return nil
}

func (d *Dir) sync() error {
	if err := d.w.Flush(); err != nil {
		return fmt.Errorf("batch: writing results: %w", err)
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("batch: writing results: %w", err)
	}
	d.pending, d.lastSync = 0, time.Now()
	return nil
}

// Close makes what was written durable and closes the results file. It does not mark
// the run complete: Finish does.
func (d *Dir) Close() error {
	err := d.sync()
	if cerr := d.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// recoverResults cuts f back to its last complete, well-formed document and returns
// that document's patient id ("" for an empty file). What follows it is the torn write
// of an interrupted run; its patient is screened again.
func recoverResults(f *os.File) (string, error) {
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	end := st.Size()
	for end > 0 {
		start, line, err := lastLine(f, end)
		if err != nil {
			return "", err
		}
		var doc struct {
			Patient struct {
				ID string `json:"id"`
			} `json:"patient"`
		}
		if line != nil && json.Unmarshal(line, &doc) == nil && doc.Patient.ID != "" {
			if err := f.Truncate(end); err != nil {
				return "", err
			}
			_, err := f.Seek(end, io.SeekStart)
			return doc.Patient.ID, err
		}
		end = start
	}
	if err := f.Truncate(0); err != nil {
		return "", err
	}
	_, err = f.Seek(0, io.SeekStart)
	return "", err
}

// lastLine finds the last line of f[:end]. It is complete only if f[end-1] is a
// newline; otherwise line is nil and start is where the torn tail begins.
func lastLine(f *os.File, end int64) (start int64, line []byte, err error) {
	var last [1]byte
	if _, err := f.ReadAt(last[:], end-1); err != nil {
		return 0, nil, err
	}
	// The last newline before end-1, searched backwards a chunk at a time.
	start = 0
	buf := make([]byte, 64<<10)
	for pos := end - 1; pos > 0; {
		n := min(int64(len(buf)), pos)
		pos -= n
		if _, err := f.ReadAt(buf[:n], pos); err != nil {
			return 0, nil, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			start = pos + int64(i) + 1
			break
		}
	}
	if last[0] != '\n' {
		return start, nil, nil
	}
	line = make([]byte, end-1-start)
	if _, err := f.ReadAt(line, start); err != nil {
		return 0, nil, err
	}
	return start, line, nil
}
