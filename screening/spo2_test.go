package screening_test

import (
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// SpO2 on room air > 92%: a passing reading must be shown to be on room air, by its code
// (59410-1), an inhaled-oxygen flow of 0 or an inhaled-oxygen concentration of 21 %.
func TestOxygenSaturation(t *testing.T) {
	const (
		roomAir = "loinc|59410-1"
		pulseOx = "loinc|59408-5"
		arteria = "loinc|2708-6"
		flow    = "loinc|3151-8"
		fio2    = "loinc|3150-0"
	)
	pt := func() *patient { return newPatient("male", "1959-10-10") }
	runCriterion(t, "oxygen-saturation", []criterionCase{
		// Boundary on a room-air code.
		{name: "exactly 92 on room air fails", patient: pt().lab(roomAir, 92, "%", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "92.1 on room air passes", patient: pt().lab(roomAir, 92.1, "%", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "98 on room air passes", patient: pt().lab(roomAir, 98, "%", daysAgo(1)), outcome: screening.Pass, reason: screening.ReasonMet},

		// Without room-air evidence a passing value is not enough.
		{name: "93 by pulse oximetry without room-air evidence is unknown/not-room-air", patient: pt().lab(pulseOx, 93, "%", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},
		{name: "95 arterial without room-air evidence is unknown/not-room-air", patient: pt().lab(arteria, 95, "%", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},
		{name: "92 without room-air evidence fails (oxygen only raises SpO2)", patient: pt().lab(pulseOx, 92, "%", daysAgo(1)), outcome: screening.Fail, reason: screening.ReasonNotMet},

		// Inhaled-oxygen components.
		{name: "flow 0 L/min shows room air and passes", patient: pt().incWithComponents(pulseOx, 95, "%", daysAgo(1), incComp(flow, 0, "L/min")), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "flow 2 L/min is unknown/not-room-air", patient: pt().incWithComponents(pulseOx, 95, "%", daysAgo(1), incComp(flow, 2, "L/min")), outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},
		{name: "flow 0.5 L/min is unknown/not-room-air", patient: pt().incWithComponents(pulseOx, 95, "%", daysAgo(1), incComp(flow, 0.5, "L/min")), outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},
		{name: "FiO2 21 % shows room air and passes", patient: pt().incWithComponents(pulseOx, 95, "%", daysAgo(1), incComp(fio2, 21, "%")), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "FiO2 28 % is unknown/not-room-air", patient: pt().incWithComponents(pulseOx, 95, "%", daysAgo(1), incComp(fio2, 28, "%")), outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},
		{name: "90 on 2 L/min fails", patient: pt().incWithComponents(pulseOx, 90, "%", daysAgo(1), incComp(flow, 2, "L/min")), outcome: screening.Fail, reason: screening.ReasonNotMet},
		{name: "flow in an unaccepted unit is unknown/unit", patient: pt().incWithComponents(pulseOx, 95, "%", daysAgo(1), incComp(flow, 0, "mL/min")), outcome: screening.Unknown, reason: screening.ReasonUnit},
		{name: "FiO2 21 then flow 2 L/min in one reading is unknown/not-room-air", patient: pt().incWithComponents(pulseOx, 95, "%", daysAgo(1), incComp(fio2, 21, "%"), incComp(flow, 2, "L/min")),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},
		{name: "flow 0 then FiO2 40 % in one reading is unknown/not-room-air", patient: pt().incWithComponents(pulseOx, 95, "%", daysAgo(1), incComp(flow, 0, "L/min"), incComp(fio2, 40, "%")),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},
		{name: "an unreadable flow next to FiO2 21 % is unknown/unit", patient: pt().incWithComponents(pulseOx, 95, "%", daysAgo(1), incComp(flow, 0, "mL/min"), incComp(fio2, 21, "%")),
			outcome: screening.Unknown, reason: screening.ReasonUnit},
		{name: "a component that is not inhaled oxygen shows nothing", patient: pt().incWithComponents(pulseOx, 95, "%", daysAgo(1), incComp("loinc|8867-4", 80, "/min")),
			outcome: screening.Unknown, reason: screening.ReasonNotRoomAir},

		// Units, window, status.
		{name: "percent as display text only is unknown/unit", patient: pt().incObs(roomAir, incDisplayOnly(95, "%"), "final", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonUnit},
		{name: "a fraction in unit 1 is unknown/unit", patient: pt().lab(roomAir, 0.95, "1", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonUnit},
		{name: "no SpO2 is unknown/no-data", patient: pt(), outcome: screening.Unknown, reason: screening.ReasonNoData},
		{name: "15 days old is unknown/stale", patient: pt().lab(roomAir, 97, "%", daysAgo(15)), outcome: screening.Unknown, reason: screening.ReasonStale},
		{name: "exactly 14 days old counts", patient: pt().lab(roomAir, 97, "%", daysAgo(14)), outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "preliminary only is unknown/not-final", patient: pt().incPrelim(roomAir, 97, "%", daysAgo(1)), outcome: screening.Unknown, reason: screening.ReasonNotFinal},
		{name: "the latest reading decides (room air after oxygen)", patient: pt().incWithComponents(pulseOx, 95, "%", daysAgo(3), incComp(flow, 2, "L/min")).lab(roomAir, 96, "%", daysAgo(1)),
			outcome: screening.Pass, reason: screening.ReasonMet},
		{name: "room air 96 and room air 90 at one instant is unknown/conflict", patient: pt().lab(roomAir, 96, "%", daysAgo(1)).lab(roomAir, 90, "%", daysAgo(1)),
			outcome: screening.Unknown, reason: screening.ReasonConflict},
	})
}
