package screening_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// The shipped protocol's unit table, checked against @lhncbc/ucum-lhc (ucumcheck/), a
// UCUM implementation independent of ours: a factor typed wrong would misread every
// result reported in that unit, and nothing else would notice.

// ucumTolerance is the relative difference allowed where UCUM's factor is exact.
const ucumTolerance = 1e-9

// ucumMolar lists the conversions between moles and mass: UCUM makes them only with the
// substance's molar mass. The protocol writes the conventional clinical divisors, rounded
// to 3 significant digits; 0.05% admits that rounding and still fails a change in the
// last digit written (17.1 to 17.2 is 0.6%, 88.4 to 88.5 is 0.1%). Each reason is also
// the comment beside the unit in the protocol file.
var ucumMolar = []ucumMolarMass{
	{"bilirubin", "umol/L", 584.66, 5e-4, "bilirubin, 584.66 g/mol: 1 mg/dL is 17.104 umol/L; 17.1 is the conventional divisor, within 0.05% of ucum-lhc with that molar mass."},
	{"creatinine", "umol/L", 113.12, 5e-4, "creatinine, 113.12 g/mol: 1 mg/dL is 88.40 umol/L; 88.4 is the conventional divisor, within 0.05% of ucum-lhc with that molar mass."},
}

// ucumDepartures lists the conversions where the protocol departs from UCUM on purpose,
// or which ucum-lhc cannot make. ucum-lhc must still refuse each (else the entry is
// stale); one with a stand-in has its factor checked on that UCUM pair instead. Each
// reason is also the comment beside the unit in the protocol file.
var ucumDepartures = []ucumDeparture{
	{group: "enzyme", code: "[IU]/L",
		reason: "For ALT and AST, IU/L means the IUB enzyme unit (1 umol/min per L), the same as U/L; UCUM's [IU] is WHO's arbitrary unit of a reference preparation, which UCUM never converts to U."},
	{group: "enzyme", code: "[iU]/L",
		reason: "[iU] is UCUM's other code for [IU] ([IU] = 1 [iU]): read as the enzyme unit, like [IU]/L."},
	{group: "hcg", code: "[IU]/L",
		reason: "hCG is measured in WHO international units, an arbitrary unit that ucum-lhc converts to nothing, not even itself; as the canonical unit its factor is 1 by the loader's own rule."},
	{group: "hcg", code: "m[IU]/mL", standIn: [2]string{"mU/mL", "U/L"},
		reason: "m[IU]/mL is 10^-3 [IU] per 10^-3 L, so 1 [IU]/L; ucum-lhc converts no arbitrary unit, so the test checks the same prefix arithmetic on mU/mL to U/L."},
}

// ucumUnitless lists the groups that read a value with no unit at all as canonical, a
// reading UCUM does not define, with the reason (also beside unitless: in the file).
var ucumUnitless = map[string]string{
	"score": "ECOG arrives as a bare integer or a Quantity with no unit; UCUM has no code for a missing unit, so reading one as {score} is the protocol's choice.",
}

