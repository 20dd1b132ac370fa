// Package api serves trialscreen over HTTP with Echo: REST for referral portals, CDS
// Hooks for EHRs, the coordinator's report page and health on the API port (Handler),
// and metrics with health on the operators' port (OpsHandler). It adapts the screening
// engine and a record source (the FHIR client, or the demo patients) to HTTP;
// cmd/trialscreen builds its Config.
package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/internal/bodymem"
	"github.com/trialscreen/trialscreen/screening"
)

// Config is everything the service needs. Zero durations and sizes take the defaults.
type Config struct {
	Protocol *screening.Protocol
	// Source gives patients' records by id: the configured FHIR server, or the demo
	// patients in demo mode.
	Source screening.Source
	// Demo is set when Source is the built-in demo data. Only then may REST be open.
	Demo bool
	// PublicURL is how callers reach this service, e.g. https://trialscreen.example.org:
	// the base of the report links in CDS Hooks cards, and the JWT audience EHRs use.
	PublicURL string
	// DefaultAsOf gives the evaluation instant of a screening whose request names none,
	// from the screened patient's id and now, whichever surface asks and wherever the
	// record comes from (Source, a Bundle, a CDS prefetch or fhirServer); nil: now. In
	// demo mode it is demo.DefaultAsOf: the demo patients' records were written for one
	// instant, and every surface must give them the verdicts REST gives.
	DefaultAsOf func(patientID string, now time.Time) time.Time
	// Now is the service's clock: "as of now", batch ages, report links and the report
	// cache, CDS Hooks JWTs; nil: time.Now. Tests fix it, so that no test depends on the
	// day it runs.
	Now func() time.Time
	// Location reads calendar dates; nil: UTC.
	Location *time.Location

	Logger  *slog.Logger // application log; never given patient data
	Audit   *AuditLog    // one record per patient-data access; required
	Metrics *Metrics     // required

	// ReportLinkKey signs the report links in CDS Hooks cards, so a clinician's browser
	// can open a patient's report without a REST token, for that patient and briefly.
	// Every replica needs the same key. Nil: a random key (links break on restart).
	ReportLinkKey []byte

	// Auth authenticates REST callers. Nil leaves REST open, which New allows only in
	// demo mode.
	Auth Authenticator
	// SignIn lets hospital staff sign in with the hospital's OpenID Connect provider
	// (signin.go); their browsers then reach the pages (and REST) with a session cookie.
	// Nil: no sign-in. It needs Sessions, and ReportLinkKey when several replicas serve
	// (the sign-in in progress and CSRF tokens are sealed with a key derived from it).
	SignIn *SignIn
	// Sessions keeps the signed-in sessions (sessions.go), in the store every replica
	// shares. Required with SignIn.
	Sessions Sessions
	// CDS configures the CDS Hooks surface: which EHRs may call, and which FHIR servers
	// each may have the service fetch from.
	CDS CDSConfig

	RequestTimeout time.Duration // per request, fetch included; default 30s
	MaxBodyBytes   int64         // request bodies; default 16 MiB
	// MaxBundleEntries caps the entries of one patient's record a caller sends: a Bundle,
	// or a CDS prefetch's searches together. Default fhirbundle.DefaultMaxEntries.
	MaxBundleEntries int
	// BodyMemory is the memory budget of the request bodies being read, parsed and
	// screened at once (internal/bodymem); a request that cannot get its share within
	// the budget's wait gets a 503 with Retry-After. Nil: no budget.
	BodyMemory *bodymem.Limiter
	// MaxScreenings is how many screening requests (REST, CDS Hooks) this replica works
	// on at once; default 64. One more is answered 503 with Retry-After at once
	// (admission.go). Report pages (a screening already made) and batches (their own
	// workers) are not counted.
	MaxScreenings int
	// MaxBatchesPerCaller is how many REST batches (queued, running or finished) the
	// service holds for one caller; default 10. At the limit the caller's oldest finished
	// batch makes room for a new one, and with none finished a new one is a 429, so one
	// caller cannot take every slot of the batch store.
	MaxBatchesPerCaller int

	// MetricsHandler serves GET /metrics on OpsHandler, never on Handler: the
	// per-criterion counters move with each screening, so whoever can scrape them
	// around one call learns that patient's outcomes. It is the registry main created.
	// Nil: no /metrics route.
	MetricsHandler http.Handler

	// Ready reports whether the record source can serve (e.g. the FHIR server answers).
	// Nil: always ready.
	Ready func(ctx context.Context) error
	// StoreReady reports whether the store answers, for /readyz to show. It never makes
	// the replica unready: a screening does not depend on storage, and taking every
	// replica out of the Service during a database outage would stop the screenings
	// too. Nil: the service has no store.
	StoreReady func(ctx context.Context) error

	// Screenings stores every screening answered (storedscreenings.go). Nil: none is
	// stored, the documents carry no screening_id, and the stored-screening routes 404.
	Screenings Screenings
	// Worklist gives the coordinator's worklist (GET /, GET /v1/worklist: worklist.go).
	// Nil: those routes answer 404, as the stored-screening routes do without a store.
	Worklist Worklist
	// JTIs is the CDS Hooks jti replay set shared by the replicas (cdsjti.go). Nil: each
	// replica keeps its own in memory.
	JTIs JTIStore
	// Batches keeps the REST batches, their progress and results, in the store every
	// replica shares (batchshared.go): any replica answers for any batch, and works on
	// whichever is queued. Nil: this replica's memory, lost on restart.
	Batches Batches
	// BatchLease is how long a replica holds a batch's patient without renewing its
	// claim; a replica that dies loses its patients to the others after it. Default 30s.
	BatchLease time.Duration
	// BatchPoll is how often an idle replica looks for queued batch work; default 1s.
	BatchPoll time.Duration
	// StoreTimeout bounds each store operation; default DefaultStoreTimeout.
	StoreTimeout time.Duration
}

