package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// SpO2 on room air: supplemental oxygen at the time of the reading, recorded as an
// inhaled-oxygen result of its own (3151-8 flow > 0, 3150-0 FiO2 > 21 %), an oxygen
// therapy procedure (371908008) or an oxygen device, means not room air, even when the
// reading's code says room air (59410-1).
func TestOxygenSaturationSeparateOxygenRecords(t *testing.T) {
	const (
		roomAir = "loinc|59410-1"
		pulseOx = "loinc|59408-5"
		flow    = "loinc|3151-8"
		fio2    = "loinc|3150-0"
		o2mask  = "snomed|371908008"
		concent = "snomed|336621006"
	)
	at := daysAgo(1)
	pt := func() *patient { return newPatient("male", "1959-10-10") }
	onRoomAir := func() *patient { return pt().lab(roomAir, 97, "%", at) }
	flowVoid := onRoomAir().obs(screening.Observation{Status: "entered-in-error", Code: codes(flow), Effective: at, Value: qty(2, "L/min")})
	deviceComp := pt().obs(screening.Observation{Status: "final", Code: codes(roomAir), Effective: at, Value: qty(97, "%"),
		Components: []screening.Component{{Code: codes("loinc|3151-8"), ValueCode: codes(concent)}}})

	runR3(t, "oxygen-saturation", []r3Case{
		{name: "room-air code alone passes", patient: onRoomAir(), outcome: screening.Pass, reason: screening.ReasonMet},

		// Separate inhaled-oxygen results.
		{name: "room-air code with a separate flow 2 L/min at the same instant is not room air", patient: onRoomAir().lab(flow, 2, "L/min", at),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir, names: "Observation/2", evidence: "Observation/2"},
		{name: "a separate flow 2 L/min 30 minutes later is not room air", patient: onRoomAir().lab(flow, 2, "L/min", daysAgo(1-0.5/24)),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},
		{name: "a separate flow 2 L/min three hours earlier is another time: passes", patient: onRoomAir().lab(flow, 2, "L/min", daysAgo(1+3.0/24)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "a separate FiO2 40 % at the same instant is not room air", patient: onRoomAir().lab(fio2, 40, "%", at),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},
		{name: "pulse oximetry with a separate FiO2 21 % at the same instant passes", patient: pt().lab(pulseOx, 95, "%", at).lab(fio2, 21, "%", at),
			outcome: screening.Pass, reason: screening.ReasonMet, evidence: "Observation/2"},
		{name: "pulse oximetry with FiO2 21 % half an hour later is not shown to be on room air", patient: pt().lab(pulseOx, 95, "%", at).lab(fio2, 21, "%", daysAgo(1-0.5/24)),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},
		{name: "a separate flow entered in error is ignored", patient: flowVoid, outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "a separate flow in an unaccepted unit is unknown/unit", patient: onRoomAir().lab(flow, 0, "mL/min", at),
			outcome: screening.Unknown, reason: screening.ReasonUnit},
		{name: "90 % with a separate flow 2 L/min fails (oxygen only raises SpO2)", patient: pt().lab(roomAir, 90, "%", at).lab(flow, 2, "L/min", at),
			outcome: screening.Fail, reason: screening.ReasonNotMet},

		// Oxygen therapy procedures and devices.
		{name: "oxygen therapy in progress since the day before is not room air",
			patient: onRoomAir().proc(screening.Procedure{Code: codes(o2mask), Status: "in-progress", Performed: daysAgo(2), PerformedStart: daysAgo(2), EndUnknown: true}),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir, names: "Procedure/2", evidence: "Procedure/2"},
		{name: "completed oxygen therapy whose period covers the reading is not room air",
			patient: onRoomAir().proc(screening.Procedure{Code: codes(o2mask), Status: "completed", Performed: daysAgo(0.9), PerformedStart: daysAgo(1.1)}),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},
		{name: "completed oxygen therapy with a start only (end unknown) before the reading is not room air",
			patient: onRoomAir().proc(screening.Procedure{Code: codes(o2mask), Status: "completed", Performed: daysAgo(3), PerformedStart: daysAgo(3), EndUnknown: true}),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},
		{name: "oxygen therapy that ended four days before the reading does not matter",
			patient: onRoomAir().proc(screening.Procedure{Code: codes(o2mask), Status: "completed", Performed: daysAgo(5), PerformedStart: daysAgo(6)}),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "oxygen therapy that was not done does not matter",
			patient: onRoomAir().proc(screening.Procedure{Code: codes(o2mask), Status: "not-done", Performed: at}),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "an oxygen concentrator recorded as a procedure in progress is not room air",
			patient: onRoomAir().proc(screening.Procedure{Code: codes(concent), Status: "in-progress", Performed: daysAgo(10), PerformedStart: daysAgo(10), EndUnknown: true}),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},
		{name: "a component of the reading naming an oxygen device is not room air", patient: deviceComp,
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},
	})
}
