package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// A criterion for women only does not apply to a man only when his sex is shown: read
// from a Patient source obtained in full, with no unreadable entry beside it that may be
// a Patient (a second copy of the patient giving another gender, say). Otherwise it is
// unknown, as every criterion that reads the Patient already is.
func TestOtherSexNeedsACompletePatient(t *testing.T) {
	man := func() *patient {
		return newPatient("male", "1959-10-10").lab("loinc|29463-7", 70, "kg", daysAgo(2)).lab("loinc|2160-0", 0.8, "mg/dL", daysAgo(1))
	}
	type want struct {
		outcome screening.Outcome
		reason  screening.Reason
	}
	notApplicable := want{screening.Pass, screening.ReasonNotApplicable}
	met := want{screening.Pass, screening.ReasonMet}
	sourceError := want{screening.Unknown, screening.ReasonSourceError}
	unreadable := want{screening.Unknown, screening.ReasonUnreadable}
	cases := []struct {
		name    string
		patient *patient
		want    map[string]want
	}{
		{"complete Patient: not applicable", man(),
			map[string]want{"pregnancy-test": notApplicable, "lactation": notApplicable, "age": met, "creatinine-clearance": met}},
		{"Patient source partial (masked)", man().exSource("Patient", screening.FetchPartial),
			map[string]want{"pregnancy-test": sourceError, "lactation": sourceError, "age": sourceError, "creatinine-clearance": sourceError}},
		{"Patient source failed", man().exSource("Patient", screening.FetchFailed),
			map[string]want{"pregnancy-test": sourceError, "lactation": sourceError, "age": sourceError, "creatinine-clearance": sourceError}},
		{"Patient never fetched", man().exNotFetched("Patient"),
			map[string]want{"pregnancy-test": sourceError, "lactation": sourceError, "age": sourceError, "creatinine-clearance": sourceError}},
		{"an unreadable Patient entry (a rival copy)", man().exUnreadable("Patient"),
			map[string]want{"pregnancy-test": unreadable, "lactation": unreadable, "age": unreadable, "creatinine-clearance": unreadable}},
		{"an unreadable entry of unknown type may be a Patient", man().exUnreadable(""),
			map[string]want{"pregnancy-test": unreadable, "lactation": unreadable}},
		{"an unreadable Observation does not hide the sex", man().exUnreadable("Observation", "loinc|2106-3"),
			map[string]want{"pregnancy-test": notApplicable, "lactation": notApplicable}},
		{"a partial Observation source does not hide the sex", man().exSource("Observation", screening.FetchPartial),
			map[string]want{"pregnancy-test": notApplicable, "lactation": notApplicable}},
	}
	p := loadProtocol(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for id, w := range tc.want {
				r := screen(t, p, tc.patient.rec, id)
				if r.Outcome != w.outcome || r.Reason != w.reason {
					t.Errorf("%s: got %s/%s (%s), want %s/%s", id, r.Outcome, r.Reason, r.Summary, w.outcome, w.reason)
				}
			}
		})
	}
}
