package fhirclient

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/internal/bodymem"
	"github.com/trialscreen/trialscreen/screening"
)

// paddedPages answers every search with a page padded to n bytes (a valid searchset).
func paddedPages(t *testing.T, n int) *server {
	return newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/metadata"):
			writeJSON(w, http.StatusNotFound, outcome("error", "none"))
		case strings.Contains(r.URL.Path, "/Patient/"):
			writeJSON(w, http.StatusOK, patient(patientID))
		default:
			page := bundle("")
			writeJSON(w, http.StatusOK, page[:len(page)-1]+`,"padding":"`+strings.Repeat(" ", max(n-len(page)-14, 0))+`"}`)
		}
	})
}

func testBudget(t *testing.T, capacity int64) *bodymem.Limiter {
	l, err := bodymem.NewLimiter(capacity, time.Millisecond, bodymem.Costs{PerBodyByte: 4, PerEntry: 100})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// The pages a screening fetches pay for their memory from the service's budget: pages
// that together need more than the whole budget fail their searches (those criteria are
// unknown, never passed), and the budget is whole again once the screening is done.
func TestResponsesPayFromTheMemoryBudget(t *testing.T) {
	srv := paddedPages(t, 64<<10)
	// One request at a time, so that which pages fit does not depend on how their
	// reads interleave.
	c := newClient(t, srv.URL, func(cfg *Config) { cfg.MaxConcurrent = 1 })
	src := recordSource(t, c)
	budget := testBudget(t, 4*(64<<10)*7/2) // three such pages of the eight searches, and the Patient
	tab := budget.NewTab()
	rec, err := src.Record(bodymem.WithTab(context.Background(), tab), patientID)
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, typ := range src.types {
		st := rec.Sources[typ]
		if st.State == screening.FetchFailed {
			failed++
			if !strings.Contains(st.Detail, "need more memory than the service's budget") {
				t.Errorf("%s failed with %q; want the memory budget named", typ, st.Detail)
			}
		}
	}
	if failed != len(src.types)-3 {
		t.Errorf("%d searches failed; want all but the 3 the budget pays for", failed)
	}
	tab.Release()
	if _, err := budget.Take(context.Background(), (64<<10)*7/2); err != nil {
		t.Errorf("the budget is not whole again after Release: %v", err)
	}
}

// While other requests hold the budget, a screening's response is refused as busy, and
// the screening with it: the caller is told to come back, not given unknowns.
func TestResponseWithoutMemoryIsBusy(t *testing.T) {
	srv := paddedPages(t, 1<<10)
	c := newClient(t, srv.URL, nil)
	src := recordSource(t, c)
	budget := testBudget(t, 1<<20)
	held, err := budget.Take(context.Background(), (1<<20)/4)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	tab := budget.NewTab()
	defer tab.Release()
	_, err = src.Record(bodymem.WithTab(context.Background(), tab), patientID)
	if !errors.Is(err, KindBusy) || !strings.Contains(err.Error(), "no memory came free for the response") {
		t.Fatalf("error %v; want KindBusy naming memory", err)
	}
}
