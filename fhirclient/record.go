package fhirclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/screening"
)

// RecordSource fetches a patient's record for one protocol from a FHIR server. It
// implements screening.Source.
type RecordSource struct {
	client *Client
	reader *fhirbundle.Reader
	types  []string

	caps *capsCache
	// noBatch is set once the server, though it declares batch, failed one of ours.
	noBatch atomic.Bool
}

var _ screening.Source = (*RecordSource)(nil)

// NewRecordSource fetches what protocol p reads, through client c.
func NewRecordSource(c *Client, p *screening.Protocol) (*RecordSource, error) {
	r, err := fhirbundle.NewReader(p)
	if err != nil {
		return nil, err
	}
	src := &RecordSource{client: c, reader: r, types: p.NeededTypes(),
		caps: &capsCache{client: c, now: time.Now}}
	return src, nil
}

// medicationInclude brings the Medication resources that medication records name, so the
// drug can be identified; without it a medicationReference is unreadable.
var medicationInclude = map[string]string{
	screening.TypeMedRequest:    "MedicationRequest:medication",
	screening.TypeMedStatement:  "MedicationStatement:medication",
	screening.TypeMedAdminister: "MedicationAdministration:medication",
	screening.TypeMedDispense:   "MedicationDispense:medication",
}

// Record reads the Patient and searches every needed resource type by patient: in one
// batch request where the server accepts batches, otherwise concurrently (the client
// caps requests per server). The pages of all the searches together may hold at most
// Config.MaxEntries entries: the search whose page goes over fails. A type whose search fails or comes back partial is marked
// so in Record.Sources, and the criteria that read it become unknown: a failed search
// never reads as "no records". An unknown patient, or a Patient read that fails, is an
// error.
func (s *RecordSource) Record(ctx context.Context, patientID string) (*screening.Record, error) {
	if !ValidID(patientID) {
		// Checked before any search goes out: the id is put into every search.
		return nil, notAnID("read Patient")
	}
	start := time.Now()
	caps := s.caps.get(ctx)
	params := make([]url.Values, len(s.types))
	for i, t := range s.types {
		params[i] = s.searchParams(t, patientID, caps)
	}
	var (
		patient json.RawMessage
		results []*SearchResult
		errs    []error
		err     error
	)
	if caps.Batch && !s.noBatch.Load() {
		patient, results, errs, err = s.fetchBatch(withRecordBudget(ctx, s.client.cfg.MaxEntries), patientID, params)
		var fe *Error
		if errors.As(err, &fe) && (fe.Kind == KindRejected || fe.Kind == KindBadResponse || fe.Kind == KindNotFound) {
			// The server declares batch but does not handle ours: fetch the usual way,
			// now and from now on.
			s.noBatch.Store(true)
			patient, results, errs, err = s.fetchConcurrently(withRecordBudget(ctx, s.client.cfg.MaxEntries), patientID, params)
		}
	} else {
		patient, results, errs, err = s.fetchConcurrently(withRecordBudget(ctx, s.client.cfg.MaxEntries), patientID, params)
	}
	reportWait(ctx, time.Since(start)) // parsing, below, is the caller's own work
	if err != nil {
		return nil, err
	}
	if err := busy(errs); err != nil {
		// This replica is at its own cap on the server: that search (or one of its next
		// pages) was never sent, so there is nothing to mark partial. The caller is told
		// to come back, not handed a screening of unknowns.
		return nil, err
	}
	return s.assemble(patientID, patient, results, errs)
}

// searchParams are the search parameters for type t of one patient.
func (s *RecordSource) searchParams(t, patientID string, caps *Capabilities) url.Values {
	q := url.Values{"patient": {"Patient/" + patientID}}
	if inc, ok := medicationInclude[t]; ok {
		q.Set("_include", inc)
	}
	// No search by code: records arrive coded in ways no list of the protocol's codes
	// stands for (OID systems, branded drugs, local codes a site maps, results inside
	// panels), and a record whose code cannot be placed must be seen to be judged.
	return q
}

