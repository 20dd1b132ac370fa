package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	cdsIssuer   = "https://ehr.loadtest.invalid"
	cdsEndpoint = "/cds-services/trialscreen-patient-view"
	cdsKeyID    = "loadtest"
)

// credentials are what the tool's calls present: a static REST token, and the key of one
// test EHR that signs CDS Hooks JWTs. Both are made fresh for each run.
type credentials struct {
	apiToken string
	ehrKey   *ecdsa.PrivateKey
}

func newCredentials() (*credentials, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return &credentials{apiToken: hex.EncodeToString(b), ehrKey: key}, nil
}

// cdsConfig is the TRIALSCREEN_CDS_CONFIG file (api.LoadCDSConfig reads JSON too):
// the test EHR with its public key inline, and no FHIR server, so the service screens
// the prefetch only.
func (c *credentials) cdsConfig() ([]byte, error) {
	pub, err := c.ehrKey.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, err
	}
	n := (len(pub) - 1) / 2
	b64 := base64.RawURLEncoding.EncodeToString
	jwk := map[string]string{
		"kty": "EC", "crv": "P-384", "kid": cdsKeyID, "alg": "ES384", "use": "sig",
		"x": b64(pub[1 : 1+n]), "y": b64(pub[1+n:]),
	}
	return json.Marshal(map[string]any{"clients": []any{map[string]any{
		"issuer": cdsIssuer, "jwks": map[string]any{"keys": []any{jwk}},
	}}})
}

// ehrToken is the i-th CDS Hooks JWT for audience, valid for validFor from now: each
// call has its own jti (the service refuses a replayed one).
func (c *credentials) ehrToken(audience string, i int, validFor time.Duration) (string, error) {
	now := time.Now()
	t := jwt.NewWithClaims(jwt.SigningMethodES384, jwt.MapClaims{
		"iss": cdsIssuer, "sub": "loadtest", "aud": audience,
		"iat": now.Unix(), "exp": now.Add(validFor).Unix(),
		"jti": fmt.Sprintf("loadtest-%d-%d", now.UnixNano(), i),
	})
	t.Header["kid"] = cdsKeyID
	return t.SignedString(c.ehrKey)
}
