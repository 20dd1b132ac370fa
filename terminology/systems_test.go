package terminology_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/terminology"
)

func newSystems(t *testing.T) *terminology.Systems {
	t.Helper()
	s, err := terminology.NewSystems(nil)
	if err != nil {
		t.Fatalf("NewSystems(nil): %v", err)
	}
	return s
}

// Every built-in system's HL7 OID, as senders write it, resolves to the canonical URI.
func TestCanonicalBuiltInOIDs(t *testing.T) {
	s := newSystems(t)
	for _, tc := range []struct {
		name, oid, want string
	}{
		{"SNOMED CT", "urn:oid:2.16.840.1.113883.6.96", terminology.SNOMED},
		{"LOINC", "urn:oid:2.16.840.1.113883.6.1", terminology.LOINC},
		{"ICD-10-CM", "urn:oid:2.16.840.1.113883.6.90", terminology.ICD10CM},
		{"WHO ICD-10", "urn:oid:2.16.840.1.113883.6.3", terminology.ICD10},
		{"RxNorm", "urn:oid:2.16.840.1.113883.6.88", terminology.RxNorm},
		{"NDC", "urn:oid:2.16.840.1.113883.6.69", terminology.NDC},
		{"CPT", "urn:oid:2.16.840.1.113883.6.12", terminology.CPT},
		{"ICD-10-PCS", "urn:oid:2.16.840.1.113883.6.4", terminology.ICD10PCS},
		{"UCUM", "urn:oid:2.16.840.1.113883.6.8", terminology.UCUM},
		{"HCPCS", "urn:oid:2.16.840.1.113883.6.285", terminology.HCPCS},
		{"HL7 interpretation", "urn:oid:2.16.840.1.113883.5.83", terminology.V3Interpretation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.Canonical(tc.oid); got != tc.want {
				t.Errorf("Canonical(%q) = %q, want %q", tc.oid, got, tc.want)
			}
			if !terminology.Known(tc.want) {
				t.Errorf("Known(%q) = false for a built-in system", tc.want)
			}
		})
	}
}

// Other spellings: national ICD-10 editions, SNOMED CT editions written as the system,
// the spellings real feeds use; and what must stay as it is.
func TestCanonicalSpellings(t *testing.T) {
	s := newSystems(t)
	for _, tc := range []struct {
		name, system, want string
	}{
		{"China clinical ICD-10 (OID)", "urn:oid:2.16.156.10011.2.3.3.11", terminology.ICD10},
		{"China clinical ICD-10 diagnosis table", "urn:oid:2.16.156.10011.2.3.3.11.3", terminology.ICD10},
		{"ICD-10-GM (BfArM)", "http://fhir.de/CodeSystem/bfarm/icd-10-gm", terminology.ICD10},
		{"ICD-10-GM (DIMDI)", "http://fhir.de/CodeSystem/dimdi/icd-10-gm", terminology.ICD10},
		{"ICD-10-GM (OID)", "urn:oid:1.2.276.0.76.5.424", terminology.ICD10},
		{"ICD-10-CA", "http://hl7.org/fhir/sid/icd-10-ca", terminology.ICD10},
		{"ICD-10-AM", "http://hl7.org/fhir/sid/icd-10-am", terminology.ICD10},
		{"WHO ICD-10 as icd-10-who", "http://hl7.org/fhir/sid/icd-10-who", terminology.ICD10},
		{"ICD-10-CM as icd-10-us", "http://hl7.org/fhir/sid/icd-10-us", terminology.ICD10CM},
		{"SNOMED CT US edition as system", "http://snomed.info/sct/731000124108", terminology.SNOMED},
		{"SNOMED CT international edition as system", "http://snomed.info/sct/900000000000207008", terminology.SNOMED},
		{"SNOMED CT edition and version as system", "http://snomed.info/sct/731000124108/version/20250301", terminology.SNOMED},
		{"SNOMED CT with a trailing slash", "http://snomed.info/sct/", terminology.SNOMED},
		{"SNOMED CT over https", "https://snomed.info/sct", terminology.SNOMED},
		{"LOINC over https", "https://loinc.org", terminology.LOINC},
		{"LOINC with a trailing slash", "http://loinc.org/", terminology.LOINC},
		{"RxNorm with a trailing slash", "http://www.nlm.nih.gov/research/umls/rxnorm/", terminology.RxNorm},
		{"ICD-10-PCS sid", "http://hl7.org/fhir/sid/icd-10-pcs", terminology.ICD10PCS},
		// unchanged
		{"canonical SNOMED CT", terminology.SNOMED, terminology.SNOMED},
		{"canonical ICD-10-CM", terminology.ICD10CM, terminology.ICD10CM},
		{"unknown system", "http://hospital.example/codes/lab", "http://hospital.example/codes/lab"},
		{"unknown OID", "urn:oid:1.2.3.4.5", "urn:oid:1.2.3.4.5"},
		{"empty", "", ""},
		{"SNOMED path that is not an edition", "http://snomed.info/sct/abc", "http://snomed.info/sct/abc"},
		{"SNOMED path with an empty edition", "http://snomed.info/sct//version/1", "http://snomed.info/sct//version/1"},
		{"a prefix of SNOMED CT's URI", "http://snomed.info/sctx/123", "http://snomed.info/sctx/123"},
		{"an OID differing only in case of the scheme", "URN:OID:2.16.840.1.113883.6.96", "URN:OID:2.16.840.1.113883.6.96"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.Canonical(tc.system); got != tc.want {
				t.Errorf("Canonical(%q) = %q, want %q", tc.system, got, tc.want)
			}
		})
	}
}

