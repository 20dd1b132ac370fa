package main

import (
	"encoding/json"
	"fmt"
	"strings"
)

// demoPrefetch answers the service's prefetch templates from a demo patient's Bundle, as
// an EHR would run them: "Patient/{{context.patientId}}" is the Patient, and
// "Type?patient={{context.patientId}}[&_include=Type:medication]" a searchset of the
// patient's resources of that type (with the Medications they may name). Every key the
// service asks for is filled, so that it screens from the prefetch alone.
func demoPrefetch(bundle []byte, patientID string, templates map[string]string) (map[string]any, error) {
	var b struct {
		Entry []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		return nil, fmt.Errorf("the demo Bundle: %w", err)
	}
	type entry struct {
		FullURL  string          `json:"fullUrl,omitempty"`
		Resource json.RawMessage `json:"resource"`
		Search   map[string]any  `json:"search"`
	}
	byType := map[string][]entry{}
	var patient json.RawMessage
	for _, e := range b.Entry {
		var head struct{ ResourceType, ID string }
		if err := json.Unmarshal(e.Resource, &head); err != nil {
			return nil, fmt.Errorf("the demo Bundle: an entry: %w", err)
		}
		if head.ResourceType == "Patient" && head.ID == patientID {
			patient = e.Resource
		}
		byType[head.ResourceType] = append(byType[head.ResourceType], entry{FullURL: e.FullURL, Resource: e.Resource})
	}
	if patient == nil {
		return nil, fmt.Errorf("the demo Bundle holds no Patient/%s", patientID)
	}
	out := map[string]any{}
	for key, tmpl := range templates {
		if strings.HasPrefix(tmpl, "Patient/") {
			out[key] = patient
			continue
		}
		typ, query, ok := strings.Cut(tmpl, "?")
		if !ok {
			return nil, fmt.Errorf("prefetch %s: the template %q is not a read or a search this demo can answer", key, tmpl)
		}
		var entries []entry
		for _, e := range byType[typ] {
			e.Search = map[string]any{"mode": "match"}
			entries = append(entries, e)
		}
		matches := len(entries)
		if _, incl, ok := strings.Cut(query, "_include="); ok && strings.HasSuffix(strings.SplitN(incl, "&", 2)[0], ":medication") {
			for _, e := range byType["Medication"] {
				e.Search = map[string]any{"mode": "include"}
				entries = append(entries, e)
			}
		}
		if entries == nil {
			entries = []entry{}
		}
		out[key] = map[string]any{"resourceType": "Bundle", "type": "searchset", "total": matches, "entry": entries}
	}
	return out, nil
}
