package funnel

import (
	"fmt"

	"github.com/trialscreen/trialscreen/screening"
)

// docError says why a verdict document does not belong in a funnel; reason is a fixed
// word for the skipped_documents count, the message the detail for FromNDJSON.
type docError struct {
	reason string
	msg    string
}

func (e *docError) Error() string { return e.msg }

// verdict slots, in the order reports list them.
const (
	slotIneligible = iota
	slotInsufficient
	slotEligible
)

var slotOf = map[screening.Verdict]int{
	screening.Ineligible:          slotIneligible,
	screening.InsufficientData:    slotInsufficient,
	screening.PotentiallyEligible: slotEligible,
}

// check makes sure a document belongs in this funnel and returns where each of its
// results goes in protocol order: nil when they already are in protocol order.
func (f *Funnel) check(s *screening.Screening) ([]int, error) {
	if s.Protocol.ID != f.protocol.ID || s.Protocol.Version != f.protocol.Version {
		return nil, &docError{"other-protocol", fmt.Sprintf("the document is for protocol %q version %q, the funnel for %q version %q",
			s.Protocol.ID, s.Protocol.Version, f.protocol.ID, f.protocol.Version)}
	}
	if len(s.Criteria) != len(f.ids) {
		return nil, &docError{"criteria-mismatch", fmt.Sprintf("the document has %d criteria, the protocol %d", len(s.Criteria), len(f.ids))}
	}
	pos, err := f.positions(s.Criteria)
	if err != nil {
		return nil, err
	}
	want, ok := slotOf[s.Verdict]
	if !ok {
		return nil, &docError{"unknown-verdict", fmt.Sprintf("verdict %q is not one of ineligible, insufficient-data, potentially-eligible", s.Verdict)}
	}
	if got := verdictOf(s.Criteria); got != want {
		return nil, &docError{"verdict-mismatch", fmt.Sprintf("verdict %q does not follow from the criteria's outcomes", s.Verdict)}
	}
	return pos, nil
}

// positions maps each result to its criterion's place in protocol order; every criterion
// must appear exactly once.
func (f *Funnel) positions(rs []screening.Result) ([]int, error) {
	inOrder := true
	for i := range rs {
		if rs[i].ID != f.ids[i] {
			inOrder = false
			break
		}
	}
	if inOrder {
		return nil, nil
	}
	pos := make([]int, len(rs))
	seen := make([]bool, len(f.ids))
	for i := range rs {
		j, ok := f.index[rs[i].ID]
		if !ok {
			return nil, &docError{"criteria-mismatch", fmt.Sprintf("criterion %q is not in the protocol", rs[i].ID)}
		}
		if seen[j] {
			return nil, &docError{"criteria-mismatch", fmt.Sprintf("criterion %q appears twice", rs[i].ID)}
		}
		seen[j], pos[i] = true, j
	}
	return pos, nil
}

// verdictOf applies the contract's verdict rules (as the engine does): any fail is
// ineligible, else any unknown (or unrecognised outcome) is insufficient data.
func verdictOf(rs []screening.Result) int {
	v := slotEligible
	for i := range rs {
		switch rs[i].Outcome {
		case screening.Fail:
			return slotIneligible
		case screening.Pass, screening.Review:
		default:
			v = slotInsufficient
		}
	}
	return v
}
