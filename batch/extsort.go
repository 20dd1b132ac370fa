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
//
// The budget is split between two arenas, so that one is sorted and written by a
// background goroutine while the other fills: the pass that feeds the sorter does not
// stop for the disk.
type sorter struct {
	dir     string // where run files go
	budget  int    // of one arena and its index: half the memory budget
	cur     *arena // filling
	spare   *arena // being written (pending), or free, or not made yet
	pending chan error
	runs    []string
	nextID  int
	spilled int
}

// arena holds records and their index.
type arena struct {
	data  []byte
	index []sortEntry
}

// sortEntry locates one record in the arena, with its sort fields for fast comparison.
type sortEntry struct {
	off, end       int
	keyOff, keyEnd int
	file           uint32
	line           uint64
}

func newSorter(dir string, budget int) *sorter {
	return &sorter{dir: dir, budget: max(budget/2, 1), cur: &arena{}}
}

// Runs is how many sorted runs were written to disk (before any merge pass).
func (s *sorter) Runs() int { return s.spilled }

func (a *arena) used() int { return len(a.data) + len(a.index)*indexEntrySize }

// Add copies r into the sorter, starting a run first when r would not fit the budget.
func (s *sorter) Add(r *record) error {
	need := r.encodedSize()
	a := s.cur
	if len(a.index) > 0 && a.used()+need+indexEntrySize > s.budget {
		if err := s.spillAsync(); err != nil {
			return err
		}
		a = s.cur
	}
	if len(a.data)+need > cap(a.data) {
		// The arena is made at its full size once, not grown by doubling: growing copies
		// it (old and new alive at once) and can overshoot the budget. The pages of a
		// fresh large allocation are only resident once written, so a small input costs
		// little.
		c := max(s.budget, len(a.data)+need)
		a.data = append(make([]byte, 0, c), a.data...)
	}
	off := len(a.data)
	a.data = appendRecord(a.data, r)
	keyOff := off + uvarintLen(uint64(len(r.key)))
	a.index = append(a.index, sortEntry{off: off, end: len(a.data), keyOff: keyOff, keyEnd: keyOff + len(r.key), file: r.file, line: r.line})
	return nil
}

func uvarintLen(n uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], n)
}

func (a *arena) sortIndex() {
	d := a.data
	slices.SortFunc(a.index, func(x, y sortEntry) int {
		ra := record{key: d[x.keyOff:x.keyEnd], file: x.file, line: x.line}
		rb := record{key: d[y.keyOff:y.keyEnd], file: y.file, line: y.line}
		return compareRecords(&ra, &rb)
	})
}

// wait waits for the run being written, if any, and returns its error.
func (s *sorter) wait() error {
	if s.pending == nil {
		return nil
	}
	err := <-s.pending
	s.pending = nil
	return err
}

// spillAsync hands the filling arena to a goroutine that sorts and writes it, once the
// previous one is written, and goes on with the other arena.
func (s *sorter) spillAsync() error {
	if err := s.wait(); err != nil {
		return err
	}
	full := s.cur
	if s.spare == nil {
		s.spare = &arena{}
	}
	s.cur, s.spare = s.spare, full
	s.nextID++
	path := s.runPath()
	s.runs = append(s.runs, path)
	s.spilled++
	done := make(chan error, 1)
	s.pending = done
	go func() { done <- full.spill(path) }()
	return nil
}

// spill sorts the arena, writes it as one run file and empties it.
func (a *arena) spill(path string) error {
	a.sortIndex()
	err := writeRun(path, func(emit func(raw []byte) error) error {
		for _, e := range a.index {
			if err := emit(a.data[e.off:e.end]); err != nil {
				return err
			}
		}
		return nil
	})
	a.data, a.index = a.data[:0], a.index[:0]
	return err
}

func (s *sorter) runPath() string {
	return filepath.Join(s.dir, fmt.Sprintf("run-%06d", s.nextID))
}

// writeRun writes length-prefixed encoded records to a new run file.
func writeRun(path string, fill func(emit func(raw []byte) error) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("batch: writing a sort run: %w", err)
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
		return fmt.Errorf("batch: writing a sort run: %w", err)
	}
	return nil
}

// iterator yields records in order; the record's slices are valid until the next call.
type iterator interface {
	Next() (*record, error) // io.EOF after the last
	Close() error
}

// Finish returns the records in order. With nothing spilled they come straight from
// memory; otherwise the rest is spilled too and the runs are merged.
func (s *sorter) Finish() (iterator, error) {
	if err := s.wait(); err != nil {
		return nil, err
	}
	s.spare = nil // the memory goes to the merge and the screening
	if len(s.runs) == 0 {
		s.cur.sortIndex()
		return &memIterator{a: s.cur}, nil
	}
	if len(s.cur.index) > 0 {
		s.nextID++
		path := s.runPath()
		if err := s.cur.spill(path); err != nil {
			return nil, err
		}
		s.runs = append(s.runs, path)
		s.spilled++
	}
	s.cur = &arena{}
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
	s.nextID++
	path := s.runPath()
	err = writeRun(path, func(emit func(raw []byte) error) error {
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
	a   *arena
	i   int
	cur record
}

func (m *memIterator) Next() (*record, error) {
	if m.i >= len(m.a.index) {
		return nil, io.EOF
	}
	e := m.a.index[m.i]
	m.i++
	r, err := decodeRecord(m.a.data[e.off:e.end])
	if err != nil {
		return nil, err
	}
	m.cur = r
	return &m.cur, nil
}

func (m *memIterator) Close() error {
	m.a.data, m.a.index = nil, nil
	return nil
}
