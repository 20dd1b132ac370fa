package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/protocols"
)

// cdsTokenMargin is how long a CDS JWT stays valid past the window it was signed for.
// Short, because the service remembers every jti until its token expires (and caps how
// many it remembers per EHR); the service refuses more than an hour in any case.
const cdsTokenMargin = 2 * time.Minute

// cdsLoad sends patient-view calls with every prefetch key filled from one patient's
// Bundle, as an EHR that honours the prefetch templates does, so the service fetches
// nothing. Each call has a fresh JWT, signed before the clock starts.
type cdsLoad struct {
	*caller
	creds    *credentials
	audience string
	body     []byte
	tokens   []string
	next     atomic.Int64
}

func newCDSLoad(h *caller, c *credentials, bundle string) (*cdsLoad, error) {
	data, err := demo.Bundle("candidate")
	if bundle != "" {
		data, err = os.ReadFile(bundle)
	}
	if err != nil {
		return nil, err
	}
	proto, err := protocols.LoadDefault()
	if err != nil {
		return nil, err
	}
	patientID, prefetch, err := prefetchOf(data, proto.NeededTypes())
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(map[string]any{
		"hook": "patient-view", "hookInstance": "5f4e3d2c-1b0a-4c9d-8e7f-6a5b4c3d2e1f",
		"context":  map[string]any{"patientId": patientID, "userId": "Practitioner/loadtest"},
		"prefetch": prefetch,
	})
	if err != nil {
		return nil, err
	}
	// The audience is the service endpoint as the service knows itself (its public URL,
	// which the tool sets to the address it listens on).
	return &cdsLoad{caller: h, creds: c, audience: h.base + cdsEndpoint, body: body}, nil
}

func (l *cdsLoad) describe() string {
	return fmt.Sprintf("full prefetch of one patient, request body %d KB", len(l.body)/1024)
}

// prepare signs n JWTs, valid for the window d and a margin.
func (l *cdsLoad) prepare(n int, d time.Duration) error {
	l.tokens = make([]string, n)
	for i := range l.tokens {
		var err error
		if l.tokens[i], err = l.creds.ehrToken(l.audience, i, d+cdsTokenMargin); err != nil {
			return err
		}
	}
	l.next.Store(0)
	return nil
}

func (l *cdsLoad) send(ctx context.Context, _ int) sample {
	i := int(l.next.Add(1) - 1)
	if i >= len(l.tokens) {
		return sample{err: fmt.Errorf("loadtest: only %d JWTs were prepared", len(l.tokens)), own: -1}
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, l.base+cdsEndpoint, bytes.NewReader(l.body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+l.tokens[i])
	return l.do(req)
}

// prefetchOf splits a patient's Bundle into the prefetch an EHR would send: the Patient,
// and one searchset per resource type the protocol needs.
func prefetchOf(data []byte, types []string) (string, map[string]any, error) {
	b, err := fhirbundle.SplitBundle(data)
	if err != nil {
		return "", nil, err
	}
	byType := map[string][]any{}
	var patient json.RawMessage
	var patientID string
	for _, e := range b.Entries {
		var h struct{ ResourceType, ID string }
		if json.Unmarshal(e.Resource, &h) != nil {
			continue
		}
		if h.ResourceType == "Patient" {
			patient, patientID = e.Resource, h.ID
			continue
		}
		byType[h.ResourceType] = append(byType[h.ResourceType], map[string]any{"resource": e.Resource, "search": map[string]string{"mode": "match"}})
	}
	if patient == nil {
		return "", nil, fmt.Errorf("the bundle has no Patient")
	}
	pf := map[string]any{"patient": patient}
	for _, t := range types {
		entries := byType[t]
		if entries == nil {
			entries = []any{}
		}
		pf[t] = map[string]any{"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}
	}
	return patientID, pf, nil
}
