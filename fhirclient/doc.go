// Package fhirclient will fetch a patient's record from a hospital FHIR R4 server and
// fill a screening.Record (searches driven by the protocol, paging, auth, retries,
// limits). Until it lands, trialscreen screens FHIR Bundles and its demo patients only.
package fhirclient