const (
	defaultRequestTimeout = 30 * time.Second
	defaultMaxBodyBytes   = 16 << 20
	// DefaultMaxScreenings carries about 200 REST screenings a second at 20 ms per FHIR
	// request with room for bursts: each takes one FHIR round trip (its searches go out
	// at once), so a healthy replica has a handful in progress, and 64 are reached only
	// when the FHIR server or the CPU has fallen behind.
	DefaultMaxScreenings = 64
)

// Server is the HTTP service. Handler serves the API; OpsHandler serves operators.
type Server struct {
	cfg    Config
	echo   *echo.Echo         // the API port: REST, CDS Hooks, reports, probes
	ops    *echo.Echo         // the operators' port: metrics, probes (ops.go)
	reader *fhirbundle.Reader // reads Bundles that callers send
	log    *slog.Logger

	batches   *batchStore    // asynchronous REST batches in memory (batchstore.go); CloseBatches ends them
	shared    *sharedBatches // the batches of the shared store, when Config.Batches is set (batchshared.go)
	admission *admission     // caps the screenings in progress (admission.go)
	funnels   funnelCache    // the funnels of done batches, counted once (batchfunnel.go)
}

// New checks cfg and builds the service. Its errors name the field at fault.
func New(cfg Config) (*Server, error) {
	var problems []error
	if cfg.Protocol == nil {
		problems = append(problems, errors.New("api: Config.Protocol is required"))
	}
	if cfg.Source == nil {
		problems = append(problems, errors.New("api: Config.Source is required"))
	}
	if cfg.Audit == nil {
		problems = append(problems, errors.New("api: Config.Audit is required"))
	}
	if cfg.Metrics == nil {
		problems = append(problems, errors.New("api: Config.Metrics is required"))
	}
	if err := cfg.CDS.Validate(); err != nil {
		problems = append(problems, fmt.Errorf("api: Config.CDS: %w", err))
	}
	if len(cfg.CDS.Clients) > 0 && cfg.PublicURL == "" {
		problems = append(problems, errors.New("api: Config.PublicURL is required with CDS clients: it is the audience of their JWTs"))
	}
	if cfg.Auth == nil && cfg.SignIn == nil && !cfg.Demo {
		problems = append(problems, errors.New("api: Config.Auth or Config.SignIn is required outside demo mode: REST callers must be authenticated"))
	}
	if cfg.SignIn != nil && cfg.Sessions == nil {
		problems = append(problems, errors.New("api: Config.Sessions is required with Config.SignIn: sessions are kept in the store"))
	}
	if cfg.SignIn != nil && cfg.PublicURL == "" {
		problems = append(problems, errors.New("api: Config.PublicURL is required with Config.SignIn: the redirect URL is PublicURL + /auth/callback"))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = defaultRequestTimeout
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = defaultMaxBodyBytes
	}
	if cfg.MaxBundleEntries <= 0 {
		cfg.MaxBundleEntries = fhirbundle.DefaultMaxEntries
	}
	if cfg.MaxScreenings <= 0 {
		cfg.MaxScreenings = DefaultMaxScreenings
	}
	if cfg.BatchLease <= 0 {
		cfg.BatchLease = defaultBatchLease
	}
	if cfg.BatchPoll <= 0 {
		cfg.BatchPoll = defaultBatchPoll
	}
	if cfg.StoreTimeout <= 0 {
		cfg.StoreTimeout = DefaultStoreTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DefaultAsOf == nil {
		cfg.DefaultAsOf = func(_ string, now time.Time) time.Time { return now }
	}
	cfg.Audit.failed = cfg.Metrics.auditFailures.Inc // a lost audit record must show on a dashboard
	reader, err := fhirbundle.NewReader(cfg.Protocol, fhirbundle.MaxEntries(cfg.MaxBundleEntries))
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, echo: echo.New(), ops: echo.New(), reader: reader, log: cfg.Logger, admission: newAdmission(cfg.MaxScreenings)}
	s.routes()
	s.opsRoutes()
	return s, nil
}

