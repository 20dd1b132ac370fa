package api

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/screening"
)

// The prefetch keys are "patient" for the Patient read and, for each resource type the
// protocol reads, the type's name ("Observation").
const prefetchPatientKey = "patient"

// prefetchTemplates are the FHIR queries the service asks the EHR to run for it: the
// Patient, and every resource of each type the protocol reads. Like the live fetch
// (fhirclient.RecordSource) they search by patient only, so that a result is the
// patient's whole record of that type; medication records bring the Medication
// resources they name (_include), without which a drug given by reference is unreadable.
func prefetchTemplates(p *screening.Protocol) map[string]string {
	m := map[string]string{prefetchPatientKey: "Patient/{{context.patientId}}"}
	for _, t := range p.NeededTypes() {
		q := t + "?patient={{context.patientId}}"
		if slices.Contains(screening.MedicationTypes, t) {
			q += "&_include=" + t + ":medication"
		}
		m[t] = q
	}
	return m
}

// missingPrefetch lists the keys the EHR did not prefetch. Such a record cannot be
// screened from the prefetch alone. The spec is followed to the letter: an absent key
// means the EHR did not (or could not) prefetch it, and a null value means the query
// found no data ("the prefetch template key MUST have a value of null"), which is an
// empty result, like an empty searchset. A null Patient, though, is missing: there is
// no screening without one.
func missingPrefetch(p *screening.Protocol, prefetch map[string]json.RawMessage) []string {
	var missing []string
	for _, k := range append([]string{prefetchPatientKey}, p.NeededTypes()...) {
		v, ok := prefetch[k]
		if !ok || k == prefetchPatientKey && isJSONNull(v) {
			missing = append(missing, k)
		}
	}
	return missing
}

func isJSONNull(v json.RawMessage) bool { return strings.TrimSpace(string(v)) == "null" }

// resourceHead is what the prefetch reader needs to know of a value before reading it.
type resourceHead struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
}

// patientPrefetched reports whether the prefetched Patient can be used: an
// OperationOutcome in its place means the EHR could not read it, and then the record
// must come from the FHIR server. Anything else but the context's Patient is a 400.
func patientPrefetched(raw json.RawMessage, patientID string) (bool, error) {
	var h resourceHead
	if err := json.Unmarshal(raw, &h); err != nil {
		return false, invalid("prefetch.patient", "is not a FHIR resource: %v", err)
	}
	switch {
	case h.ResourceType == "OperationOutcome":
		return false, nil
	case h.ResourceType != screening.TypePatient:
		return false, invalid("prefetch.patient", "is a %q resource, not a Patient", h.ResourceType)
	case h.ID != patientID:
		return false, invalid("prefetch.patient", "is Patient/%s, not the context's patient (context.patientId)", h.ID)
	}
	return true, nil
}

// recordFromPrefetch reads the prefetched Patient and searchsets into a record. Each
// needed type is complete only when its searchset is whole: a next link (the EHR paged
// it), a warning or error the EHR's search reported, or resources it masked make the
// type partial, as do fewer match entries than the Bundle's total (the EHR cut the
// search short without a next link); an OperationOutcome in place of the Bundle makes
// it failed. The criteria that read such a type are then unknown, never pass, unless
// the record can be fetched from the EHR's FHIR server instead (patientView). The caller has checked
// that every key is present (missingPrefetch) and the Patient usable.
func (s *Server) recordFromPrefetch(ctx context.Context, prefetch map[string]json.RawMessage, patientID string) (*screening.Record, error) {
	rec := fhirbundle.NewRecord()
	patient := []fhirbundle.Entry{{FullURL: "Patient/" + patientID, Resource: prefetch[prefetchPatientKey]}}
	if err := s.reader.AddResourcesContext(ctx, rec, patientID, patient); err != nil {
		if ctx.Err() != nil {
			return nil, ownWork(ctx.Err(), "reading the prefetch")
		}
		return nil, invalid("prefetch.patient", "%v", err)
	}
	rec.Sources[screening.TypePatient] = fhirbundle.PatientSource(prefetch[prefetchPatientKey])
	for _, t := range s.cfg.Protocol.NeededTypes() {
		st, entries, err := readPrefetchedSearch(t, prefetch[t])
		if err != nil {
			return nil, err
		}
		if st.State != screening.FetchFailed {
			if err := s.reader.AddResourcesContext(ctx, rec, patientID, entries); err != nil {
				if ctx.Err() != nil {
					return nil, ownWork(ctx.Err(), "reading the prefetch")
				}
				st = screening.SourceStatus{State: screening.FetchFailed, Detail: "the prefetched " + t + " could not be read: " + err.Error()}
			}
		}
		rec.Sources[t] = st
	}
	return rec, nil
}

