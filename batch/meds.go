package batch

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
)

// medIndex keeps the Medication resources of an export aside: they belong to no patient
// but a MedicationRequest (or Statement, Administration) may name its drug only by
// medicationReference. Their lines go to a side file and only their offsets stay in
// memory (a few dozen bytes each), so that a patient's group can fetch the ones it
// references. The first Medication with an id wins.
type medIndex struct {
	f    *os.File
	w    *bufio.Writer
	size int64
	byID map[string]medLoc
}

type medLoc struct {
	off int64
	n   int
}

func newMedIndex(dir string) (*medIndex, error) {
	f, err := os.Create(filepath.Join(dir, "medications"))
	if err != nil {
		return nil, fmt.Errorf("batch: %w", err)
	}
	return &medIndex{f: f, w: bufio.NewWriterSize(f, 256<<10), byID: map[string]medLoc{}}, nil
}

func (m *medIndex) add(id string, line []byte) error {
	if id == "" {
		return nil // no reference can name it
	}
	if _, dup := m.byID[id]; dup {
		return nil
	}
	if _, err := m.w.Write(line); err != nil {
		return fmt.Errorf("batch: writing the Medication index: %w", err)
	}
	m.byID[id] = medLoc{off: m.size, n: len(line)}
	m.size += int64(len(line))
	return nil
}

// finish flushes the side file; get may be called from then on, concurrently.
func (m *medIndex) finish() error {
	if err := m.w.Flush(); err != nil {
		return fmt.Errorf("batch: writing the Medication index: %w", err)
	}
	return nil
}

// get returns the Medication with this id, or nil.
func (m *medIndex) get(id string) ([]byte, error) {
	loc, ok := m.byID[id]
	if !ok {
		return nil, nil
	}
	b := make([]byte, loc.n)
	if _, err := m.f.ReadAt(b, loc.off); err != nil {
		return nil, fmt.Errorf("batch: reading the Medication index: %w", err)
	}
	return b, nil
}

func (m *medIndex) close() error { return m.f.Close() }
