package funnel

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/trialscreen/trialscreen/screening"
)

var (
	pass    = outcome{screening.Pass, screening.ReasonMet}
	fail    = outcome{screening.Fail, screening.ReasonNotMet}
	noData  = outcome{screening.Unknown, screening.ReasonNoData}
	stale   = outcome{screening.Unknown, screening.ReasonStale}
	manual  = outcome{screening.Review, screening.ReasonManual}
	present = outcome{screening.Fail, screening.ReasonFound}
)

// fivePatients are hand-built so that the attrition can be worked out by hand:
//
//	p1 passes everything                                  -> potentially eligible
//	p2 fails age (1st) and platelets (9th)                -> leaves at age
//	p3 unknown neutrophils (8th), fails platelets (9th)   -> leaves at platelets
//	p4 unknown neutrophils and alt, nothing failed        -> blocked by unknowns
//	p5 review informed-consent, fails other-malignancy (23rd, exclusion) -> leaves there
func fivePatients(p *screening.Protocol) []*screening.Screening {
	return []*screening.Screening{
		handDoc(p, screening.PotentiallyEligible, nil),
		handDoc(p, screening.Ineligible, map[string]outcome{"age": fail, "platelets": fail}),
		handDoc(p, screening.Ineligible, map[string]outcome{"neutrophils": noData, "platelets": fail}),
		handDoc(p, screening.InsufficientData, map[string]outcome{"neutrophils": stale, "alt": noData}),
		handDoc(p, screening.Ineligible, map[string]outcome{"informed-consent": manual, "other-malignancy": present}),
	}
}

func TestCountsAndAttritionByHand(t *testing.T) {
	p := defaultProtocol(t)
	ids := p.CriterionIDs()
	// The positions the hand computation relies on.
	for id, pos := range map[string]int{"age": 0, "neutrophils": 7, "platelets": 8, "alt": 10, "informed-consent": 21, "other-malignancy": 22} {
		if ids[pos] != id {
			t.Fatalf("protocol order changed: %s is at %d, want %d", id, slices.Index(ids, id), pos)
		}
	}
	r := funnelOf(p, fivePatients(p)).Report()

	if r.Patients != 5 {
		t.Errorf("patients = %d, want 5", r.Patients)
	}
	if want := (VerdictCounts{Ineligible: 3, InsufficientData: 1, PotentiallyEligible: 1}); r.Verdicts != want {
		t.Errorf("verdicts = %+v, want %+v", r.Verdicts, want)
	}

	// Outcome counts of the criteria something happened in; every other criterion passed 5 times.
	want := map[string]CriterionReport{
		"age":              {Pass: 4, Fail: 1, UnknownReasons: []ReasonCount{}},
		"neutrophils":      {Pass: 3, Unknown: 2, UnknownReasons: []ReasonCount{{"no-data", 1}, {"stale", 1}}},
		"platelets":        {Pass: 3, Fail: 2, UnknownReasons: []ReasonCount{}},
		"alt":              {Pass: 4, Unknown: 1, UnknownReasons: []ReasonCount{{"no-data", 1}}},
		"informed-consent": {Pass: 4, Review: 1, UnknownReasons: []ReasonCount{}},
		"other-malignancy": {Pass: 4, Fail: 1, UnknownReasons: []ReasonCount{}},
	}
	for i, c := range r.Criteria {
		w, ok := want[c.ID]
		if !ok {
			w = CriterionReport{Pass: 5, UnknownReasons: []ReasonCount{}}
		}
		got := CriterionReport{Pass: c.Pass, Fail: c.Fail, Unknown: c.Unknown, Review: c.Review, UnknownReasons: c.UnknownReasons}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("criterion %s (-want +got):\n%s", c.ID, diff)
		}
		if c.Position != i+1 || c.ID != ids[i] {
			t.Errorf("criterion %d is %s at position %d, want %s at %d", i, c.ID, c.Position, ids[i], i+1)
		}
	}
	if k := r.Criteria[0].Kind; k != "inclusion" {
		t.Errorf("age kind = %q, want inclusion", k)
	}
	if k := r.Criteria[22].Kind; k != "exclusion" {
		t.Errorf("other-malignancy kind = %q, want exclusion", k)
	}

	// Attrition by hand: 5 in; age removes p2 (4 left); neutrophils removes nobody (its
	// unknowns are not fails); platelets removes p3 only, p2 being gone already (3 left);
	// other-malignancy removes p5 (2 left: p1 and p4, p4 blocked by unknowns).
	steps := map[string]Step{
		"age":              {Criterion: "age", Kind: "inclusion", Before: 5, Removed: 1, After: 4},
		"neutrophils":      {Criterion: "neutrophils", Kind: "inclusion", Before: 4, Removed: 0, After: 4},
		"platelets":        {Criterion: "platelets", Kind: "inclusion", Before: 4, Removed: 1, After: 3},
		"informed-consent": {Criterion: "informed-consent", Kind: "inclusion", Before: 3, Removed: 0, After: 3},
		"other-malignancy": {Criterion: "other-malignancy", Kind: "exclusion", Before: 3, Removed: 1, After: 2},
		ids[len(ids)-1]:    {Criterion: ids[len(ids)-1], Kind: "exclusion", Before: 2, Removed: 0, After: 2},
	}
	for _, s := range r.Attrition.Steps {
		if w, ok := steps[s.Criterion]; ok && w != s {
			t.Errorf("step %s = %+v, want %+v", s.Criterion, s, w)
		}
		if s.Removed != 0 && steps[s.Criterion].Removed == 0 {
			t.Errorf("step %s removed %d, want 0", s.Criterion, s.Removed)
		}
	}
	if r.Attrition.Remaining != 2 || r.Attrition.BlockedByUnknown != 1 {
		t.Errorf("remaining %d, blocked %d; want 2 and 1", r.Attrition.Remaining, r.Attrition.BlockedByUnknown)
	}
	if len(r.Skipped) != 0 {
		t.Errorf("skipped = %v, want none", r.Skipped)
	}
}