// readPrefetchedSearch reads one prefetched searchset: its data entries, and how
// completely it holds the patient's resources of type t.
func readPrefetchedSearch(t string, raw json.RawMessage) (screening.SourceStatus, []fhirbundle.Entry, error) {
	field := "prefetch." + t
	if isJSONNull(raw) {
		return screening.SourceStatus{State: screening.FetchComplete}, nil, nil // no data, per the spec
	}
	var h resourceHead
	if err := json.Unmarshal(raw, &h); err != nil {
		return screening.SourceStatus{}, nil, invalid(field, "is not a FHIR resource: %v", err)
	}
	switch h.ResourceType {
	case "OperationOutcome":
		// The spec's way for an EHR to say it could not run the query.
		return screening.SourceStatus{State: screening.FetchFailed, Detail: "the EHR reported that it could not prefetch them (OperationOutcome)"}, nil, nil
	case "Bundle":
	default:
		return screening.SourceStatus{}, nil, invalid(field, "is a %q resource, not a searchset Bundle", h.ResourceType)
	}
	b, err := fhirbundle.SplitBundleMax(raw, 0) // the caller has counted the entries of every search
	if err != nil {
		return screening.SourceStatus{}, nil, invalid(field, "%v", err)
	}
	if b.Type != "searchset" {
		return screening.SourceStatus{}, nil, invalid(field, "is a Bundle of type %q, not searchset", b.Type)
	}
	details, ok := fhirbundle.EntryDetails(raw, len(b.Entries))
	var why []string
	if b.Next() != "" {
		why = append(why, "the EHR sent only the first page of the prefetched search")
	}
	matches := 0 // entries the search matched, to hold against Bundle.total
	entries := b.Entries
	if !ok {
		why = append(why, "the prefetched search could not be checked for warnings or masked data")
	} else {
		entries = nil
		masked, warned := 0, false
		for i, e := range b.Entries {
			de := &details[i]
			if de.Mode == "outcome" || de.ResourceType == "OperationOutcome" {
				// An OperationOutcome that describes no issue says as little as a warning.
				warned = warned || len(de.Issues) == 0 || slices.ContainsFunc(de.Issues, fhirbundle.OutcomeIssue.Serious)
				continue // about the search, not the patient
			}
			if de.Withheld {
				masked++
			}
			if de.Mode == "match" || de.Mode == "" && de.ResourceType == t {
				matches++
			}
			entries = append(entries, e)
		}
		if b.Next() == "" && b.Total > matches {
			why = append(why, fmt.Sprintf("the prefetched search holds %d of the %d matches its total gives", matches, b.Total))
		}
		if warned {
			why = append(why, "the EHR's prefetched search reported a warning or error")
		}
		if masked > 0 {
			why = append(why, fmt.Sprintf("%d prefetched resource(s) were masked, redacted or subsetted (meta)", masked))
		}
	}
	if len(why) > 0 {
		return screening.SourceStatus{State: screening.FetchPartial, Detail: strings.Join(why, "; ")}, entries, nil
	}
	return screening.SourceStatus{State: screening.FetchComplete}, entries, nil
}
