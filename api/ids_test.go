package api

import (
	"strings"
	"testing"
)

func TestCheckFHIRID(t *testing.T) {
	tests := []struct {
		name, id string
		ok       bool
	}{
		{"letters, digits, dash, dot", "Ab-9.z", true},
		{"64 characters", strings.Repeat("a", 64), true},
		{"65 characters", strings.Repeat("a", 65), false},
		{"empty", "", false},
		{"slash", "a/b", false},
		{"underscore", "a_b", false},
		{"non-ASCII", "é", false},
		{"space", "a b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkFHIRID("context.patientId", tt.id)
			if (err == nil) != tt.ok {
				t.Fatalf("checkFHIRID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
			}
			if err == nil {
				return
			}
			br, isBR := err.(*badRequest)
			if !isBR || br.field != "context.patientId" {
				t.Errorf("error %v does not name the field", err)
			}
			if tt.id != "" && strings.Contains(err.Error(), tt.id) {
				t.Errorf("error %q quotes the value", err)
			}
		})
	}
}
