package screening_test

import (
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/screening"
)

// Review 5. Each test is a hand-built patient that the engine judged wrongly before.

const (
	r5RoomAirSpO2 = "loinc|59410-1" // SpO2 coded as taken on room air
	r5PulseOx     = "loinc|59408-5" // SpO2 with nothing said about the air
	r5Flow        = "loinc|3151-8"
	r5FiO2        = "loinc|3150-0"
)

func r5Man() *patient { return newPatient("male", "1959-10-10") }

// (1) An inhaled-oxygen result with no date cannot be placed away from the reading: one
// showing oxygen, or one that cannot be read, makes a passing SpO2 unknown/not-room-air
// (as an undated oxygen therapy already did). One showing room air is no sign of room air.
func TestOxygenSaturationUndatedInhaledOxygen(t *testing.T) {
	at := daysAgo(1)
	onRoomAir := func() *patient { return r5Man().lab(r5RoomAirSpO2, 97, "%", at) }
	pulseOx := func() *patient { return r5Man().lab(r5PulseOx, 95, "%", at) }
	undated := func(c string, o screening.Observation) screening.Observation {
		o.Status, o.Code = "final", codes(c)
		return o
	}

	runR3(t, "oxygen-saturation", []r3Case{
		{name: "an undated FiO2 40 % beside a room-air SpO2 97 % may have been at the reading",
			patient: onRoomAir().obs(undated(r5FiO2, screening.Observation{Value: qty(40, "%")})),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir, names: "Observation/2", evidence: "Observation/2", note: "no effective date"},
		{name: "an undated flow of 2 L/min beside a room-air SpO2",
			patient: onRoomAir().obs(undated(r5Flow, screening.Observation{Value: qty(2, "L/min")})),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir, names: "no date", evidence: "Observation/2"},
		{name: "an undated FiO2 given as text cannot be read or placed",
			patient: onRoomAir().obs(undated(r5FiO2, screening.Observation{ValueText: "40%"})),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir, names: "Observation/2", evidence: "Observation/2", note: "cannot be read"},
		{name: "an undated FiO2 in a unit that cannot be converted cannot be read or placed",
			patient: onRoomAir().obs(undated(r5FiO2, screening.Observation{Value: qty(4, "L/min")})),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir, names: "Observation/2", evidence: "Observation/2"},
		{name: "an undated FiO2 with no value at all",
			patient: onRoomAir().obs(undated(r5FiO2, screening.Observation{})),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir, names: "Observation/2"},
		{name: "an undated FiO2 40 % entered in error says nothing",
			patient: onRoomAir().obs(screening.Observation{Status: "entered-in-error", Code: codes(r5FiO2), Value: qty(40, "%")}),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "an undated FiO2 21 % beside a room-air SpO2 leaves it on room air",
			patient: onRoomAir().obs(undated(r5FiO2, screening.Observation{Value: qty(21, "%")})),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "an undated FiO2 21 % is no evidence that an SpO2 was on room air",
			patient: pulseOx().obs(undated(r5FiO2, screening.Observation{Value: qty(21, "%")})),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},
		{name: "an undated flow of 0 L/min is no evidence that an SpO2 was on room air",
			patient: pulseOx().obs(undated(r5Flow, screening.Observation{Value: qty(0, "L/min")})),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},
		{name: "a failing SpO2 fails whatever the undated FiO2",
			patient: r5Man().lab(r5RoomAirSpO2, 88, "%", at).obs(undated(r5FiO2, screening.Observation{Value: qty(40, "%")})),
			outcome: screening.Fail, reason: screening.ReasonNotMet},
	})
}

