package screening_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// A fail found through codes the protocol lists only as unverified (U) is a review only
// when every coding of the record that matches is unverified: a verified coding beside an
// unverified one excludes, in whichever order the record gives them.
func TestUnverifiedGuardReadsEveryCoding(t *testing.T) {
	const (
		delusional = "icd10cm|F22.0"   // under the U-only prefix F22
		otherDelus = "icd10cm|F22.8"   // the same U-only prefix
		schizo     = "snomed|58214004" // verified
		unrelated  = "local|XYZ"
	)
	withCodes := func(cs ...string) *patient {
		return exAdult().cond(screening.Condition{Code: codes(cs...), Clinical: "active", Verification: "confirmed", Onset: exYearsAgo(2)})
	}
	runR3(t, "mental-disorder", []r3Case{
		{name: "verified only fails", patient: withCodes(schizo), outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "unverified only is review", patient: withCodes(delusional), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "unverified first, verified second fails, naming the verified code", patient: withCodes(delusional, schizo),
			outcome: screening.Fail, reason: screening.ReasonFound, names: "also coded SNOMED CT 58214004, a verified code"},
		{name: "verified first, unverified second fails", patient: withCodes(schizo, delusional), outcome: screening.Fail, reason: screening.ReasonFound},
		{name: "two unverified codings are review", patient: withCodes(delusional, otherDelus), outcome: screening.Review, reason: screening.ReasonJudgement},
		{name: "an unverified coding beside one that does not match is review", patient: withCodes(unrelated, delusional), outcome: screening.Review, reason: screening.ReasonJudgement},
	})
}

// r4Expand is a terminology that gives each curated code one child (its code + 1) and
// gives 555555555 under either of them: what it adds must take the tag of what it expands.
type r4Expand struct{}

func (r4Expand) Expand(_ context.Context, _ string, curated []screening.Coding) ([]screening.Coding, error) {
	var out []screening.Coding
	for _, c := range curated {
		n, _ := strconv.Atoi(c.Code)
		out = append(out, c, screening.Coding{System: c.System, Code: strconv.Itoa(n + 1)})
	}
	return append(out, screening.Coding{System: screening.SystemSNOMED, Code: "555555555"}), nil
}

// Codes a terminology server adds under a U-only curated code are unverified too: a fail
// found only through them is a review. What it adds under a verified code, or under both,
// is verified.
func TestUnverifiedTagPassesToExpansion(t *testing.T) {
	y := strings.Replace(cr3Minimal, "__NONE_FOUND__", "", 1)
	y = strings.Replace(y, "__UNVERIFIED__", "unverified: review", 1)
	y = strings.Replace(y, `      - {system: snomed, code: "111111111", display: Unverified disease, source: U}`,
		`      - {system: snomed, code: "111111111", display: Unverified disease, source: U}
      - {system: snomed, code: "333333333", display: Verified disease, source: "E,U"}`, 1)
	p, err := screening.LoadProtocol([]byte(y), screening.Options{Terminology: r4Expand{}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, code string
		want       screening.Outcome
	}{
		{"curated U code", "snomed|111111111", screening.Review},
		{"added under the U code", "snomed|111111112", screening.Review},
		{"curated verified code", "snomed|333333333", screening.Fail},
		{"added under the verified code", "snomed|333333334", screening.Fail},
		{"added under both", "snomed|555555555", screening.Fail},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if r := screen(t, p, exAdult().condition(tc.code, daysAgo(10)).rec, "guessed"); r.Outcome != tc.want {
				t.Errorf("got %s/%s (%s), want %s", r.Outcome, r.Reason, r.Summary, tc.want)
			}
		})
	}
}
