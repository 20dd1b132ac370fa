package fhirbundle

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/trialscreen/trialscreen/screening"
)

// Two entries with one Type/id are one resource found twice (a search and an _include,
// an export written twice) when their content is the same. When it differs they are
// rivals: which one is the record cannot be told, and keeping the first while dropping
// the other could keep a negative result and lose the positive one. The second is then
// an unreadable entry carrying the codes of both, so every criterion either could
// decide is unknown.

// rival checks entry i against entry j, which gave the same reference first.
func (bt *batch) rival(i, j int) {
	a, b := bt.entries[j].Resource, bt.entries[i].Resource
	if sameJSON(a, b) {
		return
	}
	codes := bt.peeks[j].codes()
	if c := bt.peeks[i].codes(); len(codes) == 0 || len(c) == 0 {
		codes = nil // one of them has no codes: it could be anything
	} else {
		codes = append(append([]screening.Coding(nil), codes...), c...)
	}
	// The first copy's position is not given: in an export's group it would mean nothing.
	bt.unreadable(i, codes, fmt.Sprintf("%s given again with other content: which one is the record cannot be told",
		resourceRef(&bt.peeks[i], bt.entries[i])))
}

// rivalPatient checks a copy of the record's Patient against the one an earlier call
// read (a search that includes the Patient, an EHR's extra entries). Only what the
// criteria read of a Patient is compared: its raw JSON is not kept.
func (bt *batch) rivalPatient(i int) {
	cr, err := bt.parse(bt.entries[i].Resource)
	if err != nil {
		bt.unreadable(i, nil, err.Error())
		return
	}
	p := bt.rec.Patient
	again := convertPatient(cr.GetPatient(), p.Ref, p.ID)
	if again.BirthDate != p.BirthDate || again.Gender != p.Gender {
		bt.unreadable(i, nil, fmt.Sprintf("%s given again with another birth date or sex: which one is the record cannot be told", p.Ref))
	}
}

// sameJSON compares two resources byte for byte after removing insignificant space.
func sameJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}
