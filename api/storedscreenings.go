package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/store"
)

// Screenings keeps every screening the service answers, so that any replica can give it
// back later (GET /v1/screenings/{id}) and list a patient's (storedroutes.go).
// store.Store implements it.
type Screenings interface {
	Save(ctx context.Context, sc store.Screening) error
	Get(ctx context.Context, id string) (store.Screening, error)
	ListByPatient(ctx context.Context, patientID, cursor string, limit int) (store.Page, error)
}

// DefaultStoreTimeout bounds each store operation: a slow database delays a screening
// by at most this much, then the screening is answered unstored.
const DefaultStoreTimeout = 2 * time.Second

// storeScreening keeps a screening that was just answered and marks the document with
// its id. A store that fails or is slow never fails the screening: the verdict does not
// depend on it. The document then says "stored": false, the failure is logged (without
// patient data: database errors name no parameter values but the random id) and counted.
func (s *Server) storeScreening(ctx context.Context, rq screenRequest, res *screening.Screening) {
	if s.cfg.Screenings == nil {
		return
	}
	yes := true
	res.ScreeningID, res.Stored = store.NewID(), &yes
	doc, err := json.Marshal(res)
	if err != nil {
		err = fmt.Errorf("encode the verdict document: %w", err)
	} else {
		sc := store.Screening{
			ID: res.ScreeningID, PatientID: rq.PatientID, Created: s.cfg.Now().UTC(), Surface: rq.Surface,
			CallerID: rq.Caller.ID, ProtocolID: res.Protocol.ID, ProtocolVersion: res.Protocol.Version,
			AsOf: res.AsOf, LymphodepletionDate: res.Settings.LymphodepletionDate, Verdict: string(res.Verdict),
			Document: doc, Evidence: evidenceRefs(res), CardUUID: rq.CardUUID,
			PatientName: res.Patient.Name, PatientGender: res.Patient.Gender, PatientBirthDate: res.Patient.BirthDate,
			ToObtain: obtainItems(res.ToObtain), ReviewCount: len(res.ReviewItems),
		}
		if sc.PatientID == "" {
			sc.PatientID = res.Patient.ID
		}
		// The caller going away does not unmake the screening (it is audited): store it
		// anyway, within the store's own bound.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.StoreTimeout)
		start := time.Now()
		err = s.saveWithStanding(wctx, sc, res)
		s.cfg.Metrics.store.observe(storeOpSave, time.Since(start), err)
		cancel()
	}
	if err != nil {
		no := false
		res.ScreeningID, res.Stored = "", &no
		s.log.Warn("screening answered but not stored", "surface", rq.Surface, "error", err.Error())
	}
}

// evidenceRefs are the resources the screening's evidence names, with the
// meta.versionId and meta.lastUpdated the record gave for each (screening/versions.go).
func evidenceRefs(res *screening.Screening) []store.EvidenceRef {
	var refs []store.EvidenceRef
	for _, c := range res.Criteria {
		for _, e := range c.Evidence {
			if e.Resource != "" {
				refs = append(refs, store.EvidenceRef{Resource: e.Resource, VersionID: e.VersionID, LastUpdated: e.LastUpdated})
			}
		}
	}
	return refs
}

// obtainItems is what the worklist shows of a verdict's data to obtain.
func obtainItems(items []screening.Item) []store.ObtainItem {
	var out []store.ObtainItem
	for _, it := range items {
		out = append(out, store.ObtainItem{Criterion: it.Criterion, What: it.What})
	}
	return out
}

// screeningIDPattern is the shape of the ids store.NewID makes (URL-safe base64), with
// room for longer ones.
var screeningIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// errScreeningNotFound answers an id the store does not hold.
var errScreeningNotFound = errors.New("no stored screening has this id")

// errScreeningsNotStored answers the stored-screening routes of a service configured
// without a store.
var errScreeningsNotStored = errors.New("this service does not store screenings")

// storeUnavailable is a store failure while reading: a 503, since the database may be
// back in a moment.
type storeUnavailable struct{ err error }

func (e *storeUnavailable) Error() string {
	return "the screening store is unavailable: " + e.err.Error()
}
func (e *storeUnavailable) Unwrap() error { return e.err }

// storeCall runs one store operation within the store timeout, and measures it. Only
// failures count as errors: a not-found is the store answering.
func (s *Server) storeCall(ctx context.Context, op string, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.StoreTimeout)
	defer cancel()
	start := time.Now()
	err := f(ctx)
	failed := err
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrBadCursor) || errors.Is(err, store.ErrReplay) {
		failed = nil
	}
	s.cfg.Metrics.store.observe(op, time.Since(start), failed)
	return err
}
