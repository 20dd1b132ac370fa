package store_test

import (
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/store"
)

// A database URL is logged without any of its secrets.
func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://app:hunter2@db:5432/trialscreen?sslmode=require", "postgres://app:xxxxx@db:5432/trialscreen"},
		{"postgresql://app@db/trialscreen?password=hunter2", "postgresql://app@db/trialscreen"},
		{"postgres://db/x?sslpassword=hunter2#frag", "postgres://db/x"},
		{"postgres://a b:%zz@db/x", "(unparseable URL)"},
	} {
		if got := store.RedactURL(tc.in); got != tc.want || strings.Contains(got, "hunter2") {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// CheckDatabaseURL names what is wrong, never quoting the URL (it may hold a password).
func TestCheckDatabaseURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://app:hunter2@db:5432/trialscreen", ""},
		{"postgresql://app@db/trialscreen", ""},
		{"mysql://app:hunter2@db/x", `scheme "mysql" is not postgres or postgresql`},
		{"postgres://app:hunter2@db:port/x", "is not a"},
		{"::", "is not a URL"},
	} {
		err := store.CheckDatabaseURL(tc.in)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter2")):
			t.Errorf("%q: %v, want %q", tc.in, err, tc.want)
		}
	}
}
