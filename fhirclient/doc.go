// Package fhirclient reads from a hospital FHIR R4 server: Read fetches one resource and
// Search follows a searchset's next links to the end. Both are careful with a server
// they do not control: every request carries the caller's deadline, bodies and page
// counts are capped, requests per server are limited, only GETs are retried (with
// jittered backoff and Retry-After), next links are followed only on the configured
// origin, and failures come back as an *Error whose Kind says what kind of failure it
// is. Error messages name the operation and resource type, never the URL query, ids or
// tokens, so they can be logged.
//
// Fetching a patient's record for a protocol (which searches, and how they fill a
// screening.Record) builds on this and is not here yet.
package fhirclient
