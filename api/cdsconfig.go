package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/trialscreen/trialscreen/screening"
)

// CDSConfig configures the CDS Hooks surface: which EHRs may call, and which FHIR servers
// each may have the service fetch from.
type CDSConfig struct {
	// Clients are the EHRs allowed to call, one per JWT issuer. None: every hook call is
	// refused (discovery stays open: it holds no patient data).
	Clients []CDSClient
	// NewSource gives the record source for a FHIR server an EHR names in fhirServer. It
	// is called only after that server was found on the calling EHR's allow-list, and the
	// source must take its bearer token from the context (fhirclient.ContextToken: the
	// service puts the EHR's fhirAuthorization.access_token there). Nil: the service never
	// fetches; records come from the prefetch only.
	NewSource func(fhirServer string) (screening.Source, error)
}

// CDSClient is one EHR allowed to call the CDS Hooks service.
type CDSClient struct {
	Issuer string // the iss of its JWTs
	// JWKSURL is where its public keys are (fetched on first use and cached); JWKS is
	// the key set itself. Exactly one is given.
	JWKSURL string
	JWKS    json.RawMessage
	// FHIRServers are the base URLs (exact, a trailing slash aside) this EHR may have the
	// service fetch from with the token it sends. Any other fhirServer is refused before
	// a connection is made: a caller must not be able to point the service at a server
	// of its choosing.
	FHIRServers []string
}

// cdsConfigFile is the file form of CDSConfig. JSON is read as YAML (its flow form), so
// one decoder serves both and unknown fields are refused in both.
type cdsConfigFile struct {
	Clients []cdsClientFile `yaml:"clients"`
}

type cdsClientFile struct {
	Issuer      string   `yaml:"issuer"`
	JWKSURL     string   `yaml:"jwks_url"`
	JWKS        any      `yaml:"jwks"` // a JWK Set, kept as data and re-encoded as JSON
	FHIRServers []string `yaml:"fhir_servers"`
}

// LoadCDSConfig reads the EHRs allowed to call the CDS Hooks service from a YAML or JSON
// file:
//
//	clients:
//	  - issuer: https://ehr.example.org
//	    jwks_url: https://ehr.example.org/.well-known/jwks.json   # or jwks: {keys: [...]}
//	    fhir_servers: [https://ehr.example.org/fhir/r4]
//
// Every problem is reported at once, each naming its field. NewSource is left for the
// caller to set.
func LoadCDSConfig(path string) (CDSConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return CDSConfig{}, fmt.Errorf("cds config: %w", err)
	}
	return parseCDSConfig(data, path)
}

func parseCDSConfig(data []byte, name string) (CDSConfig, error) {
	var f cdsConfigFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return CDSConfig{}, fmt.Errorf("cds config %s: the file is empty (it needs clients:)", name)
		}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return CDSConfig{}, fmt.Errorf("cds config %s: %s", name, strings.Join(te.Errors, "; "))
		}
		return CDSConfig{}, fmt.Errorf("cds config %s: not YAML or JSON: %v", name, err)
	}
	var problems []error
	cfg := CDSConfig{}
	for i, c := range f.Clients {
		cl := CDSClient{Issuer: c.Issuer, JWKSURL: c.JWKSURL, FHIRServers: c.FHIRServers}
		if c.JWKS != nil {
			raw, err := json.Marshal(c.JWKS)
			if err != nil {
				// YAML can hold what JSON cannot (e.g. a map with non-string keys).
				problems = append(problems, fmt.Errorf("clients[%d].jwks: cannot be read as JSON: %v", i, err))
			}
			cl.JWKS = raw
		}
		cfg.Clients = append(cfg.Clients, cl)
	}
	if len(f.Clients) == 0 {
		problems = append(problems, errors.New("clients: no EHR is configured (at least one is needed)"))
	}
	problems = append(problems, cfg.problems()...)
	if len(problems) > 0 {
		return CDSConfig{}, fmt.Errorf("cds config %s: %w", name, errors.Join(problems...))
	}
	return cfg, nil
}

// Validate checks the clients: each needs an issuer (once), its keys (a JWKS URL on
// https, or an inline JWK Set of asymmetric keys, not both), and FHIR server base URLs
// that are absolute https URLs (http only on the loopback, for tests). Every problem is
// reported, each naming its field.
func (c CDSConfig) Validate() error {
	return errors.Join(c.problems()...)
}

func (c CDSConfig) problems() []error {
	var out []error
	bad := func(format string, args ...any) { out = append(out, fmt.Errorf(format, args...)) }
	seen := map[string]int{}
	for i, cl := range c.Clients {
		at := fmt.Sprintf("clients[%d]", i)
		switch {
		case strings.TrimSpace(cl.Issuer) == "":
			bad("%s.issuer: required (the iss of the EHR's JWTs)", at)
		default:
			if j, dup := seen[cl.Issuer]; dup {
				bad("%s.issuer: %q is already clients[%d].issuer", at, cl.Issuer, j)
			} else {
				seen[cl.Issuer] = i
			}
		}
		hasInline := len(cl.JWKS) > 0 && string(cl.JWKS) != "null"
		switch {
		case cl.JWKSURL == "" && !hasInline:
			bad("%s: needs jwks_url or jwks (the EHR's public keys)", at)
		case cl.JWKSURL != "" && hasInline:
			bad("%s: give jwks_url or jwks, not both", at)
		case cl.JWKSURL != "":
			if p := outboundURLProblem(cl.JWKSURL); p != "" {
				bad("%s.jwks_url: %s", at, p)
			}
		default:
			if _, err := cdsParseJWKS(cl.JWKS); err != nil {
				bad("%s.jwks: %v", at, err)
			}
		}
		for j, s := range cl.FHIRServers {
			if p := outboundURLProblem(s); p != "" {
				bad("%s.fhir_servers[%d]: %s", at, j, p)
			}
		}
	}
	return out
}