func TestDemoPatients(t *testing.T) {
	p := defaultProtocol(t)
	r := funnelOf(p, demoScreenings(t, p)).Report()
	if want := (VerdictCounts{Ineligible: 2, InsufficientData: 1, PotentiallyEligible: 1}); r.Patients != 4 || r.Verdicts != want {
		t.Errorf("patients %d, verdicts %+v; want 4, %+v", r.Patients, r.Verdicts, want)
	}
	// demo-ineligible-labs leaves at neutrophils, demo-ineligible-exclusion at cns-malignancy.
	for _, s := range r.Attrition.Steps {
		want := 0
		if s.Criterion == "neutrophils" || s.Criterion == "cns-malignancy" {
			want = 1
		}
		if s.Removed != want {
			t.Errorf("step %s removed %d, want %d", s.Criterion, s.Removed, want)
		}
	}
	if r.Attrition.Remaining != 2 || r.Attrition.BlockedByUnknown != 1 {
		t.Errorf("remaining %d, blocked %d; want 2 and 1", r.Attrition.Remaining, r.Attrition.BlockedByUnknown)
	}
}

// A document's results may come in any order; they are counted by criterion id.
func TestResultsOutOfOrder(t *testing.T) {
	p := defaultProtocol(t)
	docs := fivePatients(p)
	want := jsonOf(t, funnelOf(p, docs))
	for _, d := range docs {
		slices.Reverse(d.Criteria)
	}
	if got := jsonOf(t, funnelOf(p, docs)); got != want {
		t.Errorf("reversed results give another report:\n%s", cmp.Diff(want, got))
	}
}

