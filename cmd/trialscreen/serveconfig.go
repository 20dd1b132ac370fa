package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/trialscreen/trialscreen/api"
	"github.com/trialscreen/trialscreen/store"
	"github.com/trialscreen/trialscreen/terminology/txclient"
)

// Environment variables of trialscreen serve (the FHIR server's are in fhir.go). Flags
// of the same meaning override them.
const (
	envListen          = "TRIALSCREEN_LISTEN"               // host:port; default :8080
	envMetricsListen   = "TRIALSCREEN_METRICS_LISTEN"       // host:port of /metrics and the probes; default :9090 (serveops.go)
	envPublicURL       = "TRIALSCREEN_PUBLIC_URL"           // how callers reach the service; default http://127.0.0.1:<port>
	envProtocol        = "TRIALSCREEN_PROTOCOL"             // a protocol file; default the built-in one
	envTimeZone        = "TRIALSCREEN_TIMEZONE"             // IANA zone for calendar dates; default UTC
	envAuditLog        = "TRIALSCREEN_AUDIT_LOG"            // audit sink: a file path, or - for stdout (default)
	envLogLevel        = "TRIALSCREEN_LOG_LEVEL"            // debug, info (default), warn, error
	envRequestTimeout  = "TRIALSCREEN_REQUEST_TIMEOUT"      // per request; default 20s
	envShutdownTimeout = "TRIALSCREEN_SHUTDOWN_TIMEOUT"     // drain on SIGTERM; default 25s
	envMaxBodyBytes    = "TRIALSCREEN_MAX_BODY_BYTES"       // default from the memory limit (memlimits.go), at most 16 MiB
	envMaxEntries      = "TRIALSCREEN_MAX_BUNDLE_ENTRIES"   // entries of one record; default from the memory limit, at most 100000
	envMaxScreenings   = "TRIALSCREEN_MAX_SCREENINGS"       // screenings in progress at once; default 64, then 503
	envAPITokensFile   = "TRIALSCREEN_API_TOKENS_FILE"      // REST callers' static tokens: lines "name token"
	envAPIJWTIssuer    = "TRIALSCREEN_API_JWT_ISSUER"       // or JWT bearer tokens from this issuer...
	envAPIJWTAudience  = "TRIALSCREEN_API_JWT_AUDIENCE"     // ...for this audience...
	envAPIJWKSURL      = "TRIALSCREEN_API_JWKS_URL"         // ...signed with keys from this JWKS
	envAPIJWTMaxLife   = "TRIALSCREEN_API_JWT_MAX_LIFETIME" // ...valid for at most this long (exp - iat); default 1h
	envCDSConfig       = "TRIALSCREEN_CDS_CONFIG"           // the EHRs allowed to call CDS Hooks (YAML/JSON file)
	envReportKeyFile   = "TRIALSCREEN_REPORT_LINK_KEY_FILE"

	// A FHIR terminology server expands the protocol's SNOMED CT codesets (each concept
	// with its descendants) at start-up; see serveterminology.go.
	envTerminologyURL       = "TRIALSCREEN_TERMINOLOGY_URL"        // its base URL; unset: the shipped expansions only
	envTerminologyTokenFile = "TRIALSCREEN_TERMINOLOGY_TOKEN_FILE" // a file holding its bearer token (optional)
	envTerminologyRefresh   = "TRIALSCREEN_TERMINOLOGY_REFRESH"    // how often to re-expand into the disk cache; default 24h
	envDataDir              = "TRIALSCREEN_DATA_DIR"               // the service's own files (the SQLite store, the expansions' disk cache); default ./trialscreen-data
	// envDatabaseURL selects PostgreSQL for the store (postgres://...), what several
	// replicas share; unset: SQLite under TRIALSCREEN_DATA_DIR.
	envDatabaseURL = "TRIALSCREEN_DATABASE_URL"
	// envRetention is how long stored screenings are kept (a duration, e.g. 2160h);
	// default 90 days. Audit records are not deleted with them.
	envRetention = "TRIALSCREEN_RETENTION"
)

// defaultRetention is TRIALSCREEN_RETENTION's default: 90 days.
const defaultRetention = 90 * 24 * time.Hour

