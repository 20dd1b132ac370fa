package batch

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
)

// medIndex keeps the Medication resources of an export aside: they belong to no patient
// but a MedicationRequest (or Statement, Administration) may name its drug only by
// medicationReference. Their lines go to a side file and only their offsets stay in
// memory (several dozen bytes each), so that a patient's group can fetch the ones it
// references. An id given again with the same bytes is the same Medication; an id given
// with different content, or on a line that cannot be read, is ambiguous: which drug a
// reference to it means cannot be told, so such a reference is unreadable.
type medIndex struct {
	f    *os.File
	w    *bufio.Writer
	size int64
	byID map[string]medLoc
	bad  map[string]bool // ambiguous ids
}

type medLoc struct {
	off int64
	n   int
	sum [sha256.Size]byte // of the line: a copy is told from a rival without reading it back
}

func newMedIndex(dir string) (*medIndex, error) {
	f, err := os.Create(filepath.Join(dir, "medications"))
	if err != nil {
		return nil, fmt.Errorf("batch: %w", err)
	}
	return &medIndex{f: f, w: bufio.NewWriterSize(f, 256<<10), byID: map[string]medLoc{}, bad: map[string]bool{}}, nil
}

// add indexes a Medication line; conflict is set when an earlier line has its id with
// other content.
func (m *medIndex) add(id string, line []byte) (conflict bool, err error) {
	if id == "" {
		return false, nil // no reference can name it
	}
	sum := sha256.Sum256(line)
	if loc, dup := m.byID[id]; dup {
		// Exports often repeat a shared Medication: its copies are the same bytes.
		if loc.n != len(line) || loc.sum != sum {
			m.bad[id] = true
			return true, nil
		}
		return false, nil
	}
	if _, err := m.w.Write(line); err != nil {
		return false, fmt.Errorf("batch: writing the Medication index: %w", err)
	}
	m.byID[id] = medLoc{off: m.size, n: len(line), sum: sum}
	m.size += int64(len(line))
	return false, nil
}

// finish flushes the side file; get may be called from then on, concurrently.
func (m *medIndex) finish() error {
	if err := m.w.Flush(); err != nil {
		return fmt.Errorf("batch: writing the Medication index: %w", err)
	}
	return nil
}

// markBad records that a Medication line with this id cannot be read.
func (m *medIndex) markBad(id string) { m.bad[id] = true }

// ambiguous reports whether the input gives this id more than one meaning.
func (m *medIndex) ambiguous(id string) bool { return m.bad[id] }

// get returns the Medication with this id, or nil.
func (m *medIndex) get(id string) ([]byte, error) {
	loc, ok := m.byID[id]
	if !ok {
		return nil, nil
	}
	return m.read(loc)
}

func (m *medIndex) read(loc medLoc) ([]byte, error) {
	b := make([]byte, loc.n)
	if _, err := m.f.ReadAt(b, loc.off); err != nil {
		return nil, fmt.Errorf("batch: reading the Medication index: %w", err)
	}
	return b, nil
}

func (m *medIndex) close() error { return m.f.Close() }
