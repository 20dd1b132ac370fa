package screening_test

import (
	"os"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// minimalWithUL is testdata's minimal protocol with its /uL entry replaced.
func minimalWithUL(t *testing.T, entry string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/protocols/valid-minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const ul = "{code: /uL, divide_by: 1000}"
	if !strings.Contains(string(data), ul) {
		t.Fatalf("valid-minimal.yaml no longer has %s", ul)
	}
	return []byte(strings.Replace(string(data), ul, entry, 1))
}

// ancOutcome screens a man whose only ANC is v /uL, yesterday.
func ancOutcome(p *screening.Protocol, v float64) screening.Result {
	pt := newPatient("male", "1960-05-05").lab("loinc|751-8", v, "/uL", daysAgo(1))
	for _, r := range p.Evaluate(pt.rec, screening.Settings{AsOf: asOf}).Criteria {
		if r.ID == "neutrophils" {
			return r
		}
	}
	return screening.Result{}
}

// TestZeroFactorWouldPassANC600: divide_by: 0 was read as no factor, so an ANC of
// 600 /uL counted as 600 x 10*9/L and passed ANC >= 1 x 10*9/L. The protocol is now
// refused; with the intended divide_by: 1000 the same ANC fails.
func TestZeroFactorWouldPassANC600(t *testing.T) {
	p, err := screening.LoadProtocol(minimalWithUL(t, "{code: /uL, divide_by: 0}"), screening.Options{})
	if err == nil {
		r := ancOutcome(p, 600)
		t.Fatalf("divide_by: 0 loaded, and an ANC of 600 /uL is %s: %s", r.Outcome, r.Summary)
	}
	if !strings.Contains(err.Error(), "divide_by must be a finite number above 0, not 0") {
		t.Errorf("error does not name the zero factor: %v", err)
	}

	p, err = screening.LoadProtocol(minimalWithUL(t, "{code: /uL, divide_by: 1000}"), screening.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r := ancOutcome(p, 600); r.Outcome != screening.Fail {
		t.Errorf("ANC 600 /uL with divide_by: 1000 is %s, want fail: %s", r.Outcome, r.Summary)
	}
}

// TestBothFactorsApply: multiply_by and divide_by together mean value * multiply_by /
// divide_by (one reading, so both are allowed): 10 / 10000 is 1/1000.
func TestBothFactorsApply(t *testing.T) {
	p, err := screening.LoadProtocol(minimalWithUL(t, "{code: /uL, multiply_by: 10, divide_by: 10000}"), screening.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[float64]screening.Outcome{1000: screening.Pass, 999: screening.Fail} {
		if r := ancOutcome(p, v); r.Outcome != want {
			t.Errorf("ANC %g /uL is %s, want %s: %s", v, r.Outcome, want, r.Summary)
		}
	}
}
