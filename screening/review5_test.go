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
