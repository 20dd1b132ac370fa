package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/trialscreen/trialscreen/api"
	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/screening"
)

// configureAuth sets how REST and CDS Hooks callers are authenticated, which FHIR
// servers EHRs may have the service fetch from, and the report-link key. Secrets come
// from files (mounted secrets) and never appear in messages.
func configureAuth(acfg *api.Config, cfg serveConfig, m *api.Metrics, log *slog.Logger) (func(), error) {
	var auths []api.Authenticator
	var closers []func()
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	if cfg.apiTokensFile != "" {
		tokens, err := readTokensFile(cfg.apiTokensFile)
		if err != nil {
			return closeAll, err
		}
		st, err := api.NewStaticTokens(tokens)
		if err != nil {
			return closeAll, fmt.Errorf("serve: %s: %w", envAPITokensFile, err)
		}
		auths = append(auths, st)
	}
	if cfg.jwtIssuer != "" {
		ja, err := api.NewJWTAuth(api.JWTAuthConfig{Issuer: cfg.jwtIssuer, Audience: cfg.jwtAudience, JWKSURL: cfg.jwksURL, Logger: log, Now: acfg.Now, MaxLifetime: cfg.jwtMaxLifetime})
		if err != nil {
			return closeAll, fmt.Errorf("serve: %s: %w", envAPIJWKSURL, err)
		}
		auths = append(auths, ja)
		closers = append(closers, ja.Close) // its JWKS refresh
	}
	switch len(auths) {
	case 0:
	case 1:
		acfg.Auth = auths[0]
	default:
		acfg.Auth = firstOf(auths)
	}
	if cfg.cdsConfig != "" {
		cds, err := api.LoadCDSConfig(cfg.cdsConfig)
		if err != nil {
			return closeAll, fmt.Errorf("serve: %s: %w", envCDSConfig, err)
		}
		sources := &cdsSources{protocol: acfg.Protocol, metrics: m, maxConcurrent: cfg.fhirMaxConcurrent, limits: cfg.limits.fhir(), byURL: map[string]*fhirclient.RecordSource{}, names: upstreamNames(cds)}
		closers = append(closers, sources.close)
		cds.NewSource = sources.get
		acfg.CDS = cds
	}
	trustDemoEHR(acfg, cfg)
	if cfg.reportKeyFile != "" {
		key, err := os.ReadFile(cfg.reportKeyFile)
		if err != nil {
			return closeAll, fmt.Errorf("serve: %s: %w", envReportKeyFile, err)
		}
		key = bytes.TrimSpace(key)
		if len(key) < 32 {
			return closeAll, fmt.Errorf("serve: %s: the key must be at least 32 bytes", envReportKeyFile)
		}
		acfg.ReportLinkKey = key
	} else if !cfg.demo() {
		log.Warn("no " + envReportKeyFile + ": report links in CDS Hooks cards use a random key and stop working on restart or on another replica")
	}
	return closeAll, nil
}

// readTokensFile reads REST callers' tokens: one "name token" per line; blank lines
// and lines starting with # are skipped. Messages name lines, never tokens.
func readTokensFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("serve: %s: %w", envAPITokensFile, err)
	}
	tokens := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("serve: %s: line %d: want \"name token\"", envAPITokensFile, n)
		}
		if _, dup := tokens[f[0]]; dup {
			return nil, fmt.Errorf("serve: %s: line %d: the name %q is given twice", envAPITokensFile, n, f[0])
		}
		tokens[f[0]] = f[1]
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("serve: %s: no tokens in the file", envAPITokensFile)
	}
	return tokens, nil
}

// firstOf accepts a caller that any of its authenticators accepts.
type firstOf []api.Authenticator

func (f firstOf) Authenticate(r *http.Request) (api.Caller, error) {
	var errs []error
	for _, a := range f {
		c, err := a.Authenticate(r)
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return api.Caller{}, errors.Join(errs...)
}

// cdsSources keeps one FHIR client per server an EHR may name, so that each server's
// breaker and concurrency cap hold across calls. The EHR's token travels in the
// request context (fhirclient.ContextToken).
type cdsSources struct {
	protocol      *screening.Protocol
	metrics       *api.Metrics
	maxConcurrent int        // per server, as for the configured one
	limits        fhirLimits // a response's bytes, a record's entries

	names map[string]string // allowed server URL -> its metrics label, "cds-1"...

	mu      sync.Mutex
	byURL   map[string]*fhirclient.RecordSource
	clients []*fhirclient.Client
}

// upstreamNames names each allowed FHIR server for metric labels by its place in the
// configuration ("cds-1", "cds-2"...): a closed set, never the URL, and one breaker
// gauge per server.
func upstreamNames(cds api.CDSConfig) map[string]string {
	names := map[string]string{}
	for _, c := range cds.Clients {
		for _, u := range c.FHIRServers {
			u = strings.TrimRight(u, "/")
			if _, ok := names[u]; !ok {
				names[u] = fmt.Sprintf("cds-%d", len(names)+1)
			}
		}
	}
	return names
}

func (c *cdsSources) get(fhirServer string) (screening.Source, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if src, ok := c.byURL[fhirServer]; ok {
		return src, nil
	}
	name, ok := c.names[strings.TrimRight(fhirServer, "/")]
	if !ok {
		name = "cds" // the handler allows only configured servers; never a URL in a label
	}
	cfg := fhirclient.Config{BaseURL: fhirServer, Token: fhirclient.ContextToken(), Observer: c.metrics.FHIRObserver(name), MaxConcurrent: c.maxConcurrent}
	c.limits.apply(&cfg)
	fc, err := fhirclient.New(cfg)
	if err != nil {
		return nil, err
	}
	src, err := fhirclient.NewRecordSource(fc, c.protocol)
	if err != nil {
		return nil, err
	}
	c.byURL[fhirServer] = src
	c.clients = append(c.clients, fc)
	return src, nil
}

func (c *cdsSources) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, fc := range c.clients {
		fc.CloseIdleConnections()
	}
}
