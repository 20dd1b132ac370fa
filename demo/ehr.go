package demo

import (
	"crypto/ecdsa"
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"errors"
	"fmt"
)

// The demo EHR is a pretend CDS Hooks client whose key pair ships here (ehr/README.md),
// so that CDS Hooks can be tried with one command (trialscreen cds-demo). Its private key
// is public: only a service in demo mode, which serves nothing but these synthetic
// patients, may trust it.
const (
	EHRIssuer = "https://demo-ehr.trialscreen.invalid" // .invalid: no real EHR can hold this name
	EHRKeyID  = "trialscreen-demo-ehr-1"
)

var (
	//go:embed ehr/demo-ehr-private-key.pem
	ehrPrivatePEM []byte
	//go:embed ehr/demo-ehr-jwks.json
	ehrJWKS []byte
)

// EHRPublicJWKS is the demo EHR's public key as a JWK Set, for the service's CDS clients.
func EHRPublicJWKS() []byte { return append([]byte(nil), ehrJWKS...) }

// EHRPrivateKey is the demo EHR's signing key (ES384). Demo use only: it is published.
func EHRPrivateKey() (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(ehrPrivatePEM)
	if block == nil {
		return nil, errors.New("demo EHR key: not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("demo EHR key: %w", err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("demo EHR key: a %T, not an ECDSA key", k)
	}
	return ec, nil
}
