package review_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/trialscreen/trialscreen/review"
	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/store"
)

var t0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// doc is a screening with the given verdict and n review items (r0, r1, ...), each with
// one Observation of its own as evidence.
func doc(id string, verdict screening.Verdict, n int) *screening.Screening {
	d := &screening.Screening{ScreeningID: id, Verdict: verdict}
	for i := range n {
		c := fmt.Sprintf("r%d", i)
		d.ReviewItems = append(d.ReviewItems, screening.Item{Criterion: c, Reason: screening.ReasonManual})
		d.Criteria = append(d.Criteria, screening.Result{ID: c, Outcome: screening.Review,
			Evidence: []screening.Evidence{{Resource: "Observation/" + c}, {Note: "no resource"}}})
	}
	d.Criteria = append(d.Criteria, screening.Result{ID: "age", Outcome: screening.Pass})
	return d
}

// decided is a decision on criterion made on screening "old", which judged evidence.
func decided(seq int64, criterion, value string, evidence ...store.EvidenceRef) store.Decision {
	if evidence == nil {
		evidence = []store.EvidenceRef{{Resource: "Observation/" + criterion}}
	}
	return store.Decision{Seq: seq, PatientID: "p1", Criterion: criterion, Decision: value, CallerID: "portal",
		DecidedAt: t0, ScreeningID: "old", Evidence: evidence}
}

func TestComputeSummary(t *testing.T) {
	for _, tc := range []struct {
		name      string
		doc       *screening.Screening
		versions  []store.EvidenceRef
		decisions []store.Decision
		want      string
		notElig   bool
		recheck   int
	}{
		{"nothing decided", doc("s", screening.PotentiallyEligible, 3), nil, nil,
			"potentially eligible: 0 of 3 review items met, 3 open", false, 0},
		{"the issue's example", doc("s", screening.PotentiallyEligible, 11), nil, func() []store.Decision {
			var ds []store.Decision
			for i := range 9 {
				ds = append(ds, decided(int64(i), fmt.Sprintf("r%d", i), review.Met))
			}
			return ds
		}(), "potentially eligible: 9 of 11 review items met, 2 open", false, 0},
		{"not applicable is said apart", doc("s", screening.PotentiallyEligible, 3), nil,
			[]store.Decision{decided(1, "r0", review.Met), decided(2, "r1", review.NotApplicable)},
			"potentially eligible: 1 of 3 review items met, 1 not applicable, 1 open", false, 0},
		{"a not met makes the patient not eligible by review", doc("s", screening.PotentiallyEligible, 3), nil,
			[]store.Decision{decided(1, "r0", review.Met), decided(2, "r2", review.NotMet)},
			"not eligible by review: r2 not met (computed verdict: potentially-eligible)", true, 0},
		{"the newest decision is the current one", doc("s", screening.PotentiallyEligible, 1), nil,
			[]store.Decision{decided(5, "r0", review.Met), decided(3, "r0", review.NotMet)},
			"potentially eligible: 1 of 1 review items met", false, 0},
		{"a decision on a criterion that is no longer a review item does not count", doc("s", screening.PotentiallyEligible, 1), nil,
			[]store.Decision{decided(1, "age", review.NotMet)},
			"potentially eligible: 0 of 1 review items met, 1 open", false, 0},
		{"changed evidence: a met is to re-check, not met", doc("s", screening.PotentiallyEligible, 2), nil,
			[]store.Decision{decided(1, "r0", review.Met, store.EvidenceRef{Resource: "Observation/other"}), decided(2, "r1", review.Met)},
			"potentially eligible: 1 of 2 review items met, 1 to re-check", false, 1},
		{"a new version of the same resource is to re-check", doc("s", screening.PotentiallyEligible, 1),
			[]store.EvidenceRef{{Resource: "Observation/r0", VersionID: "3"}},
			[]store.Decision{decided(1, "r0", review.Met, store.EvidenceRef{Resource: "Observation/r0", VersionID: "2"})},
			"potentially eligible: 0 of 1 review items met, 1 to re-check", false, 1},
		{"the same version judged is not to re-check", doc("s", screening.PotentiallyEligible, 1),
			[]store.EvidenceRef{{Resource: "Observation/r0", VersionID: "2", LastUpdated: "2026-11-19T10:00:00Z"}},
			[]store.Decision{decided(1, "r0", review.Met, store.EvidenceRef{Resource: "Observation/r0", VersionID: "2", LastUpdated: "2026-11-19T10:00:00Z"})},
			"potentially eligible: 1 of 1 review items met", false, 0},
		{"a not met with changed evidence still counts, and is to re-check", doc("s", screening.PotentiallyEligible, 1), nil,
			[]store.Decision{decided(1, "r0", review.NotMet, store.EvidenceRef{Resource: "Observation/gone"})},
			"not eligible by review: r0 not met (computed verdict: potentially-eligible)", true, 1},
		{"a decision on this very screening is never to re-check", doc("old", screening.PotentiallyEligible, 1), nil,
			[]store.Decision{decided(1, "r0", review.Met, store.EvidenceRef{Resource: "Observation/unrelated"})},
			"potentially eligible: 1 of 1 review items met", false, 0},
		{"insufficient data counts decided items", doc("s", screening.InsufficientData, 2), nil,
			[]store.Decision{decided(1, "r0", review.NotApplicable)},
			"insufficient data: 1 of 2 review items decided, 1 open", false, 0},
		{"ineligible with no review items", doc("s", screening.Ineligible, 0), nil, nil,
			"ineligible: no review items", false, 0},
		{"an unknown decision value is no decision", doc("s", screening.PotentiallyEligible, 1), nil,
			[]store.Decision{decided(1, "r0", "maybe")},
			"potentially eligible: 0 of 1 review items met, 1 open", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := review.Compute(tc.doc, tc.versions, tc.decisions)
			if st.Summary != tc.want {
				t.Errorf("Summary = %q, want %q", st.Summary, tc.want)
			}
			if st.NotEligible != tc.notElig || st.ToRecheck != tc.recheck {
				t.Errorf("NotEligible %v, ToRecheck %d; want %v, %d", st.NotEligible, st.ToRecheck, tc.notElig, tc.recheck)
			}
			if len(st.Items) != len(tc.doc.ReviewItems) {
				t.Errorf("%d items, want one per review item (%d)", len(st.Items), len(tc.doc.ReviewItems))
			}
		})
	}
}

