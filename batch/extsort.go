package batch

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// indexEntrySize is what one record costs in the sorter's index, counted in the budget.
const indexEntrySize = 48

// fanIn is the most runs merged at once; more are merged in passes first, so that the
// open files and read buffers stay bounded however large the input.
const fanIn = 64

// runBufSize is the read buffer of each run during the merge.
const runBufSize = 256 << 10

// sorter is an external merge sort of records by (key, file, line) within a memory
// budget: records go to an in-memory arena; when it is full the arena is sorted and
// written to a run file; the runs are merged at the end.
type sorter struct {
	dir     string // where run files go
	budget  int
	arena   []byte
	index   []sortEntry
	runs    []string
	nextID  int
	spilled int
}

// sortEntry locates one record in the arena, with its sort fields for fast comparison.
type sortEntry struct {
	off, end       int
	keyOff, keyEnd int
	file           uint32
	line           uint64
}

func newSorter(dir string, budget int) *sorter {
	return &sorter{dir: dir, budget: budget}
}

// Runs is how many sorted runs were written to disk (before any merge pass).
func (s *sorter) Runs() int { return s.spilled }

func (s *sorter) used() int { return len(s.arena) + len(s.index)*indexEntrySize }

// Add copies r into the sorter, writing a run first when r would not fit the budget.
func (s *sorter) Add(r *record) error {
	need := r.encodedSize()
	if len(s.index) > 0 && s.used()+need+indexEntrySize > s.budget {
		if err := s.spill(); err != nil {
			return err
		}
	}
	if len(s.arena)+need > cap(s.arena) {
		// The arena is made at its full size once, not grown by doubling: growing copies
		// it (old and new alive at once) and can overshoot the budget. The pages of a
		// fresh large allocation are only resident once written, so a small input costs
		// little.
		c := max(s.budget, len(s.arena)+need)
		s.arena = append(make([]byte, 0, c), s.arena...)
	}
	off := len(s.arena)
	s.arena = appendRecord(s.arena, r)
	keyOff := off + uvarintLen(uint64(len(r.key)))
	s.index = append(s.index, sortEntry{off: off, end: len(s.arena), keyOff: keyOff, keyEnd: keyOff + len(r.key), file: r.file, line: r.line})
	return nil
}

func uvarintLen(n uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], n)
}

func (s *sorter) sortIndex() {
	a := s.arena
	slices.SortFunc(s.index, func(x, y sortEntry) int {
		ra := record{key: a[x.keyOff:x.keyEnd], file: x.file, line: x.line}
		rb := record{key: a[y.keyOff:y.keyEnd], file: y.file, line: y.line}
		return compareRecords(&ra, &rb)
	})
}

// spill sorts the arena and writes it as one run file.
func (s *sorter) spill() error {
	s.sortIndex()
	path, err := s.writeRun(func(emit func(raw []byte) error) error {
		for _, e := range s.index {
			if err := emit(s.arena[e.off:e.end]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.runs = append(s.runs, path)
	s.spilled++
	s.arena, s.index = s.arena[:0], s.index[:0]
	return nil
}

// writeRun writes length-prefixed encoded records to a new run file.
func (s *sorter) writeRun(fill func(emit func(raw []byte) error) error) (string, error) {
	s.nextID++
	path := filepath.Join(s.dir, fmt.Sprintf("run-%06d", s.nextID))
	f, err := os.Create(path)
	if err != nil {
		return "", fmt.Errorf("batch: writing a sort run: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var lenBuf [binary.MaxVarintLen64]byte
	err = fill(func(raw []byte) error {
		n := binary.PutUvarint(lenBuf[:], uint64(len(raw)))
		if _, err := w.Write(lenBuf[:n]); err != nil {
			return err
		}
		_, err := w.Write(raw)
		return err
	})
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("batch: writing a sort run: %w", err)
	}
	return path, nil
}

// iterator yields records in order; the record's slices are valid until the next call.
type iterator interface {
	Next() (*record, error) // io.EOF after the last
	Close() error
}

// Finish returns the records in order. With nothing spilled they come straight from
// memory; otherwise the rest is spilled too and the runs are merged.
func (s *sorter) Finish() (iterator, error) {
	if len(s.runs) == 0 {
		s.sortIndex()
		return &memIterator{s: s}, nil
	}
	if len(s.index) > 0 {
		if err := s.spill(); err != nil {
			return nil, err
		}
	}
	s.arena, s.index = nil, nil // the memory goes to the merge and the screening
	for len(s.runs) > fanIn {
		if err := s.mergePass(); err != nil {
			return nil, err
		}
	}
	return openMerge(s.runs)
}

// mergePass merges the first fanIn runs into one.
func (s *sorter) mergePass() error {
	group := s.runs[:fanIn]
	m, err := openMerge(group)
	if err != nil {
		return err
	}
	path, err := s.writeRun(func(emit func(raw []byte) error) error {
		for {
			if _, err := m.Next(); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			if err := emit(m.raw()); err != nil {
				return err
			}
		}
	})
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	for _, p := range group {
		_ = os.Remove(p)
	}
	s.runs = append([]string{path}, s.runs[fanIn:]...)
	return nil
}

// memIterator walks the sorted arena.
type memIterator struct {
	s   *sorter
	i   int
	cur record
}

func (m *memIterator) Next() (*record, error) {
	if m.i >= len(m.s.index) {
		return nil, io.EOF
	}
	e := m.s.index[m.i]
	m.i++
	r, err := decodeRecord(m.s.arena[e.off:e.end])
	if err != nil {
		return nil, err
	}
	m.cur = r
	return &m.cur, nil
}

func (m *memIterator) Close() error {
	m.s.arena, m.s.index = nil, nil
	return nil
}