// defaultDataDir is TRIALSCREEN_DATA_DIR's default.
const defaultDataDir = "./trialscreen-data"

// maxJWTMaxLifetime bounds TRIALSCREEN_API_JWT_MAX_LIFETIME: REST callers' tokens are
// access tokens, which an issuer keeps short-lived.
const maxJWTMaxLifetime = 24 * time.Hour

// maxMaxScreenings bounds TRIALSCREEN_MAX_SCREENINGS: each screening in progress holds
// a patient's record in memory.
const maxMaxScreenings = 4096

// serveConfig is trialscreen serve's configuration, read from the environment and flags.
type serveConfig struct {
	listen, publicURL, protocol, timeZone string
	metricsListen                         string // the operators' port: /metrics, /healthz, /readyz
	auditLog, logLevel                    string
	requestTimeout, shutdownTimeout       time.Duration
	maxBodyBytes                          int64 // set explicitly; 0: derived from the memory limit
	maxEntries                            int   // set explicitly; 0: derived from the memory limit
	maxScreenings                         int   // screening requests in progress at once
	fhirMaxConcurrent                     int   // requests in flight per FHIR server
	apiTokensFile                         string
	jwtIssuer, jwtAudience, jwksURL       string
	jwtMaxLifetime                        time.Duration
	cdsConfig, reportKeyFile              string
	fhirURL                               string // empty: demo mode
	terminologyURL, terminologyTokenFile  string // empty URL: no terminology server
	terminologyRefresh                    time.Duration
	dataDir                               string
	limits                                serveLimits    // from the memory limit (memlimits.go), set by serve
	databaseURL                           string         // "": SQLite under dataDir
	retention                             time.Duration  // stored screenings are deleted past it
	signIn                                signInSettings // staff sign-in (servesignin.go); no issuer: none
}

