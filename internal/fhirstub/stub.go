// Package fhirstub is a small FHIR R4 read/search server over patient Bundles, with a
// fixed latency per request: the upstream of the load test and of tests that need a
// FHIR server without Node. It answers what trialscreen asks (Patient read; search of a
// type by patient, in one page) and nothing else. Tests of FHIR behaviour proper use the
// real third-party server in fhirclient/testserver.
package fhirstub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/trialscreen/trialscreen/fhirbundle"
)

// Server serves patients' resources, each request after Latency.
type Server struct {
	Latency  time.Duration
	requests atomic.Int64
	patients map[string]*patient // by Patient id
}

type patient struct {
	resource json.RawMessage
	byType   map[string][]json.RawMessage
}

// New indexes bundles, each holding one patient's record, by patient and resource type.
func New(latency time.Duration, bundles ...[]byte) (*Server, error) {
	s := &Server{Latency: latency, patients: map[string]*patient{}}
	for i, data := range bundles {
		b, err := fhirbundle.SplitBundle(data)
		if err != nil {
			return nil, fmt.Errorf("fhirstub: bundle %d: %w", i, err)
		}
		p := &patient{byType: map[string][]json.RawMessage{}}
		var id string
		for _, e := range b.Entries {
			var head struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
			}
			if json.Unmarshal(e.Resource, &head) != nil {
				continue
			}
			if head.ResourceType == "Patient" {
				p.resource, id = e.Resource, head.ID
				continue
			}
			p.byType[head.ResourceType] = append(p.byType[head.ResourceType], e.Resource)
		}
		if id == "" {
			return nil, fmt.Errorf("fhirstub: bundle %d has no Patient", i)
		}
		s.patients[id] = p
	}
	return s, nil
}

// Requests is how many requests the server has answered.
func (s *Server) Requests() int64 { return s.requests.Load() }

// PatientIDs lists the patients served.
func (s *Server) PatientIDs() []string {
	ids := make([]string, 0, len(s.patients))
	for id := range s.patients {
		ids = append(ids, id)
	}
	return ids
}

// ServeHTTP answers GET [base]/Patient/{id} and GET [base]/{Type}?patient=..., with the
// base anywhere in the path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if s.Latency > 0 {
		select {
		case <-time.After(s.Latency):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/fhir+json")
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	last := parts[len(parts)-1]
	switch {
	case r.Method != http.MethodGet:
		outcome(w, http.StatusMethodNotAllowed, "not-supported", "only reads and searches")
	case len(parts) >= 2 && parts[len(parts)-2] == "Patient":
		p, ok := s.patients[last]
		if !ok {
			outcome(w, http.StatusNotFound, "not-found", "no such Patient")
			return
		}
		w.Write(p.resource)
	case last == "metadata":
		outcome(w, http.StatusNotFound, "not-supported", "no CapabilityStatement")
	default:
		ref := r.URL.Query().Get("patient")
		p, ok := s.patients[strings.TrimPrefix(ref, "Patient/")]
		var entries []json.RawMessage
		if ok {
			entries = p.byType[last]
		}
		searchset(w, entries)
	}
}

func searchset(w http.ResponseWriter, resources []json.RawMessage) {
	type entry struct {
		Resource json.RawMessage `json:"resource"`
		Search   map[string]any  `json:"search"`
	}
	b := struct {
		ResourceType string  `json:"resourceType"`
		Type         string  `json:"type"`
		Total        int     `json:"total"`
		Entry        []entry `json:"entry,omitempty"`
	}{ResourceType: "Bundle", Type: "searchset", Total: len(resources)}
	for _, r := range resources {
		b.Entry = append(b.Entry, entry{Resource: r, Search: map[string]any{"mode": "match"}})
	}
	_ = json.NewEncoder(w).Encode(b)
}

func outcome(w http.ResponseWriter, status int, code, text string) {
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":%q,"diagnostics":%q}]}`, code, text)
}
