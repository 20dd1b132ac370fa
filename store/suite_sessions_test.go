package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/trialscreen/trialscreen/store"
)

// sessionCases are the suite's sign-in session cases, run against every backend.
func sessionCases(t *testing.T, fresh newConfig) {
	ctx := context.Background()
	open := func(t *testing.T) *store.Store {
		t.Helper()
		s, err := store.Open(ctx, fresh(t, func() time.Time { return t0 }))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	session := func(hash string, lastSeen time.Time) store.Session {
		return store.Session{IDHash: hash, Subject: "sub-" + hash, DisplayName: "Dr " + hash, Role: "coordinator",
			Created: t0, Expires: t0.Add(12 * time.Hour), LastSeen: lastSeen}
	}

	t.Run("session create, get, touch, delete", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		in := session("a1", t0)
		if err := s.CreateSession(ctx, in); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		if err := s.CreateSession(ctx, in); err == nil {
			t.Error("a second CreateSession with the same id hash succeeded")
		}
		got, err := s.GetSession(ctx, "a1")
		if err != nil {
			t.Fatalf("GetSession: %v", err)
		}
		if d := cmp.Diff(in, got); d != "" {
			t.Errorf("GetSession (-want +got):\n%s", d)
		}
		// Touches move last-seen forward only: a late touch from another replica is ignored.
		for _, seen := range []time.Time{t0.Add(10 * time.Minute), t0.Add(5 * time.Minute)} {
			if err := s.TouchSession(ctx, "a1", seen); err != nil {
				t.Fatalf("TouchSession: %v", err)
			}
		}
		if got, _ := s.GetSession(ctx, "a1"); !got.LastSeen.Equal(t0.Add(10 * time.Minute)) {
			t.Errorf("LastSeen = %v, want %v", got.LastSeen, t0.Add(10*time.Minute))
		}
		if err := s.DeleteSession(ctx, "a1"); err != nil {
			t.Fatalf("DeleteSession: %v", err)
		}
		if _, err := s.GetSession(ctx, "a1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetSession after delete = %v, want ErrNotFound", err)
		}
		if err := s.DeleteSession(ctx, "a1"); err != nil {
			t.Errorf("DeleteSession of a session not there = %v, want nil", err)
		}
	})

	t.Run("session create refuses a record without subject", func(t *testing.T) {
		t.Parallel()
		err := open(t).CreateSession(ctx, store.Session{IDHash: "x"})
		if err == nil || err.Error() != "store: create session: id hash and subject are required" {
			t.Errorf("CreateSession = %v", err)
		}
	})

	t.Run("expired sessions are purged, live ones kept", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ended := session("ended", t0)
		ended.Expires = t0.Add(time.Hour)
		for _, se := range []store.Session{ended, session("idle", t0), session("live", t0.Add(50*time.Minute))} {
			if err := s.CreateSession(ctx, se); err != nil {
				t.Fatal(err)
			}
		}
		// At t0+1h with a 30-minute idle timeout: "ended" reached its end, "idle" was last
		// seen an hour ago, "live" 10 minutes ago.
		n, err := s.DeleteExpiredSessions(ctx, t0.Add(time.Hour), t0.Add(30*time.Minute))
		if err != nil || n != 2 {
			t.Fatalf("DeleteExpiredSessions = %d, %v; want 2", n, err)
		}
		if _, err := s.GetSession(ctx, "live"); err != nil {
			t.Errorf("the live session was purged: %v", err)
		}
	})
}
