package batch

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// runReader reads one run file record by record.
type runReader struct {
	f   *os.File
	br  *bufio.Reader
	buf []byte // the current record's bytes
	cur record
}

func (r *runReader) next() error {
	n, err := binary.ReadUvarint(r.br)
	if err == io.EOF {
		return io.EOF
	}
	if err != nil {
		return fmt.Errorf("batch: reading a sort run: %w", err)
	}
	if uint64(cap(r.buf)) < n {
		r.buf = make([]byte, n)
	}
	r.buf = r.buf[:n]
	if _, err := io.ReadFull(r.br, r.buf); err != nil {
		return fmt.Errorf("batch: reading a sort run: %w", err)
	}
	r.cur, err = decodeRecord(r.buf)
	return err
}

// merger is a k-way merge of sorted runs.
type merger struct {
	readers []*runReader
	h       runHeap
	last    *runReader // whose record was returned last; advanced on the next call
}

func openMerge(paths []string) (*merger, error) {
	m := &merger{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			_ = m.Close()
			return nil, fmt.Errorf("batch: opening a sort run: %w", err)
		}
		r := &runReader{f: f, br: bufio.NewReaderSize(f, runBufSize)}
		m.readers = append(m.readers, r)
		switch err := r.next(); {
		case err == nil:
			m.h = append(m.h, r)
		case !errors.Is(err, io.EOF):
			_ = m.Close()
			return nil, err
		}
	}
	heap.Init(&m.h)
	return m, nil
}

func (m *merger) Next() (*record, error) {
	if m.last != nil {
		switch err := m.last.next(); {
		case err == nil:
			heap.Fix(&m.h, 0)
		case errors.Is(err, io.EOF):
			heap.Pop(&m.h)
		default:
			return nil, err
		}
		m.last = nil
	}
	if len(m.h) == 0 {
		return nil, io.EOF
	}
	m.last = m.h[0]
	return &m.last.cur, nil
}

// raw is the encoded bytes of the record Next returned last.
func (m *merger) raw() []byte { return m.last.buf }

func (m *merger) Close() error {
	var first error
	for _, r := range m.readers {
		if err := r.f.Close(); err != nil && first == nil {
			first = err
		}
	}
	m.readers, m.h = nil, nil
	return first
}

type runHeap []*runReader

func (h runHeap) Len() int           { return len(h) }
func (h runHeap) Less(i, j int) bool { return compareRecords(&h[i].cur, &h[j].cur) < 0 }
func (h runHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)        { *h = append(*h, x.(*runReader)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
