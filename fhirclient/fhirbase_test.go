package fhirclient

import (
	"testing"

	"github.com/trialscreen/trialscreen/protocols"
)

// FHIRBase is the configured base URL, without a trailing slash, so that a report can
// link "Observation/1" as base + "/Observation/1".
func TestRecordSourceFHIRBase(t *testing.T) {
	p, err := protocols.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, base, want string }{
		{"plain", "https://fhir.example.org/R4", "https://fhir.example.org/R4"},
		{"trailing slash", "https://fhir.example.org/R4/", "https://fhir.example.org/R4"},
		{"loopback with port", "http://127.0.0.1:8080/fhir", "http://127.0.0.1:8080/fhir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Config{BaseURL: tt.base})
			if err != nil {
				t.Fatal(err)
			}
			src, err := NewRecordSource(c, p)
			if err != nil {
				t.Fatal(err)
			}
			if got := src.FHIRBase(); got != tt.want {
				t.Errorf("FHIRBase() = %q, want %q", got, tt.want)
			}
		})
	}
}
