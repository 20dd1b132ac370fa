package terminology

// IPSAbsentUnknown is the IPS code system for stated absence and unknown information.
const IPSAbsentUnknown = "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips"

// noKnownAllergy are the codes with which an AllergyIntolerance states that the patient
// has no known allergy (of a kind): the record says what it is, and it is no allergy to
// any drug. "No information" codes (IPS no-allergy-info) are not among them: they say
// nothing is known, which is not an absence.
var noKnownAllergy = map[Coding]bool{
	{System: SNOMED, Code: "716186003"}:                                  true, // No known allergy
	{System: SNOMED, Code: "409137002"}:                                  true, // No known drug allergy
	{System: SNOMED, Code: "428607008"}:                                  true, // No known environmental allergy
	{System: SNOMED, Code: "429625007"}:                                  true, // No known food allergy
	{System: IPSAbsentUnknown, Code: "no-known-allergies"}:               true,
	{System: IPSAbsentUnknown, Code: "no-known-medication-allergies"}:    true,
	{System: IPSAbsentUnknown, Code: "no-known-environmental-allergies"}: true,
	{System: IPSAbsentUnknown, Code: "no-known-food-allergies"}:          true,
}

// NoKnownAllergy reports whether c (its system canonical) states that the patient has no
// known allergy of some kind.
func NoKnownAllergy(c Coding) bool { return noKnownAllergy[c.Bare()] }
