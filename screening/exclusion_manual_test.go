package screening_test

import (
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// recent-trial, compliance and investigator-discretion: only a person can decide, so they
// are review/manual whatever the record holds; they read no data, so data problems do not
// change them.
func TestManualExclusions(t *testing.T) {
	allFailed := func() *patient {
		p := exAdult()
		for k := range p.rec.Sources {
			p.exSource(k, screening.FetchFailed)
		}
		return p.exUnreadable("").exUnreadable("Condition")
	}
	noPatient := func() *patient {
		p := exAdult()
		p.rec.Patient = nil
		return p
	}
	for _, id := range []string{"recent-trial", "compliance", "investigator-discretion"} {
		t.Run(id, func(t *testing.T) {
			runCriterion(t, id, []criterionCase{
				{name: "an empty record is review", patient: exAdult(),
					outcome: screening.Review, reason: screening.ReasonManual},
				{name: "a woman is review", patient: exWoman(),
					outcome: screening.Review, reason: screening.ReasonManual},
				{name: "a busy record is review",
					patient: exAdult().condition("snomed|254837009", exYearsAgo(1)).allergy("rxnorm|3002", "confirmed").med("rxnorm|8640", "active", daysAgo(30), screening.When{}),
					outcome: screening.Review, reason: screening.ReasonManual},
				{name: "failed and unreadable sources leave it review", patient: allFailed(),
					outcome: screening.Review, reason: screening.ReasonManual},
				{name: "no Patient resource leaves it review", patient: noPatient(),
					outcome: screening.Review, reason: screening.ReasonManual},
			})
			r := exCheck(t, id, exAdult(), screening.Review, screening.ReasonManual)
			if strings.TrimSpace(r.Summary) == "" {
				t.Errorf("%s: a manual criterion must say what to decide", id)
			}
		})
	}
}

// steroid-need: manual, with current or recent (90 days) systemic steroids and
// immunosuppressants flagged in the evidence for the investigator.
func TestSteroidNeed(t *testing.T) {
	const prednisone20 = "rxnorm|312615"
	runCriterion(t, "steroid-need", []criterionCase{
		{name: "nothing recorded is review", patient: exAdult(),
			outcome: screening.Review, reason: screening.ReasonManual},
		{name: "a current prednisone request is review", patient: exAdult().exMedRequest(prednisone20, "active", daysAgo(10), screening.When{}),
			outcome: screening.Review, reason: screening.ReasonManual},
		{name: "a current tacrolimus statement is review", patient: exAdult().med("rxnorm|42316", "active", daysAgo(200), screening.When{}),
			outcome: screening.Review, reason: screening.ReasonManual},
		{name: "prednisone that ended 200 days ago is review", patient: exAdult().exMedRequest(prednisone20, "completed", daysAgo(230), daysAgo(200)),
			outcome: screening.Review, reason: screening.ReasonManual},
		{name: "a failed MedicationRequest fetch is unknown", patient: exAdult().exSource("MedicationRequest", screening.FetchFailed),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "a partial MedicationAdministration fetch is unknown", patient: exAdult().exSource("MedicationAdministration", screening.FetchPartial),
			outcome: screening.Unknown, reason: screening.ReasonSourceError},
		{name: "an unreadable MedicationRequest with no codes is unknown", patient: exAdult().exUnreadable("MedicationRequest"),
			outcome: screening.Unknown, reason: screening.ReasonUnreadable},
		{name: "an unreadable MedicationRequest for an unrelated drug leaves review", patient: exAdult().exUnreadable("MedicationRequest", exFullURL("rxnorm|723")),
			outcome: screening.Review, reason: screening.ReasonManual},
		{name: "a failed Condition fetch does not concern it", patient: exAdult().exSource("Condition", screening.FetchFailed),
			outcome: screening.Review, reason: screening.ReasonManual},
	})

	t.Run("a current prednisone request is shown in the evidence", func(t *testing.T) {
		p := exAdult().exMedRequest(prednisone20, "active", daysAgo(10), screening.When{})
		r := exCheck(t, "steroid-need", p, screening.Review, screening.ReasonManual, "MedicationRequest/1", exFullURL(prednisone20), "active")
		if !strings.Contains(r.Summary, "1 record flagged") {
			t.Errorf("summary should say a record was flagged: %q", r.Summary)
		}
	})
	t.Run("old prednisone is not flagged", func(t *testing.T) {
		p := exAdult().exMedRequest(prednisone20, "completed", daysAgo(230), daysAgo(200))
		r := exCheck(t, "steroid-need", p, screening.Review, screening.ReasonManual)
		if len(r.Evidence) != 0 {
			t.Errorf("nothing within 90 days should be flagged, got %+v", r.Evidence)
		}
	})
	t.Run("a cancelled prednisone request is not flagged", func(t *testing.T) {
		p := exAdult().exMedRequest(prednisone20, "cancelled", daysAgo(10), screening.When{})
		r := exCheck(t, "steroid-need", p, screening.Review, screening.ReasonManual)
		if len(r.Evidence) != 0 {
			t.Errorf("a cancelled request should not be flagged, got %+v", r.Evidence)
		}
	})
}
