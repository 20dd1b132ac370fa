package fhirclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/protocols"
	"github.com/trialscreen/trialscreen/screening"
)

// After an outage the circuit must close again through ordinary screenings. When it is
// half-open, one of a record's concurrent requests is the probe and the others are
// refused; if the refused one is the Patient read, the record fails, but the probe must
// still be let finish: a probe canceled with its record proves nothing, and the circuit
// would stay half-open, failing every screening after the server came back.
func TestRecordClosesTheCircuitAfterAnOutage(t *testing.T) {
	fs := newFakeServer(t, "candidate")
	var down atomic.Bool
	down.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			status(http.StatusServiceUnavailable, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"transient"}]}`)(w, r)
			return
		}
		fs.ServeHTTP(w, r)
	}))
	defer srv.Close()
	const cooldown = 20 * time.Millisecond
	client, err := fhirclient.New(fhirclient.Config{BaseURL: srv.URL + "/fhir", Attempts: 1, BreakerFailures: 2, BreakerCooldown: cooldown})
	if err != nil {
		t.Fatal(err)
	}
	defer client.CloseIdleConnections()
	proto, err := protocols.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	src, err := fhirclient.NewRecordSource(client, proto)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for client.BreakerState() != fhirclient.BreakerOpen {
		if _, err := src.Record(ctx, "demo-candidate"); err == nil {
			t.Fatal("a record was read from a server that is down")
		}
	}
	down.Store(false)
	// Each screening after the cool-down finds the circuit half-open. A few may fail
	// while the probe is out; the circuit must then close within a few screenings.
	for i := 1; ; i++ {
		time.Sleep(2 * cooldown)
		rec, err := src.Record(ctx, "demo-candidate")
		if err == nil && complete(rec) {
			return
		}
		if err != nil && !errors.Is(err, fhirclient.KindUnavailable) {
			t.Fatalf("screening %d: %v", i, err)
		}
		if i == 20 {
			t.Fatalf("20 screenings after the server came back, the circuit is %s and the record still fails: %v", client.BreakerState(), err)
		}
	}
}

func complete(rec *screening.Record) bool {
	for _, st := range rec.Sources {
		if st.State != screening.FetchComplete {
			return false
		}
	}
	return true
}