// fetchBatch reads the Patient and runs every search in one batch request.
func (s *RecordSource) fetchBatch(ctx context.Context, patientID string, params []url.Values) (json.RawMessage, []*SearchResult, []error, error) {
	reqs := []BatchRequest{{ResourceType: screening.TypePatient, ID: patientID}}
	for i, t := range s.types {
		reqs = append(reqs, BatchRequest{ResourceType: t, Params: params[i]})
	}
	resps, err := s.client.Batch(ctx, reqs)
	if err != nil {
		return nil, nil, nil, err
	}
	if resps[0].Err != nil {
		return nil, nil, nil, resps[0].Err
	}
	results := make([]*SearchResult, len(s.types))
	errs := make([]error, len(s.types))
	for i := range s.types {
		results[i], errs[i] = resps[i+1].Search, resps[i+1].Err
	}
	return resps[0].Resource, results, errs, nil
}

// fetchConcurrently sends the Patient read and every search at once: the searches need
// only the id, so a screening costs one round trip when the server allows enough
// concurrency.
func (s *RecordSource) fetchConcurrently(ctx context.Context, patientID string, params []url.Values) (json.RawMessage, []*SearchResult, []error, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var patient json.RawMessage
	var patientErr error
	results := make([]*SearchResult, len(s.types))
	errs := make([]error, len(s.types))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		patient, patientErr = s.client.Read(ctx, screening.TypePatient, patientID)
		var e *Error
		if patientErr != nil && !(errors.As(patientErr, &e) && e.Transient()) {
			// An unknown patient makes the searches moot. A transient failure does not
			// cancel them: it may be the circuit breaker refusing this read while a
			// search is its one half-open probe, and a canceled probe proves nothing,
			// which would leave the circuit half-open for every screening after this.
			cancel()
		}
	}()
	for i, t := range s.types {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = s.client.Search(ctx, t, params[i])
			if errors.Is(errs[i], KindBusy) {
				cancel() // the screening will be answered busy: free the others' slots now
			}
		}()
	}
	wg.Wait()
	if err := busy(append(errs, patientErr)); err != nil {
		// The others were cancelled for it: their errors are not the answer (Record).
		return nil, nil, nil, err
	}
	if patientErr != nil {
		return nil, nil, nil, patientErr
	}
	return patient, results, errs, nil
}

// assemble builds the record from what was fetched, marking each type's fetch state.
func (s *RecordSource) assemble(patientID string, patient json.RawMessage, results []*SearchResult, errs []error) (*screening.Record, error) {
	rec := fhirbundle.NewRecord()
	if err := s.reader.AddResources(rec, patientID, []fhirbundle.Entry{{FullURL: "Patient/" + patientID, Resource: patient}}); err != nil {
		return nil, fmt.Errorf("fhirclient: read Patient: %w", err)
	}
	rec.Sources[screening.TypePatient] = fhirbundle.PatientSource(patient)
	for i, t := range s.types {
		switch res := results[i]; {
		case errs[i] != nil:
			var e *Error
			rec.Sources[t] = screening.SourceStatus{State: screening.FetchFailed, Detail: errs[i].Error(),
				Transient: errors.As(errs[i], &e) && e.Transient()}
			continue
		case res.Partial:
			rec.Sources[t] = screening.SourceStatus{State: screening.FetchPartial, Detail: res.PartialReason}
		default:
			rec.Sources[t] = screening.SourceStatus{State: screening.FetchComplete}
		}
		if err := s.reader.AddResources(rec, patientID, results[i].Entries); err != nil {
			rec.Sources[t] = screening.SourceStatus{State: screening.FetchFailed, Detail: err.Error()}
		}
	}
	return rec, nil
}

// busy is the first KindBusy error among errs, or nil: one search that found no slot
// makes the whole screening busy (its record would lack that type).
func busy(errs []error) error {
	for _, err := range errs {
		if errors.Is(err, KindBusy) {
			return err
		}
	}
	return nil
}