// Documents that do not belong are not counted as patients; they are counted by reason.
func TestAddSkipsDocumentsThatDoNotBelong(t *testing.T) {
	p := defaultProtocol(t)
	tests := []struct {
		name   string
		edit   func(s *screening.Screening)
		reason string
	}{
		{"other protocol id", func(s *screening.Screening) { s.Protocol.ID = "other" }, "other-protocol"},
		{"other protocol version", func(s *screening.Screening) { s.Protocol.Version = "2.0.0" }, "other-protocol"},
		{"a criterion missing", func(s *screening.Screening) { s.Criteria = s.Criteria[1:] }, "criteria-mismatch"},
		{"a criterion not in the protocol", func(s *screening.Screening) { s.Criteria[3].ID = "made-up" }, "criteria-mismatch"},
		{"a criterion twice", func(s *screening.Screening) { s.Criteria[3].ID = s.Criteria[4].ID }, "criteria-mismatch"},
		{"verdict outside the set", func(s *screening.Screening) { s.Verdict = "eligible" }, "unknown-verdict"},
		{"verdict contradicts a fail", func(s *screening.Screening) { s.Criteria[5].Outcome = screening.Fail }, "verdict-mismatch"},
		{"verdict ignores an unknown", func(s *screening.Screening) { s.Criteria[5].Outcome = screening.Unknown }, "verdict-mismatch"},
		{"outcome outside the set reads as unknown", func(s *screening.Screening) { s.Criteria[5].Outcome = "maybe" }, "verdict-mismatch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := New(p)
			f.Add(handDoc(p, screening.PotentiallyEligible, nil))
			bad := handDoc(p, screening.PotentiallyEligible, nil)
			tc.edit(bad)
			f.Add(bad)
			r := f.Report()
			if r.Patients != 1 || r.Verdicts.PotentiallyEligible != 1 {
				t.Errorf("patients %d, verdicts %+v; want only the good document counted", r.Patients, r.Verdicts)
			}
			if diff := cmp.Diff([]ReasonCount{{tc.reason, 1}}, r.Skipped); diff != "" {
				t.Errorf("skipped (-want +got):\n%s", diff)
			}
			if r.Criteria[5].Pass != 1 || r.Criteria[5].Fail+r.Criteria[5].Unknown != 0 {
				t.Errorf("the skipped document was partly counted: %+v", r.Criteria[5])
			}
		})
	}
}

// An outcome outside the closed set counts as unknown, as the engine's verdict does.
func TestUnrecognisedOutcomeCountsAsUnknown(t *testing.T) {
	p := defaultProtocol(t)
	f := New(p)
	f.Add(handDoc(p, screening.InsufficientData, map[string]outcome{"ecog": {"maybe", "odd"}}))
	r := f.Report()
	c := r.Criteria[5]
	if c.ID != "ecog" || c.Unknown != 1 || !cmp.Equal(c.UnknownReasons, []ReasonCount{{"odd", 1}}) {
		t.Errorf("ecog = %+v, want one unknown for reason odd", c)
	}
	if r.Attrition.BlockedByUnknown != 1 {
		t.Errorf("blocked = %d, want 1", r.Attrition.BlockedByUnknown)
	}
}

// An empty funnel (an empty shard) still lists every criterion with its kind and text.
func TestEmptyFunnel(t *testing.T) {
	p := defaultProtocol(t)
	r := New(p).Report()
	if r.Patients != 0 || len(r.Criteria) != len(p.CriterionIDs()) {
		t.Fatalf("patients %d, %d criteria", r.Patients, len(r.Criteria))
	}
	for _, c := range r.Criteria {
		if c.Kind != "inclusion" && c.Kind != "exclusion" || c.Text == "" {
			t.Errorf("criterion %s: kind %q, text %q", c.ID, c.Kind, c.Text)
		}
	}
	if c := r.Criteria[len(r.Criteria)-1]; c.ID != "investigator-discretion" || c.Kind != "exclusion" {
		t.Errorf("last criterion %s %s", c.ID, c.Kind)
	}
}