// readServeConfig reads the environment and checks every value, naming each problem by
// its variable; it reports all problems at once so one restart can fix them.
func readServeConfig(getenv func(string) string) (serveConfig, error) {
	var problems []string
	bad := func(name, format string, args ...any) {
		problems = append(problems, name+": "+fmt.Sprintf(format, args...))
	}
	or := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	duration := func(name string, def time.Duration) time.Duration {
		v := getenv(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			bad(name, "%q is not a positive duration (e.g. 30s)", v)
			return def
		}
		return d
	}
	c := serveConfig{
		listen:          or(envListen, ":8080"),
		metricsListen:   or(envMetricsListen, ":9090"),
		protocol:        getenv(envProtocol),
		timeZone:        or(envTimeZone, "UTC"),
		auditLog:        or(envAuditLog, "-"),
		logLevel:        or(envLogLevel, "info"),
		requestTimeout:  duration(envRequestTimeout, 20*time.Second),
		shutdownTimeout: duration(envShutdownTimeout, 25*time.Second),
		apiTokensFile:   getenv(envAPITokensFile),
		jwtIssuer:       getenv(envAPIJWTIssuer),
		jwtAudience:     getenv(envAPIJWTAudience),
		jwksURL:         getenv(envAPIJWKSURL),
		jwtMaxLifetime:  duration(envAPIJWTMaxLife, api.DefaultJWTMaxLifetime),
		cdsConfig:       getenv(envCDSConfig),
		reportKeyFile:   getenv(envReportKeyFile),
		fhirURL:         getenv(envFHIRURL),

		terminologyURL:       strings.TrimSpace(getenv(envTerminologyURL)),
		terminologyTokenFile: getenv(envTerminologyTokenFile),
		terminologyRefresh:   duration(envTerminologyRefresh, 24*time.Hour),
		dataDir:              or(envDataDir, defaultDataDir),
		databaseURL:          strings.TrimSpace(getenv(envDatabaseURL)),
		retention:            duration(envRetention, defaultRetention),
	}
	if c.databaseURL != "" {
		if err := store.CheckDatabaseURL(c.databaseURL); err != nil {
			bad(envDatabaseURL, "%v (e.g. postgres://user:password@host:5432/trialscreen)", err)
		}
	}
	_, port, err := net.SplitHostPort(c.listen)
	if err != nil {
		bad(envListen, "%q is not host:port (e.g. :8080)", c.listen)
	}
	if problem := checkMetricsListen(c.metricsListen, port); problem != "" {
		bad(envMetricsListen, "%s", problem)
	}
	// 127.0.0.1 rather than localhost: the CDS Hooks audience is built from this URL, and
	// trialscreen cds-demo's default --url is http://127.0.0.1:8080.
	c.publicURL = strings.TrimRight(or(envPublicURL, "http://127.0.0.1:"+port), "/")
	if u, err := url.Parse(c.publicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		bad(envPublicURL, "is not an absolute http(s) URL without a query")
	}
	if v := getenv(envMaxBodyBytes); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 {
			bad(envMaxBodyBytes, "%q is not a byte count of at least 1024", v)
		} else {
			c.maxBodyBytes = n
		}
	}
	if v := getenv(envMaxEntries); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			bad(envMaxEntries, "%q is not a count of at least 1", v)
		} else {
			c.maxEntries = n
		}
	}
	c.maxScreenings = api.DefaultMaxScreenings
	if v := strings.TrimSpace(getenv(envMaxScreenings)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxMaxScreenings {
			bad(envMaxScreenings, "%q is not a whole number from 1 to %d", v, maxMaxScreenings)
		} else {
			c.maxScreenings = n
		}
	}
	if n, err := readFHIRMaxConcurrent(getenv); err != nil {
		problems = append(problems, err.Error())
	} else {
		c.fhirMaxConcurrent = n
	}
	if c.shutdownTimeout < c.requestTimeout {
		// A drain shorter than a request would cut off screenings still waiting on FHIR.
		bad(envShutdownTimeout, "%s is shorter than %s (%s): in-flight requests would be cut off", c.shutdownTimeout, envRequestTimeout, c.requestTimeout)
	}
	switch c.logLevel {
	case "debug", "info", "warn", "error":
	default:
		bad(envLogLevel, "%q is not one of debug, info, warn, error", c.logLevel)
	}
	if _, err := time.LoadLocation(c.timeZone); err != nil {
		bad(envTimeZone, "%q is not an IANA time zone", c.timeZone)
	}
	jwtSet := c.jwtIssuer != "" || c.jwtAudience != "" || c.jwksURL != ""
	if jwtSet && (c.jwtIssuer == "" || c.jwtAudience == "" || c.jwksURL == "") {
		bad(envAPIJWTIssuer, "JWT bearer auth needs all of %s, %s and %s", envAPIJWTIssuer, envAPIJWTAudience, envAPIJWKSURL)
	}
	if getenv(envAPIJWTMaxLife) != "" && !jwtSet {
		bad(envAPIJWTMaxLife, "is set without JWT bearer auth (%s, %s, %s)", envAPIJWTIssuer, envAPIJWTAudience, envAPIJWKSURL)
	}
	if c.jwtMaxLifetime > maxJWTMaxLifetime {
		bad(envAPIJWTMaxLife, "%s is longer than %s: a leaked token would stay usable that long", c.jwtMaxLifetime, maxJWTMaxLifetime)
	}
	c.signIn = readSignInSettings(getenv, c.demo(), duration, bad)
	if c.fhirURL != "" && c.apiTokensFile == "" && !jwtSet && c.signIn.issuer == "" {
		bad(envAPITokensFile, "with a FHIR server (%s) REST callers must be authenticated: set %s or %s/%s/%s (or staff sign-in, %s)",
			envFHIRURL, envAPITokensFile, envAPIJWTIssuer, envAPIJWTAudience, envAPIJWKSURL, envOIDCIssuer)
	}
	if c.terminologyURL != "" {
		if _, err := txclient.ParseBaseURL(c.terminologyURL); err != nil {
			bad(envTerminologyURL, "%s", strings.TrimPrefix(err.Error(), "txclient: "))
		}
	} else if c.terminologyTokenFile != "" {
		bad(envTerminologyTokenFile, "is set without %s", envTerminologyURL)
	}
	if len(problems) > 0 {
		return c, errors.New("serve: the configuration has problems:\n  " + strings.Join(problems, "\n  "))
	}
	return c, nil
}

// demo reports whether the service runs on its built-in demo patients.
func (c serveConfig) demo() bool { return c.fhirURL == "" }
