package api

import (
	"strings"
	"testing"
)

func TestOutboundURLProblem(t *testing.T) {
	tests := []struct{ name, url, problem string }{
		{"https", "https://ehr.example.org/fhir", ""},
		{"http on 127.0.0.1", "http://127.0.0.1:8080/jwks", ""},
		{"http on ::1", "http://[::1]:8080/jwks", ""},
		{"http on localhost", "http://localhost/fhir", ""},
		{"plain http elsewhere", "http://ehr.example.org/fhir", "is plain http"},
		{"http on a name that starts like localhost", "http://localhost.example.org/fhir", "is plain http"},
		{"relative", "/fhir", "is not an absolute URL"},
		{"other scheme", "ftp://ehr.example.org/fhir", `has scheme "ftp"`},
		{"query", "https://ehr.example.org/fhir?x=1", "has a query or fragment"},
		{"credentials, not echoed", "https://user:secret@ehr.example.org/fhir?x=1", "carries credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := outboundURLProblem(tt.url)
			if tt.problem == "" && got != "" || !strings.Contains(got, tt.problem) {
				t.Errorf("outboundURLProblem(%q) = %q, want %q", tt.url, got, tt.problem)
			}
			if strings.Contains(got, "secret") {
				t.Errorf("the problem %q quotes the password", got)
			}
		})
	}
}
