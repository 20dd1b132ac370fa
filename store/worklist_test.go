package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/trialscreen/trialscreen/store"
)

// wlSaver saves screenings for the worklist cases: a patient, a verdict, an instant.
type wlSaver struct {
	t *testing.T
	s *store.Store
}

func (w wlSaver) save(id, patient, name, verdict string, at time.Time, obtain ...store.ObtainItem) {
	w.t.Helper()
	sc := store.Screening{ID: id, PatientID: patient, Created: at, Surface: "rest", CallerID: "portal",
		ProtocolID: "proto", ProtocolVersion: "1", AsOf: at, Verdict: verdict, Document: []byte(`{}`),
		PatientName: name, PatientGender: "female", PatientBirthDate: "1960-02-03", ToObtain: obtain, ReviewCount: len(id)}
	if err := w.s.Save(context.Background(), sc); err != nil {
		w.t.Fatalf("Save %s: %v", id, err)
	}
}

// ids lists a page's patient ids, in order.
func ids(p store.WorklistPage) []string {
	out := []string{}
	for _, e := range p.Items {
		out = append(out, e.PatientID)
	}
	return out
}

// worklistSuite checks the worklist on one backend: the row the trigger keeps, the
// filters, paging, newer-wins and retention.
func worklistSuite(t *testing.T, open func(t *testing.T) *store.Store) {
	ctx := context.Background()
	min := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }

	t.Run("worklist row of a patient's latest screening", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		w := wlSaver{t, s}
		obtain := []store.ObtainItem{{Criterion: "alt", What: "ALT result within 14 days"}, {Criterion: "ecg", What: "an ECG"}}
		w.save("s1", "p1", "Ada Lovelace", "insufficient-data", min(1), obtain[:1]...)
		w.save("s2", "p1", "Ada King", "insufficient-data", min(2), obtain...)
		p, err := s.Worklist(ctx, store.WorklistQuery{Limit: 10})
		if err != nil {
			t.Fatalf("Worklist: %v", err)
		}
		want := []store.WorklistEntry{{PatientID: "p1", Name: "Ada King", Gender: "female", BirthDate: "1960-02-03",
			ScreeningID: "s2", Created: min(2), Verdict: "insufficient-data", Surface: "rest", ToObtain: obtain,
			ReviewCount: 2, PreviousVerdict: "insufficient-data"}}
		if d := cmp.Diff(want, p.Items); d != "" || p.Next != "" {
			t.Errorf("Worklist (-want +got):\n%s next %q", d, p.Next)
		}
	})

	t.Run("worklist filters", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		w := wlSaver{t, s}
		w.save("a1", "pat-a", "Alice Zed", "ineligible", min(1))
		w.save("a2", "pat-a", "Alice Zed", "potentially-eligible", min(5)) // eligible since 5
		w.save("b1", "pat-b", "bob Young", "potentially-eligible", min(2))
		w.save("b2", "pat-b", "bob Young", "potentially-eligible", min(6)) // eligible since 2
		w.save("c1", "pat-c", "Carol Alder", "insufficient-data", min(3), store.ObtainItem{Criterion: "lvef", What: "an echocardiogram"})
		w.save("d1", "zed-d", "Émile Ålder", "ineligible", min(4))
		w.save("e1", "pat-e", "", "potentially-eligible", min(7)) // no name in the record
		tests := []struct {
			name string
			q    store.WorklistQuery
			want []string
		}{
			{"all, newest first", store.WorklistQuery{}, []string{"pat-e", "pat-b", "pat-a", "zed-d", "pat-c"}},
			{"by verdict", store.WorklistQuery{Verdict: "ineligible"}, []string{"zed-d"}},
			{"waits for data", store.WorklistQuery{WaitsForData: true}, []string{"pat-c"}},
			{"waits for data and another verdict", store.WorklistQuery{WaitsForData: true, Verdict: "ineligible"}, []string{}},
			{"eligible since, the run's start counts", store.WorklistQuery{EligibleSince: min(5)}, []string{"pat-e", "pat-a"}},
			{"eligible since an early date", store.WorklistQuery{EligibleSince: min(0)}, []string{"pat-e", "pat-b", "pat-a"}},
			{"eligible since and search", store.WorklistQuery{EligibleSince: min(0), Search: "bo"}, []string{"pat-b"}},
			{"id prefix", store.WorklistQuery{Search: "zed"}, []string{"zed-d"}},
			{"name prefix, any case", store.WorklistQuery{Search: "AL"}, []string{"pat-a"}},
			{"name prefix matches the first name only", store.WorklistQuery{Search: "Alder"}, []string{}},
			{"id or name", store.WorklistQuery{Search: "pat-"}, []string{"pat-e", "pat-b", "pat-a", "pat-c"}},
			{"a prefix with LIKE's wildcards is literal", store.WorklistQuery{Search: "pat%"}, []string{}},
			{"a non-ASCII name prefix", store.WorklistQuery{Search: "Émile"}, []string{"zed-d"}},
		}
		// Both plans of a search: through the prefix indexes, and (a prefix matching
		// more than the threshold) testing each row in the worklist's order.
		for _, max := range []int{1000, 1} {
			s.SetSearchIndexedMax(max)
			for _, tt := range tests {
				tt.q.Limit = 10
				p, err := s.Worklist(ctx, tt.q)
				if err != nil {
					t.Errorf("%s: %v", tt.name, err)
					continue
				}
				if d := cmp.Diff(tt.want, ids(p)); d != "" {
					t.Errorf("%s, threshold %d (-want +got):\n%s", tt.name, max, d)
				}
			}
		}
	})

	t.Run("worklist keeps the newest screening, whatever the order of saves", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		w := wlSaver{t, s}
		type want struct {
			screening, previous string
			since               time.Time
		}
		check := func(step string, wt want) {
			t.Helper()
			p, err := s.Worklist(ctx, store.WorklistQuery{Limit: 10})
			if err != nil || len(p.Items) != 1 {
				t.Fatalf("%s: Worklist = %+v, %v", step, p, err)
			}
			e := p.Items[0]
			if got := (want{e.ScreeningID, e.PreviousVerdict, e.EligibleSince}); got != wt {
				t.Errorf("%s: got %+v, want %+v", step, got, wt)
			}
		}
		w.save("s3", "p", "N", "potentially-eligible", min(3))
		check("first", want{"s3", "", min(3)})
		w.save("s1", "p", "N", "ineligible", min(1)) // another replica's, committed late
		check("an older one is not the latest", want{"s3", "ineligible", min(3)})
		w.save("s2", "p", "N", "potentially-eligible", min(2))
		check("a late one extends the run", want{"s3", "potentially-eligible", min(2)})
		w.save("s0", "p", "N", "potentially-eligible", min(0))
		check("a late one before an ineligible does not", want{"s3", "potentially-eligible", min(2)})
		w.save("s4a", "p", "N", "potentially-eligible", min(4))
		check("the run goes on", want{"s4a", "potentially-eligible", min(2)})
		w.save("s4", "p", "N", "insufficient-data", min(4)) // same instant, lower id: older
		check("a tie on the instant goes by id", want{"s4a", "insufficient-data", min(4)})
		w.save("s5", "p", "N", "insufficient-data", min(5))
		check("the run ends", want{"s5", "potentially-eligible", time.Time{}})
		w.save("s6", "p", "N", "potentially-eligible", min(6))
		check("a new run", want{"s6", "insufficient-data", min(6)})
	})

	t.Run("worklist: saves of one patient at the same time all succeed, the newest wins", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		// Two replicas screening one patient at once: each save's trigger upserts the
		// same worklist row. Neither may fail (unique violation, deadlock, busy), and
		// the row ends on the newest whatever the commit order.
		const n = 16
		errs := make(chan error, 2*n)
		var wg sync.WaitGroup
		for i := range n {
			for j, save := range []func(context.Context, store.Screening) error{
				s.Save,
				func(ctx context.Context, sc store.Screening) error {
					_, err := s.SaveReadingDecisions(ctx, sc)
					return err
				},
			} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					id := fmt.Sprintf("c%02d-%d", i, j)
					errs <- save(ctx, store.Screening{ID: id, PatientID: "same", Created: min(i), Surface: "rest",
						Verdict: "potentially-eligible", Document: []byte(`{}`), PatientName: "N"})
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("concurrent save: %v", err)
			}
		}
		p, err := s.Worklist(ctx, store.WorklistQuery{Limit: 10})
		if err != nil || len(p.Items) != 1 {
			t.Fatalf("Worklist = %+v, %v; want one row", p, err)
		}
		if e := p.Items[0]; !e.Created.Equal(min(n-1)) || !e.EligibleSince.Equal(min(0)) || e.PreviousVerdict != "potentially-eligible" {
			t.Errorf("row = created %v, eligible since %v, previous %q; want the newest (%v), since %v", e.Created, e.EligibleSince, e.PreviousVerdict, min(n-1), min(0))
		}
	})

	t.Run("worklist pages by cursor", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		w := wlSaver{t, s}
		for i := range 7 {
			// Two patients share each instant: the patient id breaks the tie.
			w.save(fmt.Sprintf("s%d", i), fmt.Sprintf("p%d", i), "N", "ineligible", min(i/2))
		}
		var got []string
		cursor, pages := "", 0
		for {
			p, err := s.Worklist(ctx, store.WorklistQuery{Cursor: cursor, Limit: 3})
			if err != nil {
				t.Fatalf("Worklist: %v", err)
			}
			pages++
			got = append(got, ids(p)...)
			if pages == 1 {
				// Screened again while the coordinator pages: on top, and not seen twice.
				w.save("again", "p0", "N", "ineligible", min(10))
			}
			if p.Next == "" {
				break
			}
			cursor = p.Next
		}
		if d := cmp.Diff([]string{"p6", "p5", "p4", "p3", "p2", "p1"}, got); d != "" || pages != 2 {
			t.Errorf("pages (-want +got):\n%s, %d pages", d, pages)
		}
		if _, err := s.Worklist(ctx, store.WorklistQuery{Cursor: "not a cursor!", Limit: 3}); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("bad cursor: %v, want ErrBadCursor", err)
		}
		for _, n := range []int{0, store.MaxPageSize + 1} {
			_, err := s.Worklist(ctx, store.WorklistQuery{Limit: n})
			if want := fmt.Sprintf("store: worklist: limit %d is not 1 to 100", n); err == nil || err.Error() != want {
				t.Errorf("limit %d: %v, want %q", n, err, want)
			}
		}
	})

	t.Run("retention drops the worklist rows of deleted screenings", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		w := wlSaver{t, s}
		w.save("old", "gone", "N", "ineligible", min(1))
		w.save("k1", "kept", "N", "potentially-eligible", min(1))
		w.save("k2", "kept", "N", "potentially-eligible", min(3))
		w.save("new", "fresh", "N", "ineligible", min(4))
		n, err := s.DeleteScreeningsBefore(ctx, min(2))
		if err != nil || n != 2 {
			t.Fatalf("DeleteScreeningsBefore = %d, %v; want 2", n, err)
		}
		p, err := s.Worklist(ctx, store.WorklistQuery{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]string{"fresh", "kept"}, ids(p)); d != "" {
			t.Errorf("after retention (-want +got):\n%s", d)
		}
		// The kept patient's row still points at a screening that exists.
		if _, err := s.Get(ctx, p.Items[1].ScreeningID); err != nil {
			t.Errorf("the kept row's screening: %v", err)
		}
		_ = s.Close()
		if _, err := s.DeleteScreeningsBefore(ctx, min(2)); err == nil || err.Error() != "store: delete old screenings: sql: database is closed" {
			t.Errorf("DeleteScreeningsBefore on a closed store = %v", err)
		}
		if _, err := s.Worklist(ctx, store.WorklistQuery{Limit: 10}); err == nil || err.Error() != "store: worklist: sql: database is closed" {
			t.Errorf("Worklist on a closed store = %v", err)
		}
	})
}

