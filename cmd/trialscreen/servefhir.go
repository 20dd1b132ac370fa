package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/trialscreen/trialscreen/api"
	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/screening"
)

// fhirRecordSource is the configured FHIR server as the service's record source (its
// metrics under the upstream name "default"), with a readiness check and a cleanup.
func fhirRecordSource(getenv func(string) string, p *screening.Protocol, m *api.Metrics, lim fhirLimits) (screening.Source, func(context.Context) error, func(), error) {
	src, client, closeIdle, err := fhirSource(getenv, p, m.FHIRObserver("default"), lim)
	if err != nil {
		return nil, nil, nil, err
	}
	return src, fhirReady(client), closeIdle, nil
}

// fhirReady checks that the FHIR server answers: its CapabilityStatement, or a clean
// "I have none". An open circuit breaker is not ready either: screenings would fail.
func fhirReady(c *fhirclient.Client) func(context.Context) error {
	return func(ctx context.Context) error {
		if _, err := c.Capabilities(ctx); err != nil {
			var fe *fhirclient.Error
			if errors.As(err, &fe) {
				return fmt.Errorf("the FHIR server is not reachable: %s", fe.Kind)
			}
			return errors.New("the FHIR server is not reachable")
		}
		return nil
	}
}
