package batch

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
)

// Kinds of sort record.
const (
	kindResource   byte = iota + 1 // payload: one resource's JSON (an NDJSON line or a stub)
	kindPatient                    // payload: the Patient resource's JSON
	kindBundle                     // the patient's whole record is the Bundle file named by file
	kindID                         // a line of a patient-id list
	kindUnreadable                 // payload: an unreadLine (a line of this patient's that cannot be read)
)

// record is one item of the external sort: a patient id (the sort key) with where it
// came from and what it carries. Records sort by key, then file, then line, so the
// grouped stream is the same however the input was split into runs.
type record struct {
	key     []byte
	file    uint32 // index into the input's file list
	line    uint64 // 1-based line number in that file
	kind    byte
	aux     []byte // kindResource: the medicationReference, when there is one
	payload []byte
}

func compareRecords(a, b *record) int {
	if c := bytes.Compare(a.key, b.key); c != 0 {
		return c
	}
	if c := cmp.Compare(a.file, b.file); c != 0 {
		return c
	}
	return cmp.Compare(a.line, b.line)
}

// encodedSize is len(appendRecord(nil, r)) at most.
func (r *record) encodedSize() int {
	return 4*binary.MaxVarintLen64 + 1 + len(r.key) + len(r.aux) + len(r.payload)
}

// appendRecord encodes r: uvarint-prefixed key, file, line, kind, aux, payload.
func appendRecord(b []byte, r *record) []byte {
	b = binary.AppendUvarint(b, uint64(len(r.key)))
	b = append(b, r.key...)
	b = binary.AppendUvarint(b, uint64(r.file))
	b = binary.AppendUvarint(b, r.line)
	b = append(b, r.kind)
	b = binary.AppendUvarint(b, uint64(len(r.aux)))
	b = append(b, r.aux...)
	b = binary.AppendUvarint(b, uint64(len(r.payload)))
	return append(b, r.payload...)
}

var errCorruptRun = errors.New("batch: a temporary sort file is corrupt")

// decodeRecord is the inverse of appendRecord; the slices point into b.
func decodeRecord(b []byte) (record, error) {
	var r record
	next := func() ([]byte, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return nil, false
		}
		out := b[k : k+int(n)]
		b = b[k+int(n):]
		return out, true
	}
	num := func() (uint64, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 {
			return 0, false
		}
		b = b[k:]
		return n, true
	}
	var ok bool
	var file uint64
	if r.key, ok = next(); !ok {
		return r, errCorruptRun
	}
	if file, ok = num(); !ok {
		return r, errCorruptRun
	}
	r.file = uint32(file)
	if r.line, ok = num(); !ok || len(b) == 0 {
		return r, errCorruptRun
	}
	r.kind, b = b[0], b[1:]
	if r.aux, ok = next(); !ok {
		return r, errCorruptRun
	}
	if r.payload, ok = next(); !ok || len(b) != 0 {
		return r, errCorruptRun
	}
	return r, nil
}
