package fhirclient

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// heldServer answers a read only when the test releases it (or the request ends), and
// counts the requests in flight: the most at once, overall and per id prefix.
type heldServer struct {
	*server
	release chan struct{}
	once    sync.Once
	arrived chan string // the id of each request that reached the server

	mu      sync.Mutex
	now     map[string]int // in flight per id prefix ("bg", "ia")
	maxSeen map[string]int
}

func newHeldServer(t *testing.T) *heldServer {
	h := &heldServer{release: make(chan struct{}), arrived: make(chan string, 256), now: map[string]int{}, maxSeen: map[string]int{}}
	h.server = newServer(t, func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		kind := id[:2]
		h.mu.Lock()
		h.now[kind]++
		h.maxSeen[kind] = max(h.maxSeen[kind], h.now[kind])
		h.mu.Unlock()
		defer func() {
			h.mu.Lock()
			h.now[kind]--
			h.mu.Unlock()
		}()
		h.arrived <- id
		select {
		case <-h.release:
			writeJSON(w, http.StatusOK, patient(id))
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { h.open() })
	return h
}

func (h *heldServer) open() { h.once.Do(func() { close(h.release) }) }

func (h *heldServer) max(kind string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.maxSeen[kind]
}

// A batch cannot take the slots interactive screenings need: background requests hold
// at most MaxBackground of them, and interactive ones get the rest while the batch's
// requests hang.
func TestBackgroundWorkKeepsToItsShareOfSlots(t *testing.T) {
	srv := newHeldServer(t)
	c := newClient(t, srv.URL, func(cfg *Config) { cfg.MaxConcurrent, cfg.MaxBackground = 4, 1 })
	bg := AsBackground(context.Background())

	var wg sync.WaitGroup
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Read(bg, "Patient", "bg"+string(rune('a'+i))); err != nil {
				t.Errorf("background read: %v", err)
			}
		}()
	}
	<-srv.arrived // one background request is at the server; the other four wait
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Read(context.Background(), "Patient", "ia"+string(rune('a'+i))); err != nil {
				t.Errorf("interactive read: %v", err)
			}
		}()
	}
	for range 3 {
		if id := <-srv.arrived; !strings.HasPrefix(id, "ia") {
			t.Fatalf("request %s reached the server while the interactive ones waited: background work holds more than its share", id)
		}
	}
	srv.open()
	wg.Wait()
	if got := srv.max("bg"); got != 1 {
		t.Errorf("background requests in flight at once: %d, want at most MaxBackground (1)", got)
	}
	if got := srv.max("ia"); got != 3 {
		t.Errorf("interactive requests in flight at once: %d, want 3 (all of them, beside the batch's one)", got)
	}
}

// An interactive request that finds every slot taken fails KindBusy once SlotWait has
// passed, rather than queueing to its deadline; the message says which limit.
func TestInteractiveRequestWithoutSlotIsBusy(t *testing.T) {
	srv := newHeldServer(t)
	c := newClient(t, srv.URL, func(cfg *Config) { cfg.MaxConcurrent, cfg.SlotWait = 1, time.Millisecond })
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(context.Background(), "Patient", "ia-holder")
		done <- err
	}()
	<-srv.arrived
	_, err := c.Read(context.Background(), "Patient", patientID)
	e := checkError(t, err, KindBusy, "read Patient", "no request slot came free within 1ms", "1 requests to this server are in flight (MaxConcurrent)")
	if e.Status != 0 || e.Transient() {
		t.Errorf("busy error: status %d, transient %v; want 0 and false (nothing was sent; it is no server failure)", e.Status, e.Transient())
	}
	if got := srv.hits.Load(); got != 1 {
		t.Errorf("the server saw %d requests, want 1: the busy one must not be sent", got)
	}
	srv.open()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Background work waits for a slot as long as its context allows: SlotWait is for
