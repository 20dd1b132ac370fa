package main

import (
	"context"

	"github.com/trialscreen/trialscreen/api"
	"github.com/trialscreen/trialscreen/screening"
)

// fhirRecordSource is the configured FHIR server as the service's record source, with a
// readiness check and a cleanup.
func fhirRecordSource(getenv func(string) string, p *screening.Protocol, m *api.Metrics) (screening.Source, func(context.Context) error, func(), error) {
	src, closeIdle, err := fhirSource(getenv, p)
	if err != nil {
		return nil, nil, nil, err
	}
	return src, nil, closeIdle, nil
}
