package fhirclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"

	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/screening"
)

// RecordSource fetches a patient's record for one protocol from a FHIR server. It
// implements screening.Source.
type RecordSource struct {
	client *Client
	reader *fhirbundle.Reader
	types  []string
}

var _ screening.Source = (*RecordSource)(nil)

// NewRecordSource fetches what protocol p reads, through client c.
func NewRecordSource(c *Client, p *screening.Protocol) (*RecordSource, error) {
	r, err := fhirbundle.NewReader(p)
	if err != nil {
		return nil, err
	}
	return &RecordSource{client: c, reader: r, types: p.NeededTypes()}, nil
}

// medicationInclude brings the Medication resources that medication records name, so the
// drug can be identified; without it a medicationReference is unreadable.
var medicationInclude = map[string]string{
	screening.TypeMedRequest:    "MedicationRequest:medication",
	screening.TypeMedStatement:  "MedicationStatement:medication",
	screening.TypeMedAdminister: "MedicationAdministration:medication",
}

// Record reads the Patient and searches every needed resource type by patient,
// concurrently (the client caps requests per server). A type whose search fails or comes
// back partial is marked so in Record.Sources, and the criteria that read it become
// unknown: a failed search never reads as "no records". An unknown patient, or a Patient
// read that fails, is an error.
func (s *RecordSource) Record(ctx context.Context, patientID string) (*screening.Record, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The Patient read and every search go out at once: the searches need only the id,
	// so a screening costs one round trip when the server allows enough concurrency.
	var patient json.RawMessage
	var patientErr error
	results := make([]*SearchResult, len(s.types))
	errs := make([]error, len(s.types))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		patient, patientErr = s.client.Read(ctx, screening.TypePatient, patientID)
		if patientErr != nil {
			cancel() // an unknown patient makes the searches moot
		}
	}()
	for i, t := range s.types {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := url.Values{"patient": {"Patient/" + patientID}}
			if inc, ok := medicationInclude[t]; ok {
				q.Set("_include", inc)
			}
			results[i], errs[i] = s.client.Search(ctx, t, q)
		}()
	}
	wg.Wait()
	if patientErr != nil {
		return nil, patientErr
	}
	rec := fhirbundle.NewRecord()
	if err := s.reader.AddResources(rec, patientID, []fhirbundle.Entry{{FullURL: "Patient/" + patientID, Resource: patient}}); err != nil {
		return nil, fmt.Errorf("fhirclient: read Patient: %w", err)
	}
	rec.Sources[screening.TypePatient] = screening.SourceStatus{State: screening.FetchComplete}
	for i, t := range s.types {
		switch res := results[i]; {
		case errs[i] != nil:
			rec.Sources[t] = screening.SourceStatus{State: screening.FetchFailed, Detail: errs[i].Error()}
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
