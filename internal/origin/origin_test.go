package origin_test

import (
	"net/url"
	"testing"

	"github.com/trialscreen/trialscreen/internal/origin"
)

func TestSameOrigin(t *testing.T) {
	base, _ := url.Parse("https://fhir.example.org/r4")
	tests := []struct {
		name, u string
		want    bool
	}{
		{"same", "https://fhir.example.org/r4/Observation?page=2", true},
		{"default port explicit", "https://FHIR.example.org:443/other", true},
		{"other host", "https://evil.example.org/r4", false},
		{"other port", "https://fhir.example.org:8443/r4", false},
		{"other scheme", "http://fhir.example.org/r4", false},
		{"subdomain", "https://a.fhir.example.org/r4", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, _ := url.Parse(tt.u)
			if got := origin.Same(u, base); got != tt.want {
				t.Errorf("Same(%s) = %v, want %v", tt.u, got, tt.want)
			}
		})
	}
}
