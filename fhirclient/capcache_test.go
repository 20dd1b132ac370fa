package fhirclient

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fixedNow is the caches' clock where no TTL is at stake: no test depends on the day.
func fixedNow() time.Time { return time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC) }

const capsBody = `{"resourceType":"CapabilityStatement","rest":[{"interaction":[{"code":"batch"}],
 "resource":[{"type":"Observation","searchParam":[{"name":"code"},{"name":"patient"}]}]}]}`

func TestCapsCacheOneReadForConcurrentScreenings(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		writeJSON(w, 200, capsBody)
	})
	cc := &capsCache{client: newClient(t, srv.URL, nil), now: fixedNow}
	var wg sync.WaitGroup
	got := make([]*Capabilities, 10)
	for i := range got {
		wg.Add(1)
		go func() { defer wg.Done(); got[i] = cc.get(context.Background()) }()
	}
	time.Sleep(20 * time.Millisecond) // let them all wait on the one read
	close(release)
	wg.Wait()
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("%d /metadata requests for 10 concurrent screenings; want 1", n)
	}
	for i, c := range got {
		if !c.Known || !c.Batch || !c.Supports("Observation", "code") {
			t.Errorf("caller %d got %+v; want the server's capabilities", i, c)
		}
	}
}

func TestCapsCacheCallerDeadlineDoesNotWaitOrSpoilOthers(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 4)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		writeJSON(w, 200, capsBody)
	})
	defer close(release)
	cc := &capsCache{client: newClient(t, srv.URL, nil), now: fixedNow}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *Capabilities)
	go func() { done <- cc.get(ctx) }()
	<-arrived // the read is at the server, however slow the machine
	cancel()
	select {
	case c := <-done:
		if c.Known || c.Supports("Observation", "code") {
			t.Errorf("a caller whose context ended got %+v; want empty capabilities (search unfiltered)", c)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("get did not return when its caller's context ended")
	}
	// The read goes on for the others, on a context of its own.
	other := make(chan *Capabilities)
	go func() { other <- cc.get(context.Background()) }()
	release <- struct{}{}
	if c := <-other; !c.Known {
		t.Errorf("the next caller got %+v; want the server's capabilities", c)
	}
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("%d /metadata requests; want 1 (the cancelled caller's read was shared)", n)
	}
}

func TestCapsCacheFailureIsKeptBriefly(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			writeJSON(w, 400, outcome("error", "no"))
			return
		}
		writeJSON(w, 200, capsBody)
	})
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	cc := &capsCache{client: newClient(t, srv.URL, nil), now: func() time.Time { return now }}
	if c := cc.get(context.Background()); c.Known {
		t.Fatalf("a failed read gave %+v; want empty capabilities", c)
	}
	fail.Store(false)
	now = now.Add(capsFailureTTL - time.Second)
	if c := cc.get(context.Background()); c.Known {
		t.Errorf("within %s of a failure the cache read again", capsFailureTTL)
	}
	now = now.Add(2 * time.Second)
	if c := cc.get(context.Background()); !c.Known {
		t.Errorf("after %s the failure was not retried", capsFailureTTL)
	}
	hits := srv.hits.Load()
	now = now.Add(capsTTL - time.Minute)
	cc.get(context.Background())
	if srv.hits.Load() != hits {
		t.Errorf("a success was re-read within %s", capsTTL)
	}
	now = now.Add(2 * time.Minute)
	cc.get(context.Background())
	if srv.hits.Load() != hits+1 {
		t.Errorf("a success was not re-read after %s", capsTTL)
	}
}
