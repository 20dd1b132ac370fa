package api

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Store operations, the closed set of the store metrics' op label.
const (
	storeOpSave = "save" // a screening written
	storeOpGet  = "get"  // a stored screening read by id
	storeOpList = "list" // a patient's screenings listed
	storeOpJTI  = "jti"  // a CDS Hooks jti checked and recorded
	// storeOpWorklist is a page of the coordinator's worklist read (worklist.go).
	storeOpWorklist = "worklist"
	// storeOpBatch is every operation of the REST batches (batchshared.go): jobs,
	// claims, leases, results. One value, so that the label set stays small.
	storeOpBatch = "batch"
	// storeOpReview is a review decision written or a patient's decisions read;
	// storeOpFeedback is CDS Hooks feedback written or read.
	storeOpReview   = "review"
	storeOpFeedback = "feedback"
)

// storeMetrics show the store's state: its errors and latency per operation, and whether
// it answered last. The service answers screenings without it, so only these tell that
// screenings are not being kept.
type storeMetrics struct {
	errors   *prometheus.CounterVec   // op
	duration *prometheus.HistogramVec // op
	up       prometheus.Gauge

	auditFailures    prometheus.Counter // audit appends that failed (each attempt)
	auditPending     prometheus.Gauge   // audit records queued for the database
	auditDropped     prometheus.Counter // audit records dropped from the full queue (still in the sink)
	retentionDeleted prometheus.Counter // screenings deleted by the retention job
}

// storeBuckets cover a local SQLite write (sub-millisecond) to the write timeout (2 s).
var storeBuckets = []float64{0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5}

func newStoreMetrics(reg prometheus.Registerer) (*storeMetrics, error) {
	m := &storeMetrics{
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trialscreen_store_errors_total", Help: "Store operations that failed or timed out, by op (save, get, list, jti). A failed save leaves a screening answered but not stored.",
		}, []string{"op"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "trialscreen_store_duration_seconds", Help: "Store operations, by op (save, get, list, jti), failed ones included.",
			Buckets: storeBuckets,
		}, []string{"op"}),
		up: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trialscreen_store_up", Help: "1 when the store answered its last operation or health check, 0 when it failed.",
		}),
	}
	m.auditFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "trialscreen_audit_store_failures_total", Help: "Attempts to write an audit record to the database that failed. The record is in the audit sink and stays queued, retried until written.",
	})
	m.auditPending = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "trialscreen_audit_store_pending", Help: "Audit records queued for the database and not yet written.",
	})
	m.auditDropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "trialscreen_audit_store_dropped_total", Help: "Audit records dropped from the full database queue: they are in the audit sink only, and missing from the database's chain.",
	})
	m.retentionDeleted = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "trialscreen_store_retention_deleted_total", Help: "Stored screenings deleted by the retention job (older than TRIALSCREEN_RETENTION). Audit records are never deleted.",
	})
	for _, c := range []prometheus.Collector{m.errors, m.duration, m.up, m.auditFailures, m.auditPending, m.auditDropped, m.retentionDeleted} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, op := range []string{storeOpSave, storeOpGet, storeOpList, storeOpJTI, storeOpWorklist, storeOpBatch} {
		m.errors.WithLabelValues(op) // every op shows, at 0, before its first error
	}
	return m, nil
}

// observe records one store operation. A not-found or replay answer is the store
// working, not an error: the caller passes err only for failures.
func (m *storeMetrics) observe(op string, d time.Duration, err error) {
	m.duration.WithLabelValues(op).Observe(d.Seconds())
	if err != nil {
		m.errors.WithLabelValues(op).Inc()
		m.up.Set(0)
		return
	}
	m.up.Set(1)
}

// SetStoreUp records the outcome of a health check of the store (serve pings it).
func (m *Metrics) SetStoreUp(up bool) {
	v := 0.0
	if up {
		v = 1
	}
	m.store.up.Set(v)
}

// RetentionDeleted counts screenings the retention job deleted.
func (m *Metrics) RetentionDeleted(n int64) { m.store.retentionDeleted.Add(float64(n)) }
