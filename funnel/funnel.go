// Package funnel summarises many patients' verdict documents against one protocol: the
// verdict mix, each criterion's outcomes and the attrition in protocol order. A batch run
// builds one per shard; shards merge by Merge or by FromNDJSON over their documents.
package funnel

import (
	"time"

	"github.com/trialscreen/trialscreen/screening"
)

// Funnel accumulates verdict documents for one protocol. It is not safe for concurrent use.
type Funnel struct {
	// Label, when set, is written with the report (e.g. the run's name).
	Label string
	// GeneratedAt, when set, is written with the report. It is left out when zero so that
	// reports of the same documents compare byte for byte.
	GeneratedAt time.Time
	// RunAt, when set, is when the run that screened the patients started; left out when
	// zero, as GeneratedAt is (a resumed or merged run's files must not depend on it).
	RunAt time.Time
	// Inputs, when set, says what was screened (files, an id list, a REST request).
	Inputs []string

	protocol screening.ProtocolRef
	ids      []string
	index    map[string]int // criterion id -> position in protocol order
	crit     []tally
	patients int
	verdicts [3]int // by verdictSlot
	blocked  int    // no fail, some unknown
	skipped  map[string]int
	listed   [3]listed // by verdictSlot
	asOf     asOfSpan
}

// tally is one criterion's counts.
type tally struct {
	kind, text                  string
	pass, fail, unknown, review int
	removed                     int // first fail in protocol order: the patient leaves here
	unknownReasons              []ReasonCount
}

// New starts an empty funnel for protocol p.
func New(p *screening.Protocol) *Funnel {
	ids := p.CriterionIDs()
	f := &Funnel{
		protocol: screening.ProtocolRef{ID: p.Info.ID, Version: p.Info.Version, Title: p.Info.Title},
		ids:      ids,
		index:    make(map[string]int, len(ids)),
		crit:     make([]tally, len(ids)),
		skipped:  map[string]int{},
	}
	for i, id := range ids {
		f.index[id] = i
	}
	// The protocol exposes only its criterion ids; screening an empty record yields every
	// criterion's kind and wording exactly as verdict documents carry them, so a funnel
	// with no patients (an empty shard) still reports them.
	for _, r := range p.Evaluate(&screening.Record{}, screening.Settings{}).Criteria {
		if i, ok := f.index[r.ID]; ok {
			f.crit[i].kind, f.crit[i].text = r.Kind, r.Text
		}
	}
	return f
}

// Add counts one patient's verdict document. A document that does not belong in this
// funnel (another protocol, other criteria, a verdict that does not follow from its
// outcomes) is not counted as a patient; it is counted under skipped_documents by reason.
func (f *Funnel) Add(s *screening.Screening) {
	if err := f.add(s); err != nil {
		f.skipped[err.(*docError).reason]++
	}
}

func (f *Funnel) add(s *screening.Screening) error {
	pos, err := f.check(s)
	if err != nil {
		return err
	}
	firstFail, anyUnknown := len(f.ids), false
	for i := range s.Criteria {
		r := &s.Criteria[i]
		j := i
		if pos != nil {
			j = pos[i]
		}
		t := &f.crit[j]
		switch r.Outcome {
		case screening.Pass:
			t.pass++
		case screening.Fail:
			t.fail++
			firstFail = min(firstFail, j)
		case screening.Review:
			t.review++
		default: // unknown, and (as the engine does) any outcome outside the closed set
			t.unknown++
			t.unknownReasons = addReason(t.unknownReasons, string(r.Reason), 1)
			anyUnknown = true
		}
	}
	f.patients++
	f.verdicts[slotOf[s.Verdict]]++
	f.addPatient(s)
	if firstFail < len(f.ids) {
		f.crit[firstFail].removed++
	} else if anyUnknown {
		f.blocked++
	}
	return nil
}

// addReason adds n to reason's count. The reasons are a closed set of about ten, so a
// short slice beats a map.
func addReason(rs []ReasonCount, reason string, n int) []ReasonCount {
	for k := range rs {
		if rs[k].Reason == reason {
			rs[k].Count += n
			return rs
		}
	}
	return append(rs, ReasonCount{Reason: reason, Count: n})
}
