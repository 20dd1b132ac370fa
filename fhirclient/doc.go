// Package fhirclient fetches a patient's record from a hospital FHIR R4 server for the
// screening engine: reads and paged searches with same-origin next links, response size
// caps, bounded concurrency per server, retries of idempotent requests with Retry-After
// honoured under the caller's deadline, and errors classified for the caller.
// RecordSource implements screening.Source, driven by what the protocol reads.
package fhirclient
