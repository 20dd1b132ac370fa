package api

import (
	"context"
	"net/http"
	"time"

	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/internal/bodymem"
	"github.com/trialscreen/trialscreen/screening"
)

// Surfaces, as audit records and the screenings metric name them.
const (
	surfaceREST   = "rest"
	surfaceCDS    = "cds-hooks"
	surfaceReport = "report"
)

// screenRequest is one screening, whichever surface asked for it.
type screenRequest struct {
	Surface   string
	Caller    Caller
	Address   string // the caller's network address, for the audit record
	PatientID string
	// The record comes from exactly one of these.
	Record     *screening.Record // already built (a Bundle the caller sent, or CDS prefetch)
	Source     screening.Source  // fetched by id (nil: the configured source)
	SourceName string            // for the audit record: "bundle", "prefetch", "demo", "fhir", "fhir:<server>"
	Settings   screening.Settings
	Audit      map[string]string // details for the audit record (Access.Details)
	// CardUUID is the CDS Hooks card made from this screening, stored with it so that
	// the EHR's feedback on the card finds it ("" for the other surfaces).
	CardUUID string
}

// screen fetches the record (unless given), evaluates it, and records metrics and one
// audit record, whatever the outcome. The time spent fetching counts as upstream wait,
// not as the service's own time.
func (s *Server) screen(ctx context.Context, rq screenRequest) (*screening.Screening, error) {
	// An as-of the caller chose must not be before the patient's birth; the default
	// (now) is not the caller's doing, and a birth date after it is the record's fault:
	// that record is screened as it is.
	callerAsOf := !rq.Settings.AsOf.IsZero()
	if rq.Settings.AsOf.IsZero() {
		rq.Settings.AsOf = s.defaultAsOf(rq.PatientID)
	}
	rec := rq.Record
	var err error
	if rec == nil {
		src := rq.Source
		if src == nil {
			src = s.cfg.Source
		}
		// Only the wait on a FHIR server counts as upstream; reading what came back is
		// the service's own work (a source that reports nothing is all own work).
		wctx := fhirclient.WithWaitReporter(ctx, func(d time.Duration) { addUpstream(ctx, d) })
		// The responses fetched stay in memory until the screening is evaluated: they
		// pay for it from the same budget as the bodies callers send.
		tab := s.cfg.BodyMemory.NewTab()
		defer tab.Release()
		rec, err = src.Record(bodymem.WithTab(wctx, tab), rq.PatientID)
	}
	acc := Access{
		Caller: rq.Caller.ID, User: rq.Caller.User, Surface: rq.Surface, PatientID: rq.PatientID,
		Types: s.cfg.Protocol.NeededTypes(), Source: rq.SourceName, Address: rq.Address, Err: err,
		Details: rq.Audit,
	}
	s.cfg.Audit.Record(acc)
	if err != nil {
		return nil, err
	}
	if callerAsOf {
		if err := screening.CheckBirth(rec, rq.Settings); err != nil {
			return nil, invalid("as_of", "%v", err)
		}
	}
	result := s.cfg.Protocol.Evaluate(rec, rq.Settings)
	s.cfg.Metrics.ObserveScreening(rq.Surface, result)
	s.storeScreening(ctx, rq, result)
	return result, nil
}

// defaultAsOf is the evaluation instant of a screening of patientID whose request names
// none: now, or the patient's own instant (the demo patients' in demo mode). It depends
// on the patient, not on the surface or on who sent the record, so that REST, the
// report and a CDS card give a patient one verdict.
func (s *Server) defaultAsOf(patientID string) time.Time {
	return s.cfg.DefaultAsOf(patientID, s.cfg.Now().UTC())
}

// settings are the evaluation settings of a request: as-of (zero when not given: screen
// chooses the default), an optional lymphodepletion date, and the configured time zone.
// Bad values are 400s naming the field; an as-of that is the zero time or outside the
// years 1900-9999 is one (screening.CheckAsOf), never read as "not given".
func (s *Server) settings(asOf, lymphodepletion string) (screening.Settings, error) {
	st := screening.Settings{Location: s.cfg.Location}
	if asOf != "" {
		t, err := time.Parse(time.RFC3339, asOf)
		if err != nil {
			return st, invalid("as_of", "%q is not an RFC 3339 instant (e.g. 2026-11-20T12:00:00Z)", asOf)
		}
		if err := screening.CheckAsOf(t); err != nil {
			return st, invalid("as_of", "%v", err)
		}
		st.AsOf = t
	}
	if lymphodepletion != "" {
		t, err := time.ParseInLocation("2006-01-02", lymphodepletion, s.cfg.Location)
		if err != nil {
			return st, invalid("lymphodepletion_date", "%q is not a date (YYYY-MM-DD)", lymphodepletion)
		}
		st.LymphodepletionDate = t
	}
	return st, nil
}

// remoteAddr is the caller's address for audit records: the TCP peer, not a header a
// caller could forge.
func remoteAddr(r *http.Request) string { return r.RemoteAddr }
