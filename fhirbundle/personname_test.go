package fhirbundle_test

import (
	"fmt"
	"testing"
)

// The report names the patient so a printed sheet is filed under the right person: the
// official name wins over the usual one, an old or ended name is never shown, and text
// is preferred to the parts.
func TestPatientNameForTheReport(t *testing.T) {
	cases := []struct{ names, want string }{
		{`[{"use":"usual","given":["Meimei"],"family":"Li"},{"use":"official","given":["Mei","Hua"],"family":"Li"}]`, "Mei Hua Li"},
		{`[{"use":"old","family":"Wang"},{"text":"Zhang San"}]`, "Zhang San"},
		{`[{"use":"official","family":"Old","period":{"end":"2001-01-01"}},{"use":"nickname","given":["Sunny"]}]`, "Sunny"},
		{`[{"use":"anonymous","text":"Patient X"}]`, ""},
		{`[]`, ""},
	}
	for _, c := range cases {
		bundle := fmt.Sprintf(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1960-02-03","name":%s}}]}`, c.names)
		rec, err := testReader(t).ReadBundle([]byte(bundle), "")
		if err != nil {
			t.Fatalf("%s: %v", c.names, err)
		}
		if rec.Patient == nil || rec.Patient.Name != c.want {
			t.Errorf("names %s: got %+v, want name %q", c.names, rec.Patient, c.want)
		}
	}
}