// Canonical is on the hot path of every coding read: a canonical or unknown URI costs no
// allocation.
func TestCanonicalAllocatesNothing(t *testing.T) {
	s := newSystems(t)
	for _, system := range []string{
		terminology.SNOMED, terminology.LOINC, terminology.ICD10CM, terminology.ICD10,
		terminology.RxNorm, terminology.NDC, terminology.UCUM, terminology.ICD10PCS,
		terminology.CPT, terminology.HCPCS, terminology.V3Interpretation,
		"http://hospital.example/codes/lab",
		"urn:oid:2.16.840.1.113883.6.96",
	} {
		t.Run(system, func(t *testing.T) {
			var got string
			if n := testing.AllocsPerRun(100, func() { got = s.Canonical(system) }); n != 0 {
				t.Errorf("Canonical(%q) allocates %.1f times per call, want 0", system, n)
			}
			_ = got
		})
	}
}

func TestSystemsAdd(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to string
		ok       bool
		// resolves is what Canonical(from) must give afterwards
		resolves string
	}{
		{name: "a site's ICD-10 edition to WHO ICD-10", from: "urn:oid:1.2.826.0.1.3680043.2.1", to: terminology.ICD10, ok: true, resolves: terminology.ICD10},
		{name: "a site's SNOMED CT spelling", from: "SNOMED-CT", to: terminology.SNOMED, ok: true, resolves: terminology.SNOMED},
		{name: "a built-in alias again to its own system", from: "https://loinc.org", to: terminology.LOINC, ok: true, resolves: terminology.LOINC},
		{name: "a known system to itself", from: terminology.LOINC, to: terminology.LOINC, ok: true, resolves: terminology.LOINC},
		{name: "target not a known system", from: "LOCAL", to: "http://hospital.example/codes", resolves: "LOCAL"},
		{name: "target an alias, not a canonical URI", from: "SCT", to: "urn:oid:2.16.840.1.113883.6.96", resolves: "SCT"},
		{name: "target empty", from: "SCT", to: "", resolves: "SCT"},
		{name: "a known system to another", from: terminology.LOINC, to: terminology.SNOMED, resolves: terminology.LOINC},
		{name: "ICD-10-CM to WHO ICD-10", from: terminology.ICD10CM, to: terminology.ICD10, resolves: terminology.ICD10CM},
		{name: "a built-in OID to another system", from: "urn:oid:2.16.840.1.113883.6.1", to: terminology.SNOMED, resolves: terminology.LOINC},
		{name: "a built-in alias to another system", from: "http://hl7.org/fhir/sid/icd-10-us", to: terminology.ICD10, resolves: terminology.ICD10CM},
		{name: "a national ICD-10 edition to ICD-10-CM", from: "http://fhir.de/CodeSystem/bfarm/icd-10-gm", to: terminology.ICD10CM, resolves: terminology.ICD10},
		{name: "a SNOMED CT edition to another system", from: "http://snomed.info/sct/731000124108", to: terminology.LOINC, resolves: terminology.SNOMED},
		{name: "empty alias", from: "", to: terminology.ICD10, resolves: ""},
		{name: "leading space", from: " urn:oid:1.2.3", to: terminology.ICD10, resolves: " urn:oid:1.2.3"},
		{name: "trailing space", from: "urn:oid:1.2.3 ", to: terminology.ICD10, resolves: "urn:oid:1.2.3 "},
		{name: "trailing tab", from: "urn:oid:1.2.3\t", to: terminology.ICD10, resolves: "urn:oid:1.2.3\t"},
		{name: "only spaces", from: "   ", to: terminology.ICD10, resolves: "   "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSystems(t)
			err := s.Add(tc.from, tc.to)
			if tc.ok {
				if err != nil {
					t.Fatalf("Add(%q, %q): %v", tc.from, tc.to, err)
				}
			} else {
				var ae *terminology.AliasError
				if !errors.As(err, &ae) {
					t.Fatalf("Add(%q, %q) = %v, want an *AliasError", tc.from, tc.to, err)
				}
				if ae.Alias != tc.from || ae.Target != tc.to || ae.Problem == "" {
					t.Errorf("AliasError = %+v, want alias %q, target %q and a problem", ae, tc.from, tc.to)
				}
				if !strings.Contains(err.Error(), `"`+tc.from+`"`) {
					t.Errorf("error %q does not name the alias %q", err, tc.from)
				}
			}
			if got := s.Canonical(tc.from); got != tc.resolves {
				t.Errorf("after Add, Canonical(%q) = %q, want %q", tc.from, got, tc.resolves)
			}
		})
	}
}

