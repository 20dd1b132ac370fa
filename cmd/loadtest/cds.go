package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/trialscreen/trialscreen/api"
	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/fhirbundle"
)

const (
	cdsIssuer    = "https://ehr.loadtest.invalid"
	cdsPublicURL = "https://trialscreen.loadtest.invalid"
	cdsEndpoint  = "/cds-services/trialscreen-patient-view"
)

// configureCDS trusts one test EHR, whose ES384 key is made here and given inline.
func (e *environment) configureCDS(cfg *api.Config) error {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return err
	}
	e.ehrKey = key
	pub, err := key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		return err
	}
	n := (len(pub) - 1) / 2
	b64 := base64.RawURLEncoding.EncodeToString
	jwks, _ := json.Marshal(map[string]any{"keys": []any{map[string]string{
		"kty": "EC", "crv": "P-384", "kid": "loadtest", "alg": "ES384", "use": "sig",
		"x": b64(pub[1 : 1+n]), "y": b64(pub[1+n:]),
	}}})
	cfg.PublicURL = cdsPublicURL
	cfg.CDS = api.CDSConfig{Clients: []api.CDSClient{{Issuer: cdsIssuer, JWKS: jwks}}}
	return nil
}

// cdsRequests sends patient-view calls with every prefetch key filled from one patient's
// Bundle, as an EHR that honours the prefetch templates does. Each call has a fresh JWT
// (the service refuses a replayed jti), signed before the clock starts.
func (e *environment) cdsRequests(o options) (func(context.Context, int) sample, error) {
	data, err := demo.Bundle("candidate")
	if o.bundle != "" {
		data, err = os.ReadFile(o.bundle)
	}
	if err != nil {
		return nil, err
	}
	patientID, prefetch, err := prefetchOf(data, e.svcNeeds)
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
	fmt.Printf("cds: full prefetch of one patient, request body %d KB\n", len(body)/1024)
	n := int(o.duration.Seconds()*float64(o.rate)) + 64
	tokens := make([]string, n)
	for i := range tokens {
		if tokens[i], err = e.ehrToken(i); err != nil {
			return nil, err
		}
	}
	var next atomic.Int64 // each call its own token: warm-up calls included
	return func(ctx context.Context, _ int) sample {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.base+cdsEndpoint, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tokens[int(next.Add(1)-1)%len(tokens)])
		return e.do(req)
	}, nil
}

func (e *environment) ehrToken(i int) (string, error) {
	now := time.Now()
	t := jwt.NewWithClaims(jwt.SigningMethodES384, jwt.MapClaims{
		"iss": cdsIssuer, "sub": "loadtest", "aud": cdsPublicURL + cdsEndpoint,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": fmt.Sprintf("loadtest-%d-%d", now.UnixNano(), i),
	})
	t.Header["kid"] = "loadtest"
	return t.SignedString(e.ehrKey)
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