// (2) A room-air sign from a separate FiO2 21 % / flow 0 result must share the reading's
// time exactly: both carry a time, and it is the same instant. A result dated only to the
// day may have been hours away from the reading.
func TestOxygenSaturationRoomAirSignNeedsTheSameInstant(t *testing.T) {
	at := daysAgo(1)
	day := screening.When{Time: at.Time.Truncate(24 * time.Hour), Precision: screening.PrecisionDay}
	pulseOx := func(when screening.When) *patient { return r5Man().lab(r5PulseOx, 95, "%", when) }

	runR3(t, "oxygen-saturation", []r3Case{
		{name: "FiO2 21 % at the reading's instant shows room air",
			patient: pulseOx(at).lab(r5FiO2, 21, "%", at),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "flow 0 L/min at the reading's instant shows room air",
			patient: pulseOx(at).lab(r5Flow, 0, "L/min", at),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "FiO2 21 % dated only to the reading's day does not",
			patient: pulseOx(at).lab(r5FiO2, 21, "%", day),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},
		{name: "flow 0 L/min dated only to the reading's day does not",
			patient: pulseOx(at).lab(r5Flow, 0, "L/min", day),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},
		{name: "a reading and a FiO2 21 % both dated only to the same day do not",
			patient: pulseOx(day).lab(r5FiO2, 21, "%", day),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},
		{name: "a reading dated to the day and a FiO2 21 % at a time that day do not",
			patient: pulseOx(day).lab(r5FiO2, 21, "%", at),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},
		{name: "FiO2 21 % a minute after the reading does not",
			patient: pulseOx(at).lab(r5FiO2, 21, "%", daysAgo(1-1.0/(24*60))),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},
	})
}