// requests someone is waiting on.
func TestBackgroundRequestWaitsPastSlotWait(t *testing.T) {
	srv := newHeldServer(t)
	c := newClient(t, srv.URL, func(cfg *Config) { cfg.MaxConcurrent, cfg.SlotWait = 1, time.Nanosecond })
	go func() { _, _ = c.Read(context.Background(), "Patient", "ia-holder") }()
	<-srv.arrived
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(AsBackground(context.Background()), "Patient", "bg-waiter")
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the background read ended while the only slot was held: %v", err)
	case <-time.After(50 * time.Millisecond): // far past SlotWait; a slow machine only waits longer
	}
	srv.open()
	if err := <-done; err != nil {
		t.Fatalf("background read: %v", err)
	}
}

// A screening one of whose searches found no slot is busy as a whole: a record missing
// that type would read as a screening of unknowns, when the answer is "come back".
func TestRecordIsBusyWhenASearchFindsNoSlot(t *testing.T) {
	var inFlight, most atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/metadata") {
			writeJSON(w, http.StatusNotFound, outcome("error", "no capability statement"))
			return
		}
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-r.Context().Done() // never answers: the busy searches must cancel it
	})
	c := newClient(t, srv.URL, func(cfg *Config) { cfg.MaxConcurrent, cfg.SlotWait = 2, time.Millisecond })
	src := recordSource(t, c)
	src.caps.get(context.Background()) // the capabilities are cached first, as a running service has them
	rec, err := src.Record(context.Background(), patientID)
	if rec != nil {
		t.Fatalf("got a record; want none when a search found no slot")
	}
	if !errors.Is(err, KindBusy) {
		t.Fatalf("error %v; want KindBusy", err)
	}
	if got := most.Load(); got > 2 {
		t.Errorf("%d requests in flight at once, above MaxConcurrent (2)", got)
	}
}

func TestSlotConfigIsChecked(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{MaxConcurrent: 4, MaxBackground: 5}, "Config.MaxBackground (5) is more than Config.MaxConcurrent (4)"},
		{Config{MaxBackground: -1}, "Config.MaxBackground is -1"},
		{Config{SlotWait: -time.Second}, "Config.SlotWait is -1s"},
	} {
		tc.cfg.BaseURL = "http://127.0.0.1:1/fhir"
		_, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v; want an error containing %q", tc.cfg, err, tc.want)
		}
	}
	c, err := New(Config{BaseURL: "http://127.0.0.1:1/fhir", MaxConcurrent: 2})
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.MaxBackground != 1 || c.cfg.SlotWait != time.Second {
		t.Errorf("defaults: MaxBackground %d, SlotWait %s; want 1 (at least one) and 1s", c.cfg.MaxBackground, c.cfg.SlotWait)
	}
}

// slotTaker fills a client's slots once the first batch attempt has been answered,
// before that attempt gives its own slot back: the searches' next pages then find none.
type slotTaker struct {
	nopObserver
	c    *Client
	done bool
}

func (o *slotTaker) Request(resourceType, _ string, _ time.Duration) {
	if resourceType != "Bundle" || o.done {
		return
	}
	// Called in the attempt's goroutine, the only one using the client here: the
	// attempt releases the slots it took, the later ones ask these (all taken).
	o.done = true
	full := newSlots(1, 1, time.Millisecond)
	full.all <- struct{}{}
	o.c.slots = full
}

// Through a batch request too, a search whose next page found no slot makes the
// screening busy: the type must not come back as a failed fetch (a screening of
// unknowns where the answer is "come back", a 503).
func TestRecordIsBusyWhenANextPageFindsNoSlot(t *testing.T) {
	var srv *batchServer
	srv = newBatchServer(t, func(u string) (string, string) {
		if strings.HasPrefix(u, "Observation?") {
			return "200 OK", bundle(srv.URL+"/Observation?page=2", obs("o1"))
		}
		return everyEntryOK(u)
	}, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, bundle("", obs("o2"))) })
	taker := &slotTaker{}
	c := newClient(t, srv.URL, func(cfg *Config) { cfg.Observer = taker })
	taker.c = c
	src := recordSource(t, c)
	rec, err := src.Record(context.Background(), patientID)
	if rec != nil || !errors.Is(err, KindBusy) {
		t.Fatalf("record %v, error %v; want no record and KindBusy", rec != nil, err)
	}
	if srv.posts.Load() != 1 {
		t.Errorf("%d batch requests; want 1", srv.posts.Load())
	}
}
