package api

import (
	"context"
	"errors"
	"time"

	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/store"
)

// sinceView is the report's section on what changed since the patient's previous stored
// screening (screening.Compare works it out; this only words it).
type sinceView struct {
	When, WhenISO string // when the previous screening was made
	PreviousID    string
	Verdict       string // "Insufficient data → Ineligible"; "" when the verdict is the same
	Rows          []changeRow
	Changed       string // "2 criteria changed outcome"
	Note          string // instead of a comparison: none earlier, or it could not be read
}

type changeRow struct {
	ID, Text           string
	From, To           string // outcome codes; "" when the criterion is not in that screening
	FromLabel, ToLabel string
	FromMark, ToMark   string
	Reason, Summary    string
	InThisScreening    bool // the criteria table has a row to link to
}

// noteStoreDown stands for the comparison when the store failed.
const noteStoreDown = "The previous screening could not be read (the screening store is unavailable); reload to try again."

// previousQuery says which stored screenings share sc's record source: a patient id
// names the same patient only on one FHIR server. A card's record came from its EHR, so
// only the same EHR's cards compare; REST screenings and report pages read the
// service's own source.
func previousQuery(sc store.Screening) store.PreviousQuery {
	if sc.Surface == surfaceCDS {
		return store.PreviousQuery{Of: sc, Surfaces: []string{surfaceCDS}, CallerID: sc.CallerID}
	}
	return store.PreviousQuery{Of: sc, Surfaces: []string{surfaceREST, surfaceReport, surfaceBatch}}
}

// since finds the previous stored screening of sc's patient from the same source and
// words what changed from it to cur. A store failure does not keep the report from
// showing: the section says the comparison could not be made.
func (s *Server) since(ctx context.Context, sc store.Screening, cur *screening.Screening) *sinceView {
	pq, ok := s.cfg.Screenings.(PreviousScreenings)
	if !ok {
		return nil
	}
	var prev store.Screening
	err := s.storeCall(ctx, storeOpGet, // a stored screening read, as by id
		func(ctx context.Context) (err error) {
			prev, err = pq.Previous(ctx, previousQuery(sc))
			return err
		})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &sinceView{Note: "This is the first stored screening of this patient from this record source."}
	case err != nil:
		s.log.Warn("report: previous screening not read", "error", err.Error())
		return &sinceView{Note: noteStoreDown}
	}
	var earlier screening.Screening
	if err := decodeStored(prev.Document, &earlier); err != nil {
		s.log.Warn("report: previous screening not readable", "screening_id", prev.ID, "error", err.Error())
		return &sinceView{Note: "The previous screening could not be read."}
	}
	return sinceWords(prev, screening.Compare(&earlier, cur))
}

// sinceAnswered is since for a screening just answered (a coordinator's report page):
// nil when it was not stored. Its stored row is read back for the instant it was stored
// under, which orders it among the patient's screenings.
func (s *Server) sinceAnswered(ctx context.Context, res *screening.Screening) *sinceView {
	if res.ScreeningID == "" || s.cfg.Screenings == nil {
		return nil
	}
	sc, err := s.readStored(ctx, res.ScreeningID)
	if err != nil {
		s.log.Warn("report: stored screening not read back", "error", err.Error())
		return &sinceView{Note: noteStoreDown}
	}
	return s.since(ctx, sc, res)
}

// sinceWords puts the changes in the words the report uses.
func sinceWords(prev store.Screening, ch screening.Changes) *sinceView {
	v := &sinceView{When: displayTime(prev.Created), WhenISO: prev.Created.Format(time.RFC3339), PreviousID: prev.ID}
	if ch.VerdictFrom != ch.VerdictTo {
		v.Verdict = verdictHeadline(ch.VerdictFrom) + " → " + verdictHeadline(ch.VerdictTo)
	}
	for _, c := range ch.Criteria {
		row := changeRow{ID: c.ID, Text: c.Text, From: string(c.From), To: string(c.To), Summary: c.Summary,
			InThisScreening: c.To != "", FromLabel: "not assessed", ToLabel: "not assessed"}
		if c.From != "" {
			row.FromMark, row.FromLabel = outcomeWords(c.From)
		}
		if c.To != "" {
			row.ToMark, row.ToLabel = outcomeWords(c.To)
			row.Reason = reasonWords(c.Reason)
		}
		v.Rows = append(v.Rows, row)
	}
	v.Changed = plural(len(v.Rows), "criterion changed outcome", "criteria changed outcome")
	if len(v.Rows) == 0 {
		v.Changed = "No criterion changed outcome"
	}
	for _, u := range ch.Updated {
		mark, label := outcomeWords(u.Outcome)
		v.Rows = append(v.Rows, changeRow{ID: u.ID, Text: u.Text, From: string(u.Outcome), To: string(u.Outcome),
			FromMark: mark, FromLabel: label, ToMark: mark, ToLabel: label, InThisScreening: true,
			Summary: "Same outcome, but " + u.Resource + " that decided it was changed since: " + versionWords(u.From, u.To) + "."})
	}
	if len(ch.Updated) > 0 {
		v.Changed += "; " + plural(len(ch.Updated), "criterion's deciding record was updated", "criteria's deciding records were updated")
	}
	return v
}

// versionWords says how a resource's version moved: by meta.versionId when both
// screenings had one, else by meta.lastUpdated (screening.Compare's rule).
func versionWords(from, to screening.ResourceVersion) string {
	if from.VersionID != "" && to.VersionID != "" {
		return "version " + from.VersionID + " → " + to.VersionID
	}
	return "last updated " + from.LastUpdated + " → " + to.LastUpdated
}

// verdictHeadline is a verdict as the report's headline says it.
func verdictHeadline(v screening.Verdict) string {
	h, _ := verdictWords(&screening.Screening{Verdict: v})
	return h
}
