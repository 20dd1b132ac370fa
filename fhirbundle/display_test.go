package fhirbundle

import (
	"testing"

	dpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/datatypes_go_proto"
)

// TestConceptWords: the record's text wins, then the first coding that has a display;
// a concept with neither has no words (the report then names the code).
func TestConceptWords(t *testing.T) {
	str := func(s string) *dpb.String { return &dpb.String{Value: s} }
	coding := func(display string) *dpb.Coding {
		return &dpb.Coding{System: &dpb.Uri{Value: "http://snomed.info/sct"}, Code: &dpb.Code{Value: "260385009"}, Display: str(display)}
	}
	tests := []struct {
		name string
		cc   *dpb.CodeableConcept
		want string
	}{
		{"nil", nil, ""},
		{"text wins", &dpb.CodeableConcept{Text: str("Neg"), Coding: []*dpb.Coding{coding("Negative")}}, "Neg"},
		{"first display", &dpb.CodeableConcept{Coding: []*dpb.Coding{coding(""), coding("Negative")}}, "Negative"},
		{"no words", &dpb.CodeableConcept{Coding: []*dpb.Coding{coding("")}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := conceptWords(tt.cc); got != tt.want {
				t.Errorf("conceptWords = %q, want %q", got, tt.want)
			}
		})
	}
}
