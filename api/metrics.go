package api

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/screening"
)

// Metrics are the service's Prometheus metrics, on a registry the caller owns (main
// creates it). Every label takes its values from a closed set: route templates, status
// classes, verdicts, outcomes, criterion ids, resource types, configured upstream names.
// No label ever holds a patient id, a URL or free text.
type Metrics struct {
	requestDuration *prometheus.HistogramVec // route, method, status class
	ownDuration     *prometheus.HistogramVec // route: total minus upstream wait
	screenings      *prometheus.CounterVec   // surface, verdict
	outcomes        *prometheus.CounterVec   // criterion, outcome
	fhirDuration    *prometheus.HistogramVec // upstream, resource type, status class
	fhirRetries     *prometheus.CounterVec   // upstream, resource type
	breakerState    *prometheus.GaugeVec     // upstream, state: 1 for the current state
	auditFailures   prometheus.Counter
	shed            *prometheus.CounterVec // route, reason: requests refused 503 for capacity
	inProgress      prometheus.Gauge       // screenings admitted and not yet answered
	store           *storeMetrics          // the screening store (storemetrics.go)
	desk            *deskMetrics           // sign-ins, review decisions, card feedback (deskmetrics.go)
}

// ownBuckets resolve 100 µs at the low end: the service's own work is sub-millisecond
// when it is healthy, and its SLO (5 ms p99) sits in the middle.
var ownBuckets = []float64{0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 1}

// requestBuckets cover a CDS Hooks answer (SLO 500 ms) and slow FHIR fetches.
var requestBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// NewMetrics registers the service's metrics on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "trialscreen_http_request_duration_seconds", Help: "HTTP requests served, by route template, method and status class.",
			Buckets: requestBuckets,
		}, []string{"route", "method", "status_class"}),
		ownDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "trialscreen_service_own_duration_seconds", Help: "Time the service spent on a request itself: the total minus the time waiting for FHIR servers.",
			Buckets: ownBuckets,
		}, []string{"route"}),
		screenings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trialscreen_screenings_total", Help: "Screenings completed, by surface (rest, cds-hooks, batch) and verdict.",
		}, []string{"surface", "verdict"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trialscreen_criterion_outcomes_total", Help: "Criterion outcomes of completed screenings, by criterion id and outcome.",
		}, []string{"criterion", "outcome"}),
		fhirDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "trialscreen_fhir_request_duration_seconds", Help: "Upstream FHIR requests (each attempt), by upstream, resource type and status class (error: no response; open: refused by the circuit breaker).",
			Buckets: requestBuckets,
		}, []string{"upstream", "resource_type", "status_class"}),
		fhirRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trialscreen_fhir_retries_total", Help: "Upstream FHIR requests retried, by upstream and resource type.",
		}, []string{"upstream", "resource_type"}),
		breakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "trialscreen_fhir_circuit_breaker_state", Help: "1 for the circuit breaker's current state (closed, open, half-open) per upstream, 0 for the others.",
		}, []string{"upstream", "state"}),
		auditFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trialscreen_audit_write_failures_total", Help: "Audit records that could not be written.",
		}),
		shed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trialscreen_requests_shed_total", Help: "Requests refused with 503 and Retry-After for capacity, by route template and reason (screenings: the replica's cap on screenings in progress; fhir-slots: no request slot to the FHIR server came free in time; body-memory: the memory budget for request bodies had no room within its wait).",
		}, []string{"route", "reason"}),
		inProgress: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trialscreen_screenings_in_progress", Help: "Screening requests admitted and not yet answered on this replica (capped by TRIALSCREEN_MAX_SCREENINGS).",
		}),
	}
	for _, c := range []prometheus.Collector{m.requestDuration, m.ownDuration, m.screenings, m.outcomes, m.fhirDuration, m.fhirRetries, m.breakerState, m.auditFailures, m.shed, m.inProgress} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	store, err := newStoreMetrics(reg)
	if err != nil {
		return nil, err
	}
	m.store = store
	if m.desk, err = newDeskMetrics(reg); err != nil {
		return nil, err
	}
	return m, nil
}

// ObserveScreening counts a completed screening's verdict and criterion outcomes.
func (m *Metrics) ObserveScreening(surface string, result *screening.Screening) {
	m.screenings.WithLabelValues(surface, string(result.Verdict)).Inc()
	for _, r := range result.Criteria {
		m.outcomes.WithLabelValues(r.ID, string(r.Outcome)).Inc()
	}
}

// FHIRObserver feeds the upstream metrics of one FHIR server, named upstream (a
// configured name such as "default", never its URL).
func (m *Metrics) FHIRObserver(upstream string) fhirclient.Observer {
	o := &fhirObserver{m: m, upstream: upstream}
	o.BreakerState("closed")
	return o
}

type fhirObserver struct {
	m        *Metrics
	upstream string
}

func (o *fhirObserver) Request(resourceType, statusClass string, d time.Duration) {
	o.m.fhirDuration.WithLabelValues(o.upstream, resourceType, statusClass).Observe(d.Seconds())
}

func (o *fhirObserver) Retry(resourceType string) {
	o.m.fhirRetries.WithLabelValues(o.upstream, resourceType).Inc()
}

func (o *fhirObserver) BreakerState(state string) {
	for _, s := range []string{"closed", "open", "half-open"} {
		v := 0.0
		if s == state {
			v = 1
		}
		o.m.breakerState.WithLabelValues(o.upstream, s).Set(v)
	}
}