// TestUnitTableAgreesWithUCUM converts every accepted code of every unit group to its
// group's canonical unit with ucum-lhc, in one run of ucumcheck/convert.js, and compares
// the factor with the protocol's. It also shows that a factor 0.1% off would fail.
func TestUnitTableAgreesWithUCUM(t *testing.T) {
	convs := screening.UnitConversions(loadProtocol(t))
	if len(convs) == 0 {
		t.Fatal("the shipped protocol has no unit conversions")
	}
	reqs := make([]ucumRequest, len(convs))
	standIns := map[int]int{} // conversion -> the request of its stand-in
	for i, c := range convs {
		reqs[i] = ucumRequest{From: c.Code, To: c.Canonical, MolarMass: molarOf(c).gPerMol}
		if d := departureOf(c); d != nil && d.standIn[0] != "" {
			standIns[i] = len(reqs)
			reqs = append(reqs, ucumRequest{From: d.standIn[0], To: d.standIn[1]})
		}
	}
	results, version := runUCUMLHC(t, reqs)
	t.Logf("@lhncbc/ucum-lhc %s; a factor is how many canonical units one accepted unit is", version)
	for i, c := range convs {
		name := fmt.Sprintf("%s: %s -> %s", c.Group, c.Code, c.Canonical)
		if !results[i].Valid {
			t.Errorf("%s: %s is not a valid UCUM code (%s)", name, c.Code, results[i].Error)
		}
		if d := departureOf(c); d != nil {
			var stand *ucumResult
			if j, ok := standIns[i]; ok {
				stand = &results[j]
			}
			checkDeparture(t, name, c, *d, results[i], stand)
			continue
		}
		tol := toleranceOf(c)
		if err := ucumAgrees(c.Factor, results[i], tol); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		// The same comparison fails a factor 0.1% off, wherever it passes the real one.
		if ucumAgrees(c.Factor*1.001, results[i], tol) == nil {
			t.Errorf("%s: a factor of %g (0.1%% off) would pass too", name, c.Factor*1.001)
		}
		t.Log(strings.TrimSpace(fmt.Sprintf("%-44s protocol %-20g ucum-lhc %-22s %s", name, c.Factor, results[i].text(), molarOf(c).note())))
	}
	checkUCUMExceptionsListed(t, convs)
}

// checkDeparture: ucum-lhc must still refuse (or disagree with) a listed departure, and
// its stand-in, if it has one, must give the protocol's factor.
func checkDeparture(t *testing.T, name string, c screening.UnitConversion, d ucumDeparture, res ucumResult, stand *ucumResult) {
	t.Helper()
	if ucumAgrees(c.Factor, res, ucumTolerance) == nil {
		t.Errorf("%s: listed as a departure, but ucum-lhc agrees (%s): remove it from ucumDepartures and the protocol's comment", name, res.text())
	}
	line := fmt.Sprintf("%-44s protocol %-20g departure; ucum-lhc %s", name, c.Factor, res.text())
	if stand != nil {
		if err := ucumAgrees(c.Factor, *stand, ucumTolerance); err != nil {
			t.Errorf("%s: stand-in %s -> %s: %v", name, d.standIn[0], d.standIn[1], err)
		}
		line += fmt.Sprintf("; stand-in %s -> %s: ucum-lhc %s", d.standIn[0], d.standIn[1], stand.text())
	}
	t.Log(line)
}

// ucumAgrees says whether ucum-lhc's result gives the protocol's factor within tol.
func ucumAgrees(factor float64, res ucumResult, tol float64) error {
	if res.Error != "" {
		return fmt.Errorf("ucum-lhc cannot convert it (%s): a molar mass (ucumMolar) or a departure (ucumDepartures) missing?", res.Error)
	}
	if diff := math.Abs(factor-res.Factor) / math.Abs(res.Factor); !(diff <= tol) {
		return fmt.Errorf("the protocol's factor is %g, ucum-lhc's %g (relative difference %.2g, more than %g)", factor, res.Factor, diff, tol)
	}
	return nil
}

type ucumMolarMass struct {
	group, code string
	gPerMol     float64
	tolerance   float64
	reason      string
}

type ucumDeparture struct {
	group, code string
	reason      string
	standIn     [2]string // from, to
}

// molarOf is the molar mass entry of c; its zero value when it has none.
func molarOf(c screening.UnitConversion) ucumMolarMass {
	for _, m := range ucumMolar {
		if m.group == c.Group && m.code == c.Code {
			return m
		}
	}
	return ucumMolarMass{}
}

func (m ucumMolarMass) note() string {
	if m.gPerMol == 0 {
		return ""
	}
	return fmt.Sprintf("molar mass %g g/mol, tolerance %g", m.gPerMol, m.tolerance)
}

func toleranceOf(c screening.UnitConversion) float64 {
	if m := molarOf(c); m.tolerance > 0 {
		return m.tolerance
	}
	return ucumTolerance
}

func departureOf(c screening.UnitConversion) *ucumDeparture {
	for i, d := range ucumDepartures {
		if d.group == c.Group && d.code == c.Code {
			return &ucumDepartures[i]
		}
	}
	return nil
}
