package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/store"
)

// previousSuite checks Previous on one backend: the newest earlier screening of the same
// patient and source, ties on the instant broken by id as ListByPatient orders them.
func previousSuite(t *testing.T, open func(t *testing.T) *store.Store) {
	t.Run("previous screening of the same patient and source", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := context.Background()
		save := func(id, patient, surface, caller string, at time.Time) store.Screening {
			sc := store.Screening{ID: id, PatientID: patient, Created: at, Surface: surface, CallerID: caller,
				ProtocolID: "proto", ProtocolVersion: "1", AsOf: at, Verdict: "ineligible", Document: []byte(`{"id":"` + id + `"}`)}
			if err := s.Save(ctx, sc); err != nil {
				t.Fatalf("Save %s: %v", id, err)
			}
			return sc
		}
		first := save("a1", "p1", "rest", "portal", t0)
		save("b1", "p2", "rest", "portal", t0.Add(time.Minute))       // another patient
		save("c1", "p1", "cds-hooks", "ehr-1", t0.Add(2*time.Minute)) // another source
		report := save("d1", "p1", "report", "coordinator", t0.Add(3*time.Minute))
		tieLow := save("e1", "p1", "rest", "portal", t0.Add(4*time.Minute))
		tieHigh := save("e2", "p1", "rest", "portal", t0.Add(4*time.Minute)) // same instant: id orders
		cds := save("f1", "p1", "cds-hooks", "ehr-1", t0.Add(5*time.Minute))
		save("g1", "p1", "cds-hooks", "ehr-2", t0.Add(6*time.Minute)) // another EHR
		cds2 := save("h1", "p1", "cds-hooks", "ehr-2", t0.Add(7*time.Minute))
		rest := []string{"rest", "report"}
		tests := []struct {
			name string
			q    store.PreviousQuery
			want string // "" for ErrNotFound
		}{
			{"the newest before", store.PreviousQuery{Of: tieLow, Surfaces: rest}, "d1"},
			{"a tie on the instant goes by id", store.PreviousQuery{Of: tieHigh, Surfaces: rest}, "e1"},
			{"other surfaces are skipped", store.PreviousQuery{Of: report, Surfaces: rest}, "a1"},
			{"the first has none", store.PreviousQuery{Of: first, Surfaces: rest}, ""},
			{"same EHR only", store.PreviousQuery{Of: cds, Surfaces: []string{"cds-hooks"}, CallerID: "ehr-1"}, "c1"},
			{"another EHR's screenings are not compared", store.PreviousQuery{Of: cds2, Surfaces: []string{"cds-hooks"}, CallerID: "ehr-2"}, "g1"},
			{"any source", store.PreviousQuery{Of: cds}, "e2"},
		}
		for _, tt := range tests {
			got, err := s.Previous(ctx, tt.q)
			switch {
			case tt.want == "" && !errors.Is(err, store.ErrNotFound):
				t.Errorf("%s: Previous = %q, %v; want ErrNotFound", tt.name, got.ID, err)
			case tt.want != "" && (err != nil || got.ID != tt.want || string(got.Document) != `{"id":"`+tt.want+`"}`):
				t.Errorf("%s: Previous = %q, %v; want %s", tt.name, got.ID, err, tt.want)
			}
		}
	})
}
