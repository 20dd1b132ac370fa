package batch

import (
	"bufio"
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/trialscreen/trialscreen/funnel"
	"github.com/trialscreen/trialscreen/screening"
)

// MergeDirs merges the output directories of a run's shards into out: results.ndjson is
// a merge of theirs by patient id, so it is the same as one unsharded run's, and the
// summary and funnel are rebuilt from it. The shards must be complete runs with the
// same protocol, settings and inputs, and together be every shard of one i/n split
// exactly once (or all be unsharded runs over different inputs).
func MergeDirs(out string, dirs []string, p *screening.Protocol) (*funnel.Funnel, error) {
	if len(dirs) == 0 {
		return nil, errors.New("batch: merge: no shard directories given")
	}
	m, err := checkShards(dirs)
	if err != nil {
		return nil, err
	}
	if m.Protocol.ID != p.Info.ID || m.Protocol.Version != p.Info.Version {
		return nil, fmt.Errorf("batch: merge: the shards screened protocol %q version %q, not %q version %q", m.Protocol.ID, m.Protocol.Version, p.Info.ID, p.Info.Version)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("batch: merge: %w", err)
	}
	for _, d := range dirs {
		if same, _ := sameDir(d, out); same {
			return nil, fmt.Errorf("batch: merge: the output directory %s is one of the shards", out)
		}
	}
	m.Complete = false
	if err := writeManifest(out, m); err != nil {
		return nil, err
	}
	err = writeFileWith(filepath.Join(out, ResultsFile), func(w io.Writer) error { return mergeResults(dirs, w) })
	if err != nil {
		return nil, err
	}
	return Finish(out, p)
}

func sameDir(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}

// checkShards reads the shards' manifests and returns the merged run's.
func checkShards(dirs []string) (Manifest, error) {
	var first Manifest
	seen := map[int]string{}
	count := -1
	var inputs []string
	for i, d := range dirs {
		m, err := ReadManifest(d)
		if err != nil {
			return first, fmt.Errorf("batch: merge: %s is not a batch output directory: %w", d, err)
		}
		if !m.Complete {
			return first, fmt.Errorf("batch: merge: the run in %s did not complete; resume it (--resume) first", d)
		}
		n, idx := 0, 0
		if m.Shard != "" {
			is, ns, _ := strings.Cut(m.Shard, "/")
			idx, _ = strconv.Atoi(is)
			n, _ = strconv.Atoi(ns)
		}
		if i == 0 {
			first, count = m, n
		}
		o := m
		o.Shard, o.Inputs, o.Complete = first.Shard, first.Inputs, first.Complete
		if diff := first.sameRun(o); diff != "" {
			return first, fmt.Errorf("batch: merge: %s was screened with a different %s than %s", d, strings.TrimPrefix(diff, "the "), dirs[0])
		}
		if n != count {
			return first, fmt.Errorf("batch: merge: %s is shard %q but %s is %q: shards of one split share n", d, m.Shard, dirs[0], first.Shard)
		}
		if n > 0 {
			if prev, dup := seen[idx]; dup {
				return first, fmt.Errorf("batch: merge: %s and %s are both shard %s", prev, d, m.Shard)
			}
			seen[idx] = d
			if !slices.Equal(m.Inputs, first.Inputs) {
				return first, fmt.Errorf("batch: merge: %s read other inputs than %s; the shards of a split read the same inputs", d, dirs[0])
			}
		} else {
			inputs = append(inputs, m.Inputs...)
		}
	}
	if count > 0 {
		var missing []string
		for i := range count {
			if _, ok := seen[i]; !ok {
				missing = append(missing, fmt.Sprintf("%d/%d", i, count))
			}
		}
		if len(missing) > 0 {
			return first, fmt.Errorf("batch: merge: shard %s missing; merge every shard of the split", strings.Join(missing, ", "))
		}
	} else {
		first.Inputs = inputs
	}
	first.Shard = ""
	return first, nil
}

// mergeResults writes the documents of the shards' results files in patient id order.
func mergeResults(dirs []string, w io.Writer) error {
	h := &docHeap{}
	for _, d := range dirs {
		path := filepath.Join(d, ResultsFile)
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("batch: merge: %w", err)
		}
		defer f.Close()
		r := &docReader{path: path, lr: &lineReader{br: bufio.NewReaderSize(f, 256<<10), max: defaultMaxLine}}
		if ok, err := r.next(); err != nil {
			return err
		} else if ok {
			h.rs = append(h.rs, r)
		}
	}
	heap.Init(h)
	last := ""
	for len(h.rs) > 0 {
		r := h.rs[0]
		if r.id == last {
			return fmt.Errorf("batch: merge: %s line %d: a patient already in another shard", r.path, r.lr.line)
		}
		last = r.id
		if _, err := w.Write(r.line); err != nil {
			return err
		}
		if _, err := w.Write([]byte{'\n'}); err != nil {
			return err
		}
		switch ok, err := r.next(); {
		case err != nil:
			return err
		case ok:
			heap.Fix(h, 0)
		default:
			heap.Pop(h)
		}
	}
	return nil
}

// docReader reads one results file, checking it is in patient id order.
type docReader struct {
	path string
	lr   *lineReader
	line []byte
	id   string
}

func (r *docReader) next() (bool, error) {
	for {
		line, tooLong, err := r.lr.next()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("batch: merge: %s: %w", r.path, err)
		}
		if tooLong {
			return false, fmt.Errorf("batch: merge: %s line %d: too long", r.path, r.lr.line)
		}
		if len(line) == 0 {
			continue
		}
		var doc struct {
			Patient struct {
				ID string `json:"id"`
			} `json:"patient"`
		}
		if json.Unmarshal(line, &doc) != nil || doc.Patient.ID == "" {
			return false, fmt.Errorf("batch: merge: %s line %d: not a verdict document", r.path, r.lr.line)
		}
		if doc.Patient.ID <= r.id {
			return false, fmt.Errorf("batch: merge: %s line %d: not in patient id order", r.path, r.lr.line)
		}
		r.line, r.id = append(r.line[:0], line...), doc.Patient.ID
		return true, nil
	}
}

type docHeap struct{ rs []*docReader }

func (h *docHeap) Len() int           { return len(h.rs) }
func (h *docHeap) Less(i, j int) bool { return h.rs[i].id < h.rs[j].id }
func (h *docHeap) Swap(i, j int)      { h.rs[i], h.rs[j] = h.rs[j], h.rs[i] }
func (h *docHeap) Push(x any)         { h.rs = append(h.rs, x.(*docReader)) }
func (h *docHeap) Pop() any {
	x := h.rs[len(h.rs)-1]
	h.rs = h.rs[:len(h.rs)-1]
	return x
}
