package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
)

// /readyz shows whether the store answers, and stays ready while it does not: the
// verdicts do not depend on it, and a database outage must not take every replica out
// of the Service.
func TestReadyzShowsTheStoreWithoutDependingOnIt(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ready func(context.Context) error
		want  string
	}{
		{"store answers", func(context.Context) error { return nil }, "ok"},
		{"store down", func(context.Context) error { return errors.New("connection refused") }, "unavailable: screenings are answered but not stored"},
		{"no store", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newRESTEnv(t, func(c *Config) { c.StoreReady = tc.ready })
			rec := env.do(t, http.MethodGet, "/readyz", nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", rec.Code, rec.Body)
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body["store"] != tc.want || body["status"] != "ready" {
				t.Errorf("body %v; want status ready and store %q", body, tc.want)
			}
		})
	}
}
