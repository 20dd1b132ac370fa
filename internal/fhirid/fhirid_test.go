package fhirid

import (
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"123", true}, {"Ab-9.z", true}, {"a.b", true}, {"...", true}, {".a", true}, {"a..", true},
		{strings.Repeat("a", 64), true},
		{".", false}, {"..", false}, // clean to another path: Patient/. is a search of everyone
		{"", false}, {strings.Repeat("a", 65), false}, {"a/b", false}, {"%2e", false},
		{"%2e%2e", false}, {"a_b", false}, {"a b", false}, {"é", false}, {"a?b", false}, {"a#b", false},
	}
	for _, tt := range tests {
		if got := Valid(tt.id); got != tt.ok {
			t.Errorf("Valid(%q) = %v, want %v", tt.id, got, tt.ok)
		}
	}
}
