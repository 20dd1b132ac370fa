package fhirclient

// FHIRBase is the base URL of the FHIR server the source reads from (no trailing slash,
// never credentials: Config refuses them), so that a report can link the evidence it
// cites to the resources on that server.
func (s *RecordSource) FHIRBase() string { return s.client.base.String() }