// (3) An ECG procedure beside the newest normal ECG observation is the same ECG when both
// carry a time and the observation's time lies within the procedure's span (start to end),
// widened by an hour; otherwise it is another ECG, which decides (review) whenever it may
// be later than the observation. A record dated only to a day may be any time that day.
func TestECGProcedureBesideItsObservation(t *testing.T) {
	const (
		ecgObs  = "loinc|11524-6"
		ecgProc = "snomed|268400002"
	)
	clock := func(h, m int) screening.When {
		return screening.When{Time: time.Date(2026, 11, 20, h, m, 0, 0, time.UTC), Precision: screening.PrecisionTime}
	}
	day, dayBefore := date("2026-11-20"), date("2026-11-19")
	normalAt := func(w screening.When) *patient {
		return r5Man().obs(screening.Observation{Status: "final", Code: codes(ecgObs), Effective: w, Interpretation: codes("v3|N")})
	}
	proc := func(p *patient, pr screening.Procedure) *patient {
		pr.Ref, pr.Code, pr.Status = p.ref("Procedure"), codes(ecgProc), "completed"
		p.rec.Procedures = append(p.rec.Procedures, pr)
		return p
	}
	period := func(from, to screening.When) screening.Procedure {
		return screening.Procedure{PerformedStart: from, Performed: to}
	}
	at := func(w screening.When) screening.Procedure { return screening.Procedure{Performed: w} }

	runR3(t, "ecg", []r3Case{
		{name: "observation at 10:00, its procedure 10:00-10:10 passes",
			patient: proc(normalAt(clock(10, 0)), period(clock(10, 0), clock(10, 10))),
			outcome: screening.Pass, reason: screening.ReasonMet, evidence: "Procedure/2", note: "the ECG that Observation/1 interprets"},
		{name: "observation at 09:00 inside a procedure 08:00-10:10 passes",
			patient: proc(normalAt(clock(9, 0)), period(clock(8, 0), clock(10, 10))),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "observation at 10:00, procedure at 10:30 (within the hour) passes",
			patient: proc(normalAt(clock(10, 0)), at(clock(10, 30))),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "observation at 10:00, period with only an end at 10:10 passes",
			patient: proc(normalAt(clock(10, 0)), screening.Procedure{Performed: clock(10, 10), StartUnknown: true}),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "observation at 10:00, procedure at 11:30 is a later ECG: review",
			patient: proc(normalAt(clock(10, 0)), at(clock(11, 30))),
			outcome: screening.Review, reason: screening.ReasonJudgement, names: "Procedure/2", evidence: "Observation/1", note: "newest one decides"},
		{name: "observation at 10:00, procedure 10:00-12:00 ending later is still its ECG",
			patient: proc(normalAt(clock(10, 0)), period(clock(10, 0), clock(12, 0))),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "observation at 10:00, procedure at 08:30 (older, beyond the hour) passes",
			patient: proc(normalAt(clock(10, 0)), at(clock(8, 30))),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "observation at 12:00, procedure 10:00-10:10 is older and passes",
			patient: proc(normalAt(clock(12, 0)), period(clock(10, 0), clock(10, 10))),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "observation dated only to the day, procedure at 14:00 that day may be later: review",
			patient: proc(normalAt(day), at(clock(14, 0))),
			outcome: screening.Review, reason: screening.ReasonJudgement, names: "Procedure/2"},
		{name: "observation at 23:00, procedure dated only to that day may be later: review",
			patient: proc(normalAt(clock(23, 0)), at(day)),
			outcome: screening.Review, reason: screening.ReasonJudgement, names: "Procedure/2"},
		{name: "observation and procedure both dated only to the same day: review",
			patient: proc(normalAt(day), at(day)),
			outcome: screening.Review, reason: screening.ReasonJudgement, names: "Procedure/2"},
		{name: "observation at 00:30, procedure dated only to the day before passes",
			patient: proc(normalAt(clock(0, 30)), at(dayBefore)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "observation dated only to the day, procedure at 23:30 the day before passes",
			patient: proc(normalAt(day), at(screening.When{Time: time.Date(2026, 11, 19, 23, 30, 0, 0, time.UTC), Precision: screening.PrecisionTime})),
			outcome: screening.Pass, reason: screening.ReasonMet},
	})
}

// (4) A pass must not rest only on codes the protocol lists as U (unverified): an ECG
// coded normal only by an unverified code, and a cured condition that is an allowed
// exception to other-malignancy only through unverified codes, are review/judgement with
// evidence naming the unverified code. A verified code beside it keeps the pass.
func TestUnverifiedCodesDoNotPass(t *testing.T) {
	const (
		ecgObs       = "loinc|11524-6"
		normalU      = "snomed|164854000" // Electrocardiogram normal: source U
		cisCervixU   = "icd10cm|D06.9"    // carcinoma in situ of cervix: source U
		cisCervixP   = "snomed|92564006"  // the same, source P
		bccSkin      = "icd10cm|C44.91"   // non-melanoma skin cancer: source E
		dcisSnomedU  = "snomed|397016007" // DCIS: source U, and not a listed malignancy
		breastCancer = "snomed|254837009"
	)
	ecgWith := func(o screening.Observation) *patient {
		o.Status, o.Code, o.Effective = "final", codes(ecgObs), daysAgo(3)
		return r5Man().obs(o)
	}
	runR3(t, "ecg", []r3Case{
		{name: "an ECG coded normal only by the unverified SNOMED CT 164854000 is review",
			patient: ecgWith(screening.Observation{ValueCode: codes(normalU)}),
			outcome: screening.Review, reason: screening.ReasonJudgement, names: "unverified", evidence: "Observation/1", note: "only as unverified (source U)"},
		{name: "the same ECG with the verified interpretation N beside it passes",
			patient: ecgWith(screening.Observation{ValueCode: codes(normalU), Interpretation: codes("v3|N")}),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "an ECG interpreted N (verified) passes",
			patient: ecgWith(screening.Observation{Interpretation: codes("v3|N")}),
			outcome: screening.Pass, reason: screening.ReasonMet},
	})

	cured := func(c []screening.Coding, abated screening.When) *patient {
		return r5Man().cond(screening.Condition{Code: c, Clinical: "resolved", Verification: "confirmed",
			Onset: exYearsAgo(4), Abated: true, Abatement: abated})
	}
	runR3(t, "other-malignancy", []r3Case{
		{name: "cervical CIS cured 2 years ago, coded only by the unverified ICD-10-CM D06, is review",
			patient: cured(codes(cisCervixU), exYearsAgo(2)),
			outcome: screening.Review, reason: screening.ReasonJudgement, names: "unverified", evidence: "Condition/1", note: "only as unverified (source U)"},
		{name: "the same with the verified SNOMED CT code beside it passes",
			patient: cured(codes(cisCervixU, cisCervixP), exYearsAgo(2)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "the same with the verified code first passes",
			patient: cured(codes(cisCervixP, cisCervixU), exYearsAgo(2)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "cervical CIS coded D06 in remission for more than 5 years passes on the remission",
			patient: cured(codes(cisCervixU), exYearsAgo(6)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "cured non-melanoma skin cancer (verified C44) passes",
			patient: cured(codes(bccSkin), exYearsAgo(1)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "cervical CIS coded D06 not yet cured stays review",
			patient: r5Man().condition(cisCervixU, exYearsAgo(1)),
			outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "a cured DCIS coded only by an unverified code that is no listed malignancy passes",
			patient: cured(codes(dcisSnomedU), exYearsAgo(1)),
			outcome: screening.Pass, reason: screening.ReasonNotFound},
		{name: "a cured breast cancer beside it still fails",
			patient: cured(codes(cisCervixU), exYearsAgo(2)).condition(breastCancer, exYearsAgo(1)),
			outcome: screening.Fail, reason: screening.ReasonFound},
	})
}
