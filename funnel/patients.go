package funnel

import (
	"cmp"
	"slices"
	"time"

	"github.com/trialscreen/trialscreen/screening"
)

// MaxListed is how many patients of each verdict a report lists, so that a funnel of
// 100,000 patients stays a page a browser opens (and a JSON file a person reads): the
// rest are counted, and the batch's results hold them all.
const MaxListed = 200

// PatientEntry is one patient a report lists, with the stored screening when the run
// stored one (the link to its report then opens exactly that screening).
type PatientEntry struct {
	ID          string `json:"id"`
	ScreeningID string `json:"screening_id,omitempty"`
}

// listed keeps the first MaxListed patients of a verdict in id order: the same whatever
// order the documents come in, or however the run was split and merged.
type listed struct {
	shown []PatientEntry // sorted by id, then screening id
}

func comparePatients(a, b PatientEntry) int {
	return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.ScreeningID, b.ScreeningID))
}

func (l *listed) add(e PatientEntry) {
	if len(l.shown) == MaxListed && comparePatients(e, l.shown[MaxListed-1]) >= 0 {
		return
	}
	i, _ := slices.BinarySearchFunc(l.shown, e, comparePatients)
	l.shown = slices.Insert(l.shown, i, e)
	if len(l.shown) > MaxListed {
		l.shown = l.shown[:MaxListed]
	}
}

func (l *listed) merge(o *listed) {
	for _, e := range o.shown {
		l.add(e)
	}
}

// asOfSpan is the earliest and latest as-of of the documents counted: one instant for a
// batch run, a span when results of several runs are summarised together.
type asOfSpan struct {
	first, last time.Time
}

func (s *asOfSpan) add(t time.Time) {
	if t.IsZero() {
		return
	}
	if s.first.IsZero() || t.Before(s.first) {
		s.first = t
	}
	if s.last.IsZero() || t.After(s.last) {
		s.last = t
	}
}

func (s *asOfSpan) merge(o asOfSpan) {
	s.add(o.first)
	s.add(o.last)
}

// addPatient lists a counted document's patient under its verdict.
func (f *Funnel) addPatient(s *screening.Screening) {
	f.listed[slotOf[s.Verdict]].add(PatientEntry{ID: s.Patient.ID, ScreeningID: s.ScreeningID})
	f.asOf.add(s.AsOf)
}
