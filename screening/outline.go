package screening

import (
	"encoding/json"
	"time"
)

// outline is the part of a verdict document that summaries and funnels read: decoding
// only it skips the evidence, most of a document.
type outline struct {
	ScreeningID string      `json:"screening_id"`
	AsOf        time.Time   `json:"as_of"`
	Patient     PatientRef  `json:"patient"`
	Verdict     Verdict     `json:"verdict"`
	Protocol    ProtocolRef `json:"protocol"`
	Counts      Counts      `json:"counts"`
	Criteria    []struct {
		ID      string  `json:"id"`
		Kind    string  `json:"kind"`
		Outcome Outcome `json:"outcome"`
		Reason  Reason  `json:"reason"`
	} `json:"criteria"`
}

// UnmarshalOutline reads the outline of a verdict document into s: the screening id,
// as-of, patient, verdict, protocol, counts and each criterion's id, kind, outcome and
// reason. s.Criteria's array
// is reused; nothing else of s is set.
func (s *Screening) UnmarshalOutline(doc []byte) error {
	var o outline
	if err := json.Unmarshal(doc, &o); err != nil {
		return err
	}
	s.Patient, s.Verdict, s.Protocol, s.Counts = o.Patient, o.Verdict, o.Protocol, o.Counts
	s.ScreeningID, s.AsOf = o.ScreeningID, o.AsOf
	s.Criteria = s.Criteria[:0]
	for _, c := range o.Criteria {
		s.Criteria = append(s.Criteria, Result{ID: c.ID, Kind: c.Kind, Outcome: c.Outcome, Reason: c.Reason})
	}
	return nil
}
