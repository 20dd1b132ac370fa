package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/trialscreen/trialscreen/store"
)

// reviewCases are the store suite's cases for review decisions and CDS Hooks feedback,
// run on every backend.
func reviewCases(t *testing.T, open func(t *testing.T) *store.Store) {
	ctx := context.Background()
	decision := func(criterion, value string, at time.Duration) store.Decision {
		return store.Decision{PatientID: "p1", Criterion: criterion, Decision: value, Note: "note " + value,
			CallerID: "portal", CallerUser: "u1", DecidedAt: t0.Add(at), ScreeningID: "s1",
			Evidence: []store.EvidenceRef{{Resource: "Observation/1", VersionID: "2", LastUpdated: "2026-11-19T10:00:00Z"}}}
	}

	t.Run("decisions: a newer one supersedes, the history keeps all", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		for _, d := range []store.Decision{
			decision("life-expectancy", "met", 0),
			decision("informed-consent", "not-met", time.Minute),
			decision("life-expectancy", "not-applicable", 2*time.Minute),
			decision("life-expectancy", "met", 2*time.Minute), // same instant: the later insert wins
			{PatientID: "p2", Criterion: "life-expectancy", Decision: "not-met", CallerID: "x", DecidedAt: t0, ScreeningID: "s9"},
		} {
			if err := s.SaveDecision(ctx, d); err != nil {
				t.Fatalf("SaveDecision: %v", err)
			}
		}
		cur, err := s.CurrentDecisions(ctx, "p1")
		if err != nil {
			t.Fatalf("CurrentDecisions: %v", err)
		}
		want := []store.Decision{decision("informed-consent", "not-met", time.Minute), decision("life-expectancy", "met", 2*time.Minute)}
		if d := cmp.Diff(want, cur, ignoreSeq); d != "" {
			t.Errorf("CurrentDecisions (-want +got):\n%s", d)
		}
		hist, err := s.DecisionHistory(ctx, "p1", "life-expectancy", 10)
		if err != nil {
			t.Fatalf("DecisionHistory: %v", err)
		}
		var got []string
		for _, h := range hist {
			got = append(got, h.Decision)
		}
		if d := cmp.Diff([]string{"met", "not-applicable", "met"}, got); d != "" {
			t.Errorf("history (-want +got):\n%s", d)
		}
		hist, err = s.DecisionHistory(ctx, "p1", "life-expectancy", 2)
		if err != nil || len(hist) != 2 || hist[0].Decision != "not-applicable" || hist[1].Decision != "met" {
			t.Errorf("DecisionHistory limit 2 = %+v, %v; want the newest two, oldest first", hist, err)
		}
		if _, err := s.DecisionHistory(ctx, "p1", "life-expectancy", 0); err == nil || err.Error() != "store: decision history: limit 0 is not at least 1" {
			t.Errorf("DecisionHistory limit 0 = %v", err)
		}
		if none, err := s.CurrentDecisions(ctx, "nobody"); err != nil || len(none) != 0 {
			t.Errorf("CurrentDecisions(nobody) = %v, %v", none, err)
		}
	})

	t.Run("decisions: a record without its keys is refused", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		err := s.SaveDecision(ctx, store.Decision{PatientID: "p1", Criterion: "ecog"})
		if err == nil || err.Error() != "store: save decision: patient id, criterion, decision and screening id are required" {
			t.Errorf("SaveDecision = %v", err)
		}
	})

	t.Run("saving a screening reads the patient's current decisions", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		sc := store.Screening{ID: "s2", PatientID: "p1", Created: t0, Surface: "rest", Document: []byte(`{}`)}
		got, err := s.SaveReadingDecisions(ctx, sc)
		if err != nil || len(got) != 0 {
			t.Fatalf("SaveReadingDecisions with no decisions = %v, %v", got, err)
		}
		if _, err := s.Get(ctx, "s2"); err != nil {
			t.Errorf("the screening was not stored: %v", err)
		}
		if err := s.SaveDecision(ctx, decision("compliance", "met", 0)); err != nil {
			t.Fatal(err)
		}
		sc.ID = "s3"
		got, err = s.SaveReadingDecisions(ctx, sc)
		if err != nil {
			t.Fatalf("SaveReadingDecisions: %v", err)
		}
		if d := cmp.Diff([]store.Decision{decision("compliance", "met", 0)}, got, ignoreSeq); d != "" {
			t.Errorf("decisions (-want +got):\n%s", d)
		}
		// A duplicate id fails the whole statement: no decisions, an error.
		if got, err := s.SaveReadingDecisions(ctx, sc); err == nil || got != nil {
			t.Errorf("duplicate id: %v, %v; want an error", got, err)
		}
		if _, err := s.SaveReadingDecisions(ctx, store.Screening{PatientID: "p1"}); err == nil ||
			err.Error() != "store: save screening: id and patient id are required" {
			t.Errorf("no id: %v", err)
		}
	})

	t.Run("feedback is stored against the card's screening, for its client only", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		sc := store.Screening{ID: "cds1", PatientID: "p1", Created: t0, Surface: "cds-hooks", CallerID: "ehr-a",
			CardUUID: "card-1", Document: []byte(`{}`)}
		if err := s.Save(ctx, sc); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, "cds1"); err != nil || got.CardUUID != "card-1" {
			t.Errorf("Get: card %q, %v", got.CardUUID, err)
		}
		fb := []store.Feedback{
			{CardUUID: "card-1", Client: "ehr-a", Outcome: "accepted", OutcomeAt: t0, ReceivedAt: t0.Add(time.Second)},
			{CardUUID: "card-1", Client: "ehr-a", Outcome: "overridden", OutcomeAt: t0.Add(time.Minute), ReceivedAt: t0.Add(time.Minute),
				Reasons: []store.OverrideReason{{System: "http://example.org/r", Code: "x", Display: "Not now", Comment: "later"}}},
		}
		ids, err := s.SaveFeedback(ctx, fb)
		if err != nil {
			t.Fatalf("SaveFeedback: %v", err)
		}
		if d := cmp.Diff([]string{"cds1", "cds1"}, ids); d != "" {
			t.Errorf("screening ids (-want +got):\n%s", d)
		}
		got, err := s.FeedbackFor(ctx, "cds1")
		if err != nil {
			t.Fatalf("FeedbackFor: %v", err)
		}
		fb[0].ScreeningID, fb[1].ScreeningID = "cds1", "cds1"
		if d := cmp.Diff(fb, got); d != "" {
			t.Errorf("FeedbackFor (-want +got):\n%s", d)
		}
	})

	t.Run("feedback on an unknown card, or another client's, stores nothing", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		if err := s.Save(ctx, store.Screening{ID: "cds2", PatientID: "p1", Created: t0, Surface: "cds-hooks", CallerID: "ehr-a",
			CardUUID: "card-2", Document: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			fbs  []store.Feedback
			idx  int
		}{
			{"unknown card", []store.Feedback{{CardUUID: "nope", Client: "ehr-a", Outcome: "accepted"}}, 0},
			{"another client's card", []store.Feedback{{CardUUID: "card-2", Client: "ehr-b", Outcome: "accepted"}}, 0},
			{"a good one, then an unknown one", []store.Feedback{
				{CardUUID: "card-2", Client: "ehr-a", Outcome: "accepted"}, {CardUUID: "nope", Client: "ehr-a", Outcome: "accepted"}}, 1},
		} {
			_, err := s.SaveFeedback(ctx, tc.fbs)
			var uc *store.UnknownCardError
			if !errors.As(err, &uc) || uc.Index != tc.idx || !strings.Contains(err.Error(), "no stored screening of this client has the card") {
				t.Errorf("%s: %v, want an UnknownCardError for %d", tc.name, err, tc.idx)
			}
		}
		if got, err := s.FeedbackFor(ctx, "cds2"); err != nil || len(got) != 0 {
			t.Errorf("FeedbackFor after refusals = %v, %v; want none (all or none)", got, err)
		}
	})

	t.Run("retention: feedback goes with its screening, decisions with the patient's last screening", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		day := 24 * time.Hour
		cutoff := t0.Add(-90 * day)
		for _, sc := range []store.Screening{
			{ID: "old-p1", PatientID: "p1", Created: t0.Add(-100 * day), CardUUID: "card-old"},
			{ID: "new-p1", PatientID: "p1", Created: t0, CardUUID: "card-new"},
			{ID: "old-p2", PatientID: "p2", Created: t0.Add(-100 * day), CardUUID: "card-p2"},
		} {
			sc.Surface, sc.CallerID, sc.Document = "cds-hooks", "ehr-a", []byte(`{}`)
			if err := s.Save(ctx, sc); err != nil {
				t.Fatal(err)
			}
		}
		var fbs []store.Feedback
		for card, at := range map[string]time.Time{"card-old": t0.Add(-100 * day), "card-new": t0, "card-p2": t0.Add(-100 * day)} {
			fbs = append(fbs, store.Feedback{CardUUID: card, Client: "ehr-a", Outcome: "overridden", OutcomeAt: at,
				ReceivedAt: at, Reasons: []store.OverrideReason{{Comment: "free text about the patient"}}})
		}
		if _, err := s.SaveFeedback(ctx, fbs); err != nil {
			t.Fatal(err)
		}
		for _, d := range []store.Decision{
			{PatientID: "p1", Criterion: "ecog", Decision: "met", Note: "old, but p1 is still screened", DecidedAt: t0.Add(-100 * day), ScreeningID: "old-p1"},
			{PatientID: "p2", Criterion: "ecog", Decision: "met", Note: "old, and p2 has no screening left", DecidedAt: t0.Add(-99 * day), ScreeningID: "old-p2"},
			{PatientID: "p2", Criterion: "ecog", Decision: "not-met", Note: "recent, on an old screening", DecidedAt: t0.Add(-day), ScreeningID: "old-p2"},
		} {
			d.CallerID = "portal"
			if err := s.SaveDecision(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		// Feedback an earlier version's retention left behind: its screening is gone.
		if err := s.Save(ctx, store.Screening{ID: "gone", PatientID: "p3", Created: t0.Add(-200 * day), Surface: "cds-hooks",
			CallerID: "ehr-a", CardUUID: "card-gone", Document: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveFeedback(ctx, []store.Feedback{{CardUUID: "card-gone", Client: "ehr-a", Outcome: "accepted",
			OutcomeAt: t0.Add(-199 * day), ReceivedAt: t0.Add(-199 * day)}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DB().ExecContext(ctx, `DELETE FROM screenings WHERE id = 'gone'`); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DeleteScreeningsBefore(ctx, cutoff); err != nil || n != 2 {
			t.Fatalf("DeleteScreeningsBefore = %d, %v; want 2", n, err)
		}
		for id, want := range map[string]int{"old-p1": 0, "old-p2": 0, "new-p1": 1, "gone": 0} {
			if got, err := s.FeedbackFor(ctx, id); err != nil || len(got) != want {
				t.Errorf("FeedbackFor(%s) = %d items, %v; want %d", id, len(got), err, want)
			}
		}
		notes := func(patient string) []string {
			hist, err := s.DecisionHistory(ctx, patient, "ecog", 10)
			if err != nil {
				t.Fatalf("DecisionHistory(%s): %v", patient, err)
			}
			out := []string{}
			for _, d := range hist {
				out = append(out, d.Note)
			}
			return out
		}
		if d := cmp.Diff([]string{"old, but p1 is still screened"}, notes("p1")); d != "" {
			t.Errorf("p1's decisions (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]string{"recent, on an old screening"}, notes("p2")); d != "" {
			t.Errorf("p2's decisions (-want +got):\n%s", d)
		}
	})

	t.Run("feedback: a card keeps at most MaxFeedbackPerCard records, all or none", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		for _, id := range []string{"full", "other"} {
			if err := s.Save(ctx, store.Screening{ID: id, PatientID: "p1", Created: t0, Surface: "cds-hooks", CallerID: "ehr-a",
				CardUUID: "card-" + id, Document: []byte(`{}`)}); err != nil {
				t.Fatal(err)
			}
		}
		fb := func(card string, n int) []store.Feedback {
			out := make([]store.Feedback, n)
			for i := range out {
				out[i] = store.Feedback{CardUUID: card, Client: "ehr-a", Outcome: "accepted", OutcomeAt: t0, ReceivedAt: t0}
			}
			return out
		}
		if _, err := s.SaveFeedback(ctx, fb("card-full", store.MaxFeedbackPerCard)); err != nil {
			t.Fatalf("SaveFeedback up to the cap: %v", err)
		}
		_, err := s.SaveFeedback(ctx, append(fb("card-other", 1), fb("card-full", 1)...))
		var full *store.FeedbackFullError
		if !errors.As(err, &full) || full.Index != 1 || err.Error() != "store: feedback 1: the card has 100 feedback records already; no more are kept" {
			t.Errorf("SaveFeedback over the cap = %v, want a FeedbackFullError for 1", err)
		}
		for id, want := range map[string]int{"full": store.MaxFeedbackPerCard, "other": 0} {
			if got, err := s.FeedbackFor(ctx, id); err != nil || len(got) != want {
				t.Errorf("FeedbackFor(%s) = %d, %v; want %d", id, len(got), err, want)
			}
		}
	})

	t.Run("reviews on a closed store fail with an error", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		_ = s.Close()
		if _, err := s.CurrentDecisions(ctx, "p1"); err == nil || !strings.Contains(err.Error(), "store: current decisions:") {
			t.Errorf("CurrentDecisions = %v", err)
		}
		if err := s.SaveDecision(ctx, decision("ecog", "met", 0)); err == nil || !strings.Contains(err.Error(), "store: save decision:") {
			t.Errorf("SaveDecision = %v", err)
		}
		if _, err := s.SaveFeedback(ctx, []store.Feedback{{CardUUID: "c"}}); err == nil || !strings.Contains(err.Error(), "store: save feedback:") {
			t.Errorf("SaveFeedback = %v", err)
		}
		if _, err := s.FeedbackFor(ctx, "s"); err == nil || !strings.Contains(err.Error(), "store: feedback:") {
			t.Errorf("FeedbackFor = %v", err)
		}
	})
}

// ignoreSeq leaves out the store's own ordering number.
var ignoreSeq = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Seq" }, cmp.Ignore())
