package demo

import (
	"context"
	"fmt"

	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/screening"
)

// Source serves the demo patients by FHIR id ("demo-candidate"), as a FHIR server
// would: the service's record source when no FHIR server is configured.
type Source struct {
	reader *fhirbundle.Reader
}

var _ screening.Source = (*Source)(nil)

// NewSource reads the demo patients for protocol p.
func NewSource(p *screening.Protocol) (*Source, error) {
	r, err := fhirbundle.NewReader(p)
	if err != nil {
		return nil, err
	}
	return &Source{reader: r}, nil
}

// PatientIDs lists the demo patients' FHIR ids.
func PatientIDs() []string {
	var ids []string
	for _, n := range Names() {
		ids = append(ids, idPrefix+n)
	}
	return ids
}

// Record returns a demo patient's record; an id that is not a demo patient's matches
// screening.ErrPatientNotFound.
func (s *Source) Record(_ context.Context, patientID string) (*screening.Record, error) {
	name, ok := NameForPatientID(patientID)
	if !ok {
		return nil, fmt.Errorf("demo: %w: the demo patients are %v", screening.ErrPatientNotFound, PatientIDs())
	}
	data, err := Bundle(name)
	if err != nil {
		return nil, err
	}
	return s.reader.ReadBundle(data, patientID)
}