// Handler is the service's API (REST, CDS Hooks, reports, probes) as an http.Handler. It
// has no /metrics: that is OpsHandler's.
func (s *Server) Handler() http.Handler { return s.echo }

// routes wires every surface. Middleware order matters: timing and metrics see the
// final status; the body limit and timeout apply before any handler reads.
func (s *Server) routes() {
	e := s.echo
	s.base(e)
	e.Use(middleware.BodyLimit(bodyLimit(s.cfg.MaxBodyBytes)))
	e.Use(s.timeout) // the routes that read a body pay for it within it (payForBody)
	e.Use(s.csrf)    // after the body limit: a form's token is read from a bounded body
	if s.cfg.Demo {
		e.Use(s.demoBanner) // every page says it is a demo
	}

	// The probes stay here too: the compose demo and load balancers in front of the API
	// port check it. They tell nothing about patients.
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	s.registerREST(e)
	s.registerCDS(e)
	s.registerBatches(e)
	s.registerStored(e)
	s.registerReviews(e)
	s.registerWorklist(e)
	s.registerSignIn(e)
}

// timeout bounds a request's context, so a slow FHIR server ends in a 504 rather than a
// request that hangs the caller.
func (s *Server) timeout(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.RequestTimeout)
		defer cancel()
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

// bodyLimit renders a byte count in the form Echo's BodyLimit takes. Plain bytes: its
// "M" and "K" are decimal (1 MB = 1,000,000), which is not what a byte count means.
func bodyLimit(n int64) string { return fmt.Sprintf("%dB", n) }

// base sets up what both ports share: errors as problem documents, no Echo logging, and
// every request timed and counted, a panic included.
func (s *Server) base(e *echo.Echo) {
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	// Echo's own logger writes plain text to stdout, where the audit sink may be: off.
	e.Logger.SetOutput(io.Discard)
	e.Use(s.observe) // outermost: a request that panics is still timed and counted (as a 500)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			// The stack holds code positions and raw words, not request data.
			s.log.Error("panic", "route", c.Path(), "error", err.Error(), "stack", string(stack))
			return err
		},
	}))
}
