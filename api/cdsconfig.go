package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

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
			if p := cdsURLProblem(cl.JWKSURL); p != "" {
				bad("%s.jwks_url: %s", at, p)
			}
		default:
			if _, err := cdsParseJWKS(cl.JWKS); err != nil {
				bad("%s.jwks: %v", at, err)
			}
		}
		for j, s := range cl.FHIRServers {
			if p := cdsURLProblem(s); p != "" {
				bad("%s.fhir_servers[%d]: %s", at, j, p)
			}
		}
	}
	return out
}

// cdsURLProblem says what is wrong with a URL the service will send requests (and
// bearer tokens) to: it must be absolute https, or http on the loopback (tests, a local
// proxy). "" when it is fine.
func cdsURLProblem(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Sprintf("%q is not a URL", raw)
	case !u.IsAbs() || u.Host == "":
		return fmt.Sprintf("%q is not an absolute URL", raw)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Sprintf("%q has a query or fragment", raw)
	case u.User != nil:
		return fmt.Sprintf("%q carries credentials", u.Redacted())
	case u.Scheme == "https":
		return ""
	case u.Scheme == "http" && cdsIsLoopback(u.Hostname()):
		return ""
	case u.Scheme == "http":
		return fmt.Sprintf("%q is plain http: https is required (http only on 127.0.0.1, ::1 or localhost)", raw)
	}
	return fmt.Sprintf("%q has scheme %q, not https", raw, u.Scheme)
}

func cdsIsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