// A site's own alias, once added, means its system: adding it again for the same system
// is accepted, for another refused.
func TestSystemsAddSiteAliasTwice(t *testing.T) {
	s := newSystems(t)
	const from = "urn:oid:1.2.156.112604.1.2.40"
	if err := s.Add(from, terminology.ICD10); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(from, terminology.ICD10); err != nil {
		t.Errorf("the same alias again: %v", err)
	}
	var ae *terminology.AliasError
	if err := s.Add(from, terminology.ICD10CM); !errors.As(err, &ae) {
		t.Errorf("Add(%q, ICD-10-CM) after ICD-10 = %v, want an *AliasError", from, err)
	}
	if got := s.Canonical(from); got != terminology.ICD10 {
		t.Errorf("Canonical(%q) = %q, want %q", from, got, terminology.ICD10)
	}
}

func TestNewSystemsSiteAliases(t *testing.T) {
	t.Run("good aliases resolve beside the built-in ones", func(t *testing.T) {
		s, err := terminology.NewSystems(map[string]string{
			"urn:oid:1.2.156.112604.1.2.40": terminology.ICD10,
			"LOCAL-SNOMED":                  terminology.SNOMED,
		})
		if err != nil {
			t.Fatal(err)
		}
		for from, want := range map[string]string{
			"urn:oid:1.2.156.112604.1.2.40":                        terminology.ICD10,
			"LOCAL-SNOMED":                                         terminology.SNOMED,
			"urn:oid:2.16.840.1.113883.6.96":                       terminology.SNOMED,
			"http://snomed.info/sct/731000124108/version/20250301": terminology.SNOMED,
		} {
			if got := s.Canonical(from); got != want {
				t.Errorf("Canonical(%q) = %q, want %q", from, got, want)
			}
		}
	})
	for _, tc := range []struct {
		name     string
		site     map[string]string
		badAlias string
	}{
		{"target not known", map[string]string{"ok": terminology.ICD10, "LAB": "http://hospital.example/lab"}, "LAB"},
		{"redefines a known system", map[string]string{"ok": terminology.ICD10, terminology.ICD10CM: terminology.ICD10}, terminology.ICD10CM},
		{"padded", map[string]string{"ok": terminology.ICD10, "ICD10 ": terminology.ICD10}, "ICD10 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := terminology.NewSystems(tc.site)
			var ae *terminology.AliasError
			if !errors.As(err, &ae) {
				t.Fatalf("NewSystems = %v, want an *AliasError", err)
			}
			if s != nil {
				t.Errorf("NewSystems returned a table with its error")
			}
			if ae.Alias != tc.badAlias {
				t.Errorf("AliasError names %q, want %q", ae.Alias, tc.badAlias)
			}
			if !strings.Contains(err.Error(), tc.badAlias) {
				t.Errorf("error %q does not name %q", err, tc.badAlias)
			}
		})
	}
}

func TestCodingNames(t *testing.T) {
	for _, tc := range []struct {
		name       string
		c          terminology.Coding
		key, str   string
		systemName string
	}{
		{"SNOMED CT", terminology.Coding{System: terminology.SNOMED, Code: "109989006"}, "http://snomed.info/sct|109989006", "SNOMED CT 109989006", "SNOMED CT"},
		{"ICD-10-CM", terminology.Coding{System: terminology.ICD10CM, Code: "C90.02"}, "http://hl7.org/fhir/sid/icd-10-cm|C90.02", "ICD-10-CM C90.02", "ICD-10-CM"},
		{"unknown system", terminology.Coding{System: "http://hospital.example/lab", Code: "GLU"}, "http://hospital.example/lab|GLU", "http://hospital.example/lab|GLU", ""},
		{"alias is not named", terminology.Coding{System: "urn:oid:2.16.840.1.113883.6.96", Code: "1"}, "urn:oid:2.16.840.1.113883.6.96|1", "urn:oid:2.16.840.1.113883.6.96|1", ""},
		{"Via is no part of the key", terminology.Coding{System: terminology.RxNorm, Code: "358258", Via: "x|y"}, "http://www.nlm.nih.gov/research/umls/rxnorm|358258", "RxNorm 358258", "RxNorm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.Key(); got != tc.key {
				t.Errorf("Key() = %q, want %q", got, tc.key)
			}
			if got := tc.c.String(); got != tc.str {
				t.Errorf("String() = %q, want %q", got, tc.str)
			}
			if got := terminology.SystemName(tc.c.System); got != tc.systemName {
				t.Errorf("SystemName = %q, want %q", got, tc.systemName)
			}
			if b := tc.c.Bare(); b.Via != "" || b.System != tc.c.System || b.Code != tc.c.Code {
				t.Errorf("Bare() = %+v", b)
			}
		})
	}
}