// worklistBackfillSuite checks that migration 00007 fills the worklist from the
// screenings stored before it, reading names and what to obtain from their documents.
func worklistBackfillSuite(t *testing.T, fresh newConfig) {
	t.Run("worklist filled from the screenings stored before it", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		s, err := store.OpenUnmigrated(fresh(t, func() time.Time { return t0 }))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.MigrateTo(ctx, 5); err != nil {
			t.Fatalf("MigrateTo 5: %v", err)
		}
		insert := func(id, patient, verdict string, minute int, doc string) {
			q := `INSERT INTO screenings (id, patient_id, created_us, surface, caller_id, protocol_id, protocol_version, as_of_us, verdict, document)
				VALUES ('` + id + `', '` + patient + `', ` + fmt.Sprint(t0.Add(time.Duration(minute)*time.Minute).UnixMicro()) +
				`, 'rest', 'portal', 'p', '1', 0, '` + verdict + `', '` + doc + `')`
			if _, err := s.DB().ExecContext(ctx, q); err != nil {
				t.Fatalf("insert %s: %v", id, err)
			}
		}
		insert("a1", "pa", "ineligible", 1, `{}`)
		insert("a2", "pa", "potentially-eligible", 2, `{}`)
		insert("a3", "pa", "potentially-eligible", 3, `{"patient":{"name":"Ada King","gender":"female","birth_date":"1960"},"review_items":[{},{}]}`)
		insert("b1", "pb", "insufficient-data", 4, `{"to_obtain":[{"criterion":"ecg","reason":"no-data","what":"an ECG"}]}`)
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		p, err := s.Worklist(ctx, store.WorklistQuery{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		want := []store.WorklistEntry{
			{PatientID: "pb", ScreeningID: "b1", Created: t0.Add(4 * time.Minute), Verdict: "insufficient-data", Surface: "rest",
				ToObtain: []store.ObtainItem{{Criterion: "ecg", What: "an ECG"}}},
			{PatientID: "pa", Name: "Ada King", Gender: "female", BirthDate: "1960", ScreeningID: "a3", Created: t0.Add(3 * time.Minute),
				Verdict: "potentially-eligible", Surface: "rest", ReviewCount: 2, EligibleSince: t0.Add(2 * time.Minute), PreviousVerdict: "potentially-eligible"},
		}
		if d := cmp.Diff(want, p.Items); d != "" {
			t.Errorf("backfilled worklist (-want +got):\n%s", d)
		}
	})
}
