package batch

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/trialscreen/trialscreen/fhirbundle"
)

// TestWithheldLinesAreNotPassed: a Condition the export masked (its code removed, as a
// server does for consent) reaches fhirbundle whole, not as a stub, so the CNS-disease
// exclusion is unknown (source-error) instead of passing on "nothing found". An
// ordinary meta (Synthea's tag, a server's versionId) changes nothing: a Condition
// coded as no criterion reads is stubbed and passes, one without a code cannot be
// placed and is for a person to review, as in a single-patient screening.
func TestWithheldLinesAreNotPassed(t *testing.T) {
	const who = `"subject":{"reference":"Patient/demo-candidate"}`
	const ordinary = `"meta":{"versionId":"3","tag":[{"system":"https://smarthealthit.org/tags","code":"synthea-5-2019"}]},`
	cases := []struct {
		name, line, want string
	}{
		{"ordinary meta", `{"resourceType":"Condition","id":"m1",` + ordinary + `"code":{"coding":[{"system":"http://snomed.info/sct","code":"44465007"}]},` + who + `}`, "pass/not-found"},
		{"ordinary meta, no code", `{"resourceType":"Condition","id":"m1",` + ordinary + who + `}`, "review/unplaced-code"},
		{"masked, code removed", `{"resourceType":"Condition","id":"m1","meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"MASKED"}]},` + who + `}`, "unknown/source-error"},
		{"redacted, lower case", `{"resourceType":"Condition","id":"m1","meta":{"security":[{"code":"redacted"}]},` + who + `}`, "unknown/source-error"},
		{"subsetted, escaped key", `{"resourceType":"Condition","id":"m1","meta":{"t\u0061g":[{"code":"SUBSETTED"}]},` + who + `}`, "unknown/source-error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeNDJSON(t, dir, demoBundles(t))
			appendLine(t, filepath.Join(dir, "Condition.ndjson"), tc.line)
			got, err := screenDir(t, dir, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, crit := outcomesOf(t, got.docs["demo-candidate"]); crit["cns-disease"] != tc.want {
				t.Errorf("cns-disease %q, want %q", crit["cns-disease"], tc.want)
			}
		})
	}
}

// FuzzMetaIsPlain: whenever the byte-level check calls a meta plain (so the line may be
// stubbed), fhirbundle must find it plain too; otherwise withheld data could be dropped.
func FuzzMetaIsPlain(f *testing.F) {
	for _, s := range []string{
		`null`, `{}`, `{"versionId":"1","lastUpdated":"2024-01-01T00:00:00Z"}`,
		`{"tag":[{"system":"https://smarthealthit.org/tags","code":"synthea-5-2019"}]}`,
		`{"security":[{"code":"MASKED"}]}`, `{"TAG":[{"code":5}]}`, `{"tag":[{"Code":{"x":1}}]}`,
		`{"tag":"x"}`, `{"security":[[]]}`, `[]`, `"x"`, `{"tag":[{}],"security":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, meta []byte) {
		if !json.Valid(meta) {
			return
		}
		if !metaIsPlain(meta) {
			return
		}
		withheld, err := fhirbundle.MetaWithholds(meta)
		if withheld || err != nil {
			t.Errorf("metaIsPlain(%s) but fhirbundle: withheld %v, err %v", meta, withheld, err)
		}
	})
}

// TestRepeatedMembersReachFhirbundle: a line that gives meta (or code) twice is read by
// fhirbundle's peek with both merged; the grouping pass must not stub it on the last one.
func TestRepeatedMembersReachFhirbundle(t *testing.T) {
	const who = `"subject":{"reference":"Patient/demo-candidate"}`
	dir := t.TempDir()
	writeNDJSON(t, dir, demoBundles(t))
	appendLine(t, filepath.Join(dir, "Condition.ndjson"),
		`{"resourceType":"Condition","id":"m2","meta":{"security":[{"code":"MASKED"}]},"meta":{"versionId":"1"},`+who+`}`)
	got, err := screenDir(t, dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, crit := outcomesOf(t, got.docs["demo-candidate"]); crit["cns-disease"] != "unknown/source-error" {
		t.Errorf("cns-disease %q, want unknown/source-error", crit["cns-disease"])
	}
}

// TestRepeatedCodeIsUnreadable: a Condition line that gives its code twice (epilepsy,
// then headache) is unreadable in the batch as in a Bundle, never a pass.
func TestRepeatedCodeIsUnreadable(t *testing.T) {
	dir := t.TempDir()
	writeNDJSON(t, dir, demoBundles(t))
	appendLine(t, filepath.Join(dir, "Condition.ndjson"), `{"resourceType":"Condition","id":"d2","subject":{"reference":"Patient/demo-candidate"},`+
		`"code":{"coding":[{"system":"http://snomed.info/sct","code":"84757009"}]},"code":{"coding":[{"system":"http://snomed.info/sct","code":"25064002"}]}}`)
	got, err := screenDir(t, dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, crit := outcomesOf(t, got.docs["demo-candidate"]); crit["cns-disease"] != "unknown/unreadable" {
		t.Errorf("cns-disease %q, want unknown/unreadable", crit["cns-disease"])
	}
}
