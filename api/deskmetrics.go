package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/trialscreen/trialscreen/review"
)

// deskMetrics count what the coordinator's desk sees happen: sign-ins, review decisions,
// CDS Hooks card feedback. Their labels are closed sets (outcomes, decisions); never a
// person, a patient or a note.
type deskMetrics struct {
	signIns   *prometheus.CounterVec // outcome: ok, refused, forbidden, provider-error
	decisions *prometheus.CounterVec // decision: met, not-met, not-applicable
	feedback  *prometheus.CounterVec // outcome: accepted, overridden
}

func newDeskMetrics(reg prometheus.Registerer) (*deskMetrics, error) {
	d := &deskMetrics{
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trialscreen_signins_total", Help: "Staff sign-ins finished at the callback, by outcome: ok, refused (a broken or replayed flow), forbidden (the provider refused, or no trialscreen role), provider-error (the identity provider failed)."}, []string{"outcome"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trialscreen_review_decisions_total", Help: "Review decisions recorded, by decision (met, not-met, not-applicable)."}, []string{"decision"}),
		feedback: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trialscreen_cds_feedback_total", Help: "CDS Hooks card feedback recorded, by outcome (accepted, overridden)."}, []string{"outcome"}),
	}
	for _, c := range []prometheus.Collector{d.signIns, d.decisions, d.feedback} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Every series exists from the start at 0, so that an alert's increase() sees the
	// first failure and a dashboard shows the outcomes that never happened.
	for vec, values := range map[*prometheus.CounterVec][]string{
		d.signIns:   {"ok", "refused", "forbidden", "provider-error"},
		d.decisions: review.Decisions,
		d.feedback:  {"accepted", "overridden"},
	} {
		for _, v := range values {
			vec.WithLabelValues(v)
		}
	}
	return d, nil
}

// countSignIns counts each answer of the sign-in callback by what became of it.
func (m *Metrics) countSignIns(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		m.desk.signIns.WithLabelValues(signInOutcome(c, err)).Inc()
		return err
	}
}

func signInOutcome(c echo.Context, err error) string {
	status := c.Response().Status
	if he, ok := err.(*echo.HTTPError); ok {
		status = he.Code
	} else if err != nil {
		status = http.StatusInternalServerError
	}
	switch {
	case status < 400:
		return "ok"
	case status == http.StatusForbidden:
		return "forbidden"
	case status >= 500:
		return "provider-error"
	}
	return "refused"
}
