package fhirbundle

import dpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/datatypes_go_proto"

// conceptWords is what the record calls a concept, for people reading the evidence:
// CodeableConcept.text, else the first Coding.display. It is never matched on (codes
// decide); it only saves a reader from looking up "SNOMED CT 260385009".
func conceptWords(cc *dpb.CodeableConcept) string {
	if t := cc.GetText().GetValue(); t != "" {
		return t
	}
	for _, c := range cc.GetCoding() {
		if d := c.GetDisplay().GetValue(); d != "" {
			return d
		}
	}
	return ""
}
