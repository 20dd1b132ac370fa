package main

import (
	"github.com/trialscreen/trialscreen/api"
	"github.com/trialscreen/trialscreen/demo"
)

// trustDemoEHR lets the demo EHR (demo/ehr) call CDS Hooks, so that trialscreen cds-demo
// works against a service started with no configuration. Only in demo mode: the demo
// EHR's private key is published, and a service with a FHIR server serves real patients.
// It fetches nothing (no FHIR servers): its calls carry their records in the prefetch.
// Nor when the operator gave an allow-list of EHRs (TRIALSCREEN_CDS_CONFIG): that list is
// then exactly who may call, and a published key beside real EHRs would let anyone put
// screenings into the store those EHRs' screenings are in.
func trustDemoEHR(acfg *api.Config, cfg serveConfig) {
	if !cfg.demo() || cfg.cdsConfig != "" {
		return
	}
	acfg.CDS.Clients = append(acfg.CDS.Clients, api.CDSClient{Issuer: demo.EHRIssuer, JWKS: demo.EHRPublicJWKS()})
}