// Each item says its decision, who made it, when and on which screening; open items
// say nothing but their criterion.
func TestComputeItems(t *testing.T) {
	d := decided(1, "r1", review.Met, store.EvidenceRef{Resource: "Observation/x"})
	d.CallerUser = "nurse-1"
	st := review.Compute(doc("s", screening.PotentiallyEligible, 2), nil, []store.Decision{d})
	at := t0
	want := []review.Item{
		{Criterion: "r0"},
		{Criterion: "r1", Decision: review.Met, ToRecheck: true, DecidedBy: "portal", DecidedUser: "nurse-1", DecidedAt: &at, DecidedOn: "old"},
	}
	if diff := cmp.Diff(want, st.Items); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
}

func TestCriterionEvidence(t *testing.T) {
	d := &screening.Screening{Criteria: []screening.Result{
		{ID: "crcl", Evidence: []screening.Evidence{{Resource: "Observation/cr"}, {Resource: "Observation/wt"}, {Resource: "Observation/cr"}, {Note: "formula"}}},
		{ID: "age", Evidence: []screening.Evidence{{Resource: "Patient/1"}}},
	}}
	versions := []store.EvidenceRef{{Resource: "Observation/cr", VersionID: "7", LastUpdated: "2026-11-01T00:00:00Z"}, {Resource: "Patient/1", VersionID: "1"}}
	got := review.CriterionEvidence(d, versions, "crcl")
	want := []store.EvidenceRef{{Resource: "Observation/cr", VersionID: "7", LastUpdated: "2026-11-01T00:00:00Z"}, {Resource: "Observation/wt"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CriterionEvidence (-want +got):\n%s", diff)
	}
	if got := review.CriterionEvidence(d, versions, "nope"); got != nil {
		t.Errorf("unknown criterion: %v, want nil", got)
	}
}

func TestValidDecision(t *testing.T) {
	for _, d := range review.Decisions {
		if !review.ValidDecision(d) {
			t.Errorf("%q refused", d)
		}
	}
	for _, d := range []string{"", "Met", "not met", "open"} {
		if review.ValidDecision(d) {
			t.Errorf("%q accepted", d)
		}
	}
}
