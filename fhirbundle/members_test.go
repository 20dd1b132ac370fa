package fhirbundle_test

import (
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/fhirbundle"
)

// TestRepeatedMembersAreUnreadable: a resource that gives a member twice is read by no
// one way the sender can be known to mean: it is unreadable, and the criteria that might
// need it are unknown, never pass.
func TestRepeatedMembersAreUnreadable(t *testing.T) {
	const headache = `{"coding": [{"system": "` + snomed + `", "code": "25064002"}]}`
	seizureThenHeadache := `{"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
		"code": {"coding": [{"system": "` + snomed + `", "code": "128613002"}]}, "code": ` + headache + `}`
	tests := []struct {
		name      string
		entries   []entry
		criterion string
		want      string
		problem   string
	}{
		{"a Condition's code twice", []entry{{"", patient("p1")}, {"", seizureThenHeadache}}, "seizures", "unknown/unreadable",
			`the member "code" is given twice: which value the sender meant cannot be told`},
		// The Patient is unreadable, so no birth date is known, and the result says why
		// (not "no birth date recorded").
		{"the Patient's birthDate twice", []entry{{"", strings.Replace(patient("p1"), `"birthDate"`, `"birthDate": "1940-01-01", "birthDate"`, 1)}},
			"age", "unknown/unreadable", `the member "birthDate" is given twice: which value the sender meant cannot be told`},
		{"members given once", []entry{{"", patient("p1")}, {"", hemoglobin("o1", "Patient/p1", "12")}}, "hemoglobin", "pass/met", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := testReader(t).ReadBundle(bundleJSON("collection", tc.entries...), "p1")
			if err != nil {
				t.Fatal(err)
			}
			var problems []string
			for _, u := range rec.Unreadable {
				problems = append(problems, u.Problem)
			}
			if got := strings.Join(problems, "; "); got != tc.problem {
				t.Errorf("unreadable %q, want %q", got, tc.problem)
			}
			r := screenWithTestProtocol(t, rec)[tc.criterion]
			if got := string(r.Outcome) + "/" + string(r.Reason); got != tc.want {
				t.Errorf("%s %s (%s), want %s", tc.criterion, got, r.Summary, tc.want)
			}
		})
	}
}

// FuzzRepeatedMember: any input, valid JSON or not, leaves the member scan standing.
func FuzzRepeatedMember(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"a":1,"a":1}`, `{"`, `{"a`, `{"a":`, `{"a":[`, `[]`, ``, `{"a":"\"","b":{}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fhirbundle.RepeatedMemberForTest(b)
	})
}
