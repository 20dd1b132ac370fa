package api

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/trialscreen/trialscreen/review"
	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/store"
)

// DecisionsOnSave is a store that stores a screening and reads its patient's current
// review decisions at once (one statement on PostgreSQL): the verdict document gets its
// review standing without another round trip. store.Store implements it.
type DecisionsOnSave interface {
	SaveReadingDecisions(ctx context.Context, sc store.Screening) ([]store.Decision, error)
}

// saveWithStanding stores a screening just answered and, when the store keeps review
// decisions, sets the document's review standing (res.Review) from them. The stored
// document has no standing: decisions made later change it, so it is worked out when
// the screening is read (withStanding).
func (s *Server) saveWithStanding(ctx context.Context, sc store.Screening, res *screening.Screening) error {
	rd, ok := s.cfg.Screenings.(DecisionsOnSave)
	if !ok {
		return s.cfg.Screenings.Save(ctx, sc)
	}
	decisions, err := rd.SaveReadingDecisions(ctx, sc)
	if err != nil {
		return err
	}
	st := review.Compute(res, sc.Evidence, decisions)
	res.Review = &st
	return nil
}

// withStanding gives a stored verdict document with its review standing as of now
// ("review", from the patient's current decisions): one store query. The document is
// otherwise returned byte for byte as stored. When the store keeps no decisions, or
// cannot be read just now, the stored document is returned as it is: the standing is
// an addition, and its absence says it was not worked out.
func (s *Server) withStanding(ctx context.Context, sc store.Screening) []byte {
	rs, ok := s.cfg.Screenings.(ReviewStore)
	if !ok {
		return sc.Document
	}
	decisions, err := s.currentDecisions(ctx, rs, sc.PatientID)
	if err != nil {
		s.log.Warn("stored screening: review decisions not read", "error", err.Error())
		return sc.Document
	}
	var doc screening.Screening
	if err := decodeStored(sc.Document, &doc); err != nil {
		s.log.Warn("stored screening: not readable for its review standing", "screening_id", sc.ID, "error", err.Error())
		return sc.Document
	}
	if doc.Review != nil {
		return sc.Document // stored with one (not by this version): left as it was
	}
	standing, err := json.Marshal(review.Compute(&doc, sc.Evidence, decisions))
	if err != nil {
		return sc.Document
	}
	return appendMember(sc.Document, "review", standing)
}

// appendMember adds "name": value at the end of a valid JSON object, leaving the rest
// of it byte for byte as it is (re-encoding the document could change how its numbers
// are written). Anything but an object is returned unchanged.
func appendMember(obj []byte, name string, value []byte) []byte {
	trimmed := bytes.TrimSpace(obj)
	if len(trimmed) < 2 || trimmed[0] != '{' || trimmed[len(trimmed)-1] != '}' {
		return obj
	}
	body := bytes.TrimSpace(trimmed[1 : len(trimmed)-1])
	key, _ := json.Marshal(name)
	out := make([]byte, 0, len(trimmed)+len(key)+len(value)+2)
	out = append(out, trimmed[:len(trimmed)-1]...)
	if len(body) > 0 {
		out = append(out, ',')
	}
	out = append(append(append(out, key...), ':'), value...)
	return append(out, '}')
}
