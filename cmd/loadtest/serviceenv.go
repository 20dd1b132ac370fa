package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// The variables the tool sets: only what the service needs to run against the stub and
// accept the tool's calls. Every other setting stays at the binary's default, so that
// the figures are those of the shipped configuration and follow it when it changes.
const (
	envListen     = "TRIALSCREEN_LISTEN"
	envMetrics    = "TRIALSCREEN_METRICS_LISTEN" // any free port: two runs (or a local Prometheus) must not collide on :9090
	envPublicURL  = "TRIALSCREEN_PUBLIC_URL"
	envFHIRURL    = "TRIALSCREEN_FHIR_URL"
	envTokensFile = "TRIALSCREEN_API_TOKENS_FILE"
	envCDSConfig  = "TRIALSCREEN_CDS_CONFIG"
	envDataDir    = "TRIALSCREEN_DATA_DIR"
	envAuditLog   = "TRIALSCREEN_AUDIT_LOG"
	envLogLevel   = "TRIALSCREEN_LOG_LEVEL"
)

// fixedVars cannot be overridden with -env: the tool's requests depend on them (where
// the service listens and what JWT audience it checks, that it reads the stub, that the
// tool's credentials are the ones it trusts).
var fixedVars = []string{envListen, envPublicURL, envFHIRURL, envTokensFile, envCDSConfig}

// serviceSettings is the service's whole environment: nothing is inherited from the
// tool's own (not even GOMAXPROCS, GOGC or GOMEMLIMIT), so a shell's settings cannot
// change the figures unnoticed.
type serviceSettings struct {
	vars      map[string]string
	overrides map[string]bool // keys that -env set
	base      string          // the service's URL, for the tool's requests
}

// serviceEnv writes the credentials' files into work and picks a free loopback port.
func serviceEnv(work, fhirURL string, c *credentials) (serviceSettings, error) {
	port, err := freePort()
	if err != nil {
		return serviceSettings{}, err
	}
	tokens := filepath.Join(work, "api-tokens")
	if err := os.WriteFile(tokens, []byte("loadtest "+c.apiToken+"\n"), 0o600); err != nil {
		return serviceSettings{}, err
	}
	cdsFile := filepath.Join(work, "cds-config.json")
	cfg, err := c.cdsConfig()
	if err != nil {
		return serviceSettings{}, err
	}
	if err := os.WriteFile(cdsFile, cfg, 0o600); err != nil {
		return serviceSettings{}, err
	}
	data := filepath.Join(work, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		return serviceSettings{}, err
	}
	addr := net.JoinHostPort("127.0.0.1", port)
	return serviceSettings{
		vars: map[string]string{
			envListen:     addr,
			envMetrics:    "127.0.0.1:0",
			envPublicURL:  "http://" + addr,
			envFHIRURL:    fhirURL,
			envTokensFile: tokens,
			envCDSConfig:  cdsFile,
			envDataDir:    data,
			envAuditLog:   os.DevNull, // written, as in production, but not kept
			envLogLevel:   "warn",
		},
		base: "http://" + addr,
	}, nil
}

// with lays -env's variables over the tool's.
func (s serviceSettings) with(o envOverrides) serviceSettings {
	out := serviceSettings{vars: map[string]string{}, overrides: map[string]bool{}, base: s.base}
	for k, v := range s.vars {
		out.vars[k] = v
	}
	for _, kv := range o {
		out.vars[kv.key] = kv.value
		out.overrides[kv.key] = true
	}
	return out
}

// list is the environment in os/exec's form, sorted.
func (s serviceSettings) list() []string {
	var l []string
	for k, v := range s.vars {
		l = append(l, k+"="+v)
	}
	slices.Sort(l)
	return l
}

func (s serviceSettings) print(w io.Writer) {
	for _, kv := range s.list() {
		mark := ""
		if s.overrides[strings.SplitN(kv, "=", 2)[0]] {
			mark = "   (-env)"
		}
		fmt.Fprintf(w, "  %s%s\n", kv, mark)
	}
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	return port, err
}

// envOverrides is -env KEY=VALUE, repeatable, in the order given.
type envOverrides []keyValue

type keyValue struct{ key, value string }

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (e *envOverrides) String() string {
	var parts []string
	for _, kv := range *e {
		parts = append(parts, kv.key+"="+kv.value)
	}
	return strings.Join(parts, " ")
}

func (e *envOverrides) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	switch {
	case !ok:
		return fmt.Errorf("%q is not KEY=VALUE", s)
	case !envName.MatchString(k):
		return fmt.Errorf("%q is not an environment variable name", k)
	case slices.Contains(fixedVars, k):
		return fmt.Errorf("%s is set by the tool (its requests depend on it) and cannot be overridden", k)
	}
	for _, kv := range *e {
		if kv.key == k {
			return fmt.Errorf("%s is given twice", k)
		}
	}
	*e = append(*e, keyValue{k, v})
	return nil
}
