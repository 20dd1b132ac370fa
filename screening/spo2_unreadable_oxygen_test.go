package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// Signs of supplemental oxygen that the room-air check used to miss: an oxygen therapy
// whose period has only an end (it ran for an unknown time up to it), an inhaled-oxygen
// result or component whose value cannot be read (text, a bound, nothing: a sign that
// cannot be read outweighs a room-air one), and an oxygen therapy with no date at all
// (it may have been at the time of the reading: unknown/not-room-air, since its date
// would decide it).
func TestOxygenSaturationUnreadableOxygenSigns(t *testing.T) {
	const (
		roomAir = "loinc|59410-1"
		pulseOx = "loinc|59408-5"
		flow    = "loinc|3151-8"
		fio2    = "loinc|3150-0"
		o2mask  = "snomed|371908008"
	)
	at := daysAgo(1)
	pt := func() *patient { return newPatient("male", "1959-10-10") }
	onRoomAir := func() *patient { return pt().lab(roomAir, 97, "%", at) }
	sep := func(p *patient, c string, o screening.Observation) *patient {
		o.Status, o.Code, o.Effective = "final", codes(c), at
		return p.obs(o)
	}
	withComp := func(comp screening.Component) *patient {
		return pt().obs(screening.Observation{Status: "final", Code: codes(roomAir), Effective: at, Value: qty(97, "%"),
			Components: []screening.Component{comp}})
	}
	bound := &screening.Bound{Comparator: ">", Limit: *qty(1, "L/min")}

	runR3(t, "oxygen-saturation", []r3Case{
		// (a) a period with an end only.
		{name: "oxygen therapy with only an end, 3 h after the reading, may have covered it",
			patient: onRoomAir().proc(screening.Procedure{Code: codes(o2mask), Status: "completed", Performed: daysAgo(1 - 3.0/24), StartUnknown: true}),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir, names: "Procedure/2", evidence: "Procedure/2"},
		{name: "oxygen therapy with only an end, 3 h before the reading, did not",
			patient: onRoomAir().proc(screening.Procedure{Code: codes(o2mask), Status: "completed", Performed: daysAgo(1 + 3.0/24), StartUnknown: true}),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "oxygen therapy performed at an instant 3 h after the reading did not",
			patient: onRoomAir().proc(screening.Procedure{Code: codes(o2mask), Status: "completed", Performed: daysAgo(1 - 3.0/24)}),
			outcome: screening.Pass, reason: screening.ReasonMet},

		// (b) inhaled oxygen that cannot be read.
		{name: "a separate flow given as text is not shown to be room air",
			patient: sep(onRoomAir(), flow, screening.Observation{ValueText: "2 L/min"}),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir, names: "Observation/2", evidence: "Observation/2", note: "cannot be read"},
		{name: "a separate flow given as a bound is not shown to be room air",
			patient: sep(onRoomAir(), flow, screening.Observation{ValueText: ">1 L/min", ValueBound: bound}),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir, names: "Observation/2"},
		{name: "a separate FiO2 with no value half an hour later is not shown to be room air",
			patient: onRoomAir().obs(screening.Observation{Status: "final", Code: codes(fio2), Effective: daysAgo(1 - 0.5/24)}),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir, names: "Observation/2"},
		{name: "an unreadable flow outweighs a room-air FiO2 21 % at the same instant",
			patient: sep(pt().lab(pulseOx, 95, "%", at).lab(fio2, 21, "%", at), flow, screening.Observation{ValueText: "some"}),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},
		{name: "an unreadable flow three hours earlier is another time",
			patient: onRoomAir().obs(screening.Observation{Status: "final", Code: codes(flow), Effective: daysAgo(1 + 3.0/24), ValueText: "2 L/min"}),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "an unreadable flow entered in error is ignored",
			patient: onRoomAir().obs(screening.Observation{Status: "entered-in-error", Code: codes(flow), Effective: at, ValueText: "2 L/min"}),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "a flow component with no value is not shown to be room air",
			patient: withComp(screening.Component{Code: codes(flow)}),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir, names: "a component has no numeric value"},
		{name: "a flow component of 0 L/min is room air",
			patient: withComp(screening.Component{Code: codes(flow), Value: qty(0, "L/min")}),
			outcome: screening.Pass, reason: screening.ReasonMet},

		// (c) an oxygen therapy with no date.
		{name: "a completed oxygen therapy with no date may have been at the time of the reading",
			patient: onRoomAir().proc(screening.Procedure{Code: codes(o2mask), Status: "completed"}),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir, names: "no date", evidence: "Procedure/2", note: "no performed date"},
		{name: "an undated oxygen therapy that was not done does not matter",
			patient: onRoomAir().proc(screening.Procedure{Code: codes(o2mask), Status: "not-done"}),
			outcome: screening.Pass, reason: screening.ReasonMet},
	})
}
