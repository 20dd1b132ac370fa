package txclient

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Source is where the running protocol's expansions came from.
type Source string

const (
	SourceServer  Source = "server"  // the terminology server, at start-up
	SourceCache   Source = "cache"   // the disk cache of an earlier expansion by the server
	SourceShipped Source = "shipped" // neither: the shipped expansions and curated codes only
)

// Sources is every Source, in a fixed order.
var Sources = []Source{SourceServer, SourceCache, SourceShipped}

// Metric names (on the registry the service exports at /metrics).
const (
	MetricSource         = "trialscreen_terminology_expansion_source"
	MetricFailures       = "trialscreen_terminology_expand_failures_total"
	MetricLastSuccess    = "trialscreen_terminology_last_success_timestamp_seconds"
	MetricRestartPending = "trialscreen_terminology_restart_pending"
)

// Metrics are the terminology expansion's series. A nil *Metrics records nothing.
type Metrics struct {
	source         *prometheus.GaugeVec
	failures       *prometheus.CounterVec
	lastSuccess    prometheus.Gauge
	restartPending prometheus.Gauge
}

// NewMetrics registers the series on reg, every label value present from the start.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		source: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricSource,
			Help: "1 for where the running protocol's SNOMED CT expansions came from (server, cache, shipped), 0 for the others.",
		}, []string{"source"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricFailures,
			Help: "Expansions of the protocol's codesets on the terminology server that failed (at start-up or a refresh), by reason.",
		}, []string{"reason"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: MetricLastSuccess,
			Help: "When the terminology server last expanded every codeset (Unix seconds; 0: not since start).",
		}),
		restartPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: MetricRestartPending,
			Help: "1 when the disk cache holds a newer expansion than the running protocol uses (a restart applies it).",
		}),
	}
	for _, c := range []prometheus.Collector{m.source, m.failures, m.lastSuccess, m.restartPending} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, s := range Sources {
		m.source.WithLabelValues(string(s)).Set(0)
	}
	for _, r := range Reasons {
		m.failures.WithLabelValues(string(r)).Add(0)
	}
	return m, nil
}

// SetSource says where the running protocol's expansions came from.
func (m *Metrics) SetSource(s Source) {
	if m == nil {
		return
	}
	for _, x := range Sources {
		v := 0.0
		if x == s {
			v = 1
		}
		m.source.WithLabelValues(string(x)).Set(v)
	}
}

func (m *Metrics) failed(r Reason) {
	if m != nil {
		m.failures.WithLabelValues(string(r)).Inc()
	}
}

func (m *Metrics) succeeded(unixSeconds float64) {
	if m != nil {
		m.lastSuccess.Set(unixSeconds)
	}
}

func (m *Metrics) setRestartPending(p bool) {
	if m == nil {
		return
	}
	v := 0.0
	if p {
		v = 1
	}
	m.restartPending.Set(v)
}
