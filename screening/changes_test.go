package screening

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCompare(t *testing.T) {
	r := func(id string, o Outcome, reason Reason, summary string) Result {
		return Result{ID: id, Text: "text of " + id, Outcome: o, Reason: reason, Summary: summary}
	}
	earlier := &Screening{Verdict: InsufficientData, Criteria: []Result{
		r("anc", Unknown, ReasonNoData, "no ANC on record"),
		r("platelets", Pass, ReasonMet, "150 x10^9/L"),
		r("hb", Fail, ReasonNotMet, "7.1 g/dL"),
		r("crcl", Pass, ReasonMet, "crcl 60"),
		r("ecog", Unknown, ReasonNoData, "no ECOG"),
		r("retired", Pass, ReasonMet, "in an older protocol only"),
	}}
	later := &Screening{Verdict: Ineligible, Criteria: []Result{
		r("anc", Pass, ReasonMet, "ANC 1.8 x10^9/L"),                 // unknown -> pass
		r("platelets", Fail, ReasonNotMet, "platelets 40 x10^9/L"),   // pass -> fail
		r("hb", Unknown, ReasonStale, "last Hb is too old"),          // fail -> unknown
		r("crcl", Pass, ReasonMet, "crcl 58, another value"),         // same outcome: not listed
		r("ecog", Review, ReasonJudgement, "ECOG needs a person"),    // unknown -> review
		r("new", Unknown, ReasonNoData, "added by a newer protocol"), // not in the earlier one
	}}
	want := Changes{VerdictFrom: InsufficientData, VerdictTo: Ineligible, Criteria: []CriterionChange{
		{ID: "anc", Text: "text of anc", From: Unknown, To: Pass, Reason: ReasonMet, Summary: "ANC 1.8 x10^9/L"},
		{ID: "platelets", Text: "text of platelets", From: Pass, To: Fail, Reason: ReasonNotMet, Summary: "platelets 40 x10^9/L"},
		{ID: "hb", Text: "text of hb", From: Fail, To: Unknown, Reason: ReasonStale, Summary: "last Hb is too old"},
		{ID: "ecog", Text: "text of ecog", From: Unknown, To: Review, Reason: ReasonJudgement, Summary: "ECOG needs a person"},
		{ID: "new", Text: "text of new", From: "", To: Unknown, Reason: ReasonNoData, Summary: "added by a newer protocol"},
		{ID: "retired", Text: "text of retired", From: Pass, To: ""},
	}}
	if d := cmp.Diff(want, Compare(earlier, later)); d != "" {
		t.Errorf("Compare (-want +got):\n%s", d)
	}
	// The other way round every transition reverses; a screening compared with itself
	// has no changes.
	back := Compare(later, earlier)
	if len(back.Criteria) != 6 || back.Criteria[0].From != Pass || back.Criteria[0].To != Unknown || back.Criteria[0].Summary != "no ANC on record" {
		t.Errorf("reversed: %+v", back.Criteria)
	}
	if same := Compare(later, later); len(same.Criteria) != 0 || same.VerdictFrom != same.VerdictTo {
		t.Errorf("a screening compared with itself: %+v", same)
	}
}

// A criterion whose outcome held while the resource that decided it was changed in place
// (an amended result: a new meta.versionId) is listed as updated; one read in the same
// version, or with no version on either side, is not.
func TestCompareEvidenceVersions(t *testing.T) {
	r := func(id string, o Outcome, ev ...Evidence) Result {
		return Result{ID: id, Text: "text of " + id, Outcome: o, Evidence: ev}
	}
	ev := func(ref, version, updated string) Evidence {
		return Evidence{Resource: ref, VersionID: version, LastUpdated: updated}
	}
	earlier := &Screening{Verdict: Ineligible, Criteria: []Result{
		r("platelets", Pass, ev("Observation/plt", "1", "2026-11-01T08:00:00Z")),
		r("anc", Pass, ev("Observation/anc", "4", "2026-11-01T08:00:00Z")),
		r("alt", Pass, ev("Observation/alt", "", "2026-11-01T08:00:00Z")),
		r("ast", Pass, ev("Observation/ast", "", "")),
		r("hb", Fail, ev("Observation/hb", "1", "")),
		r("ecg", Pass, ev("Observation/ecg-old", "1", "")),
	}}
	later := &Screening{Verdict: Ineligible, Criteria: []Result{
		r("platelets", Pass, ev("Observation/plt", "2", "2026-11-20T08:00:00Z")), // amended
		r("anc", Pass, ev("Observation/anc", "4", "2026-11-01T08:00:00Z")),       // same version
		r("alt", Pass, ev("Observation/alt", "", "2026-11-21T08:00:00Z")),        // only lastUpdated moved
		r("ast", Pass, ev("Observation/ast", "", "")),                            // no meta either time
		r("hb", Pass, ev("Observation/hb", "2", "")),                             // outcome changed: in Criteria
		r("ecg", Pass, ev("Observation/ecg-new", "1", "")),                       // another resource, not a version
	}}
	got := Compare(earlier, later)
	want := []EvidenceUpdate{
		{ID: "platelets", Text: "text of platelets", Outcome: Pass, Resource: "Observation/plt",
			From: ResourceVersion{VersionID: "1", LastUpdated: "2026-11-01T08:00:00Z"},
			To:   ResourceVersion{VersionID: "2", LastUpdated: "2026-11-20T08:00:00Z"}},
		{ID: "alt", Text: "text of alt", Outcome: Pass, Resource: "Observation/alt",
			From: ResourceVersion{LastUpdated: "2026-11-01T08:00:00Z"}, To: ResourceVersion{LastUpdated: "2026-11-21T08:00:00Z"}},
	}
	if d := cmp.Diff(want, got.Updated); d != "" {
		t.Errorf("Updated (-want +got):\n%s", d)
	}
	if len(got.Criteria) != 1 || got.Criteria[0].ID != "hb" {
		t.Errorf("Criteria: %+v", got.Criteria)
	}
}
