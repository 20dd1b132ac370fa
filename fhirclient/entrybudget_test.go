package fhirclient

import (
	"context"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// padded is a searchset page of n empty entries: two bytes each, and no use to anyone.
func padded(n int) string {
	return `{"resourceType":"Bundle","type":"searchset","entry":[` + strings.TrimSuffix(strings.Repeat("{},", n), ",") + `]}`
}

// TestSearchPageOverTheEntryCap: a page that takes the search's entries over MaxEntries
// fails the search as a bad response naming the cap, whether the page is the first or
// a later one, before any of its entries is read.
func TestSearchPageOverTheEntryCap(t *testing.T) {
	var base string
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "2" {
			writeJSON(w, 200, bundle("", obs("o3"), obs("o4")))
			return
		}
		if r.URL.Query().Get("padded") != "" {
			writeJSON(w, 200, padded(10_001))
			return
		}
		writeJSON(w, 200, bundle(base+"/fhir/Observation?page=2", obs("o1"), obs("o2")))
	})
	base = srv.URL
	c := newClient(t, srv.URL+"/fhir", func(c *Config) { c.MaxEntries = 10_000 })
	params := searchParams()
	params.Set("padded", "1")
	_, err := c.Search(context.Background(), "Observation", params)
	checkError(t, err, KindBadResponse, "search Observation",
		"page 1", "the pages of the search bring 10001 entries so far, more than the 10000 one patient's record may hold (MaxEntries); stopped")

	c = newClient(t, srv.URL+"/fhir", func(c *Config) { c.MaxEntries = 3 })
	_, err = c.Search(context.Background(), "Observation", searchParams())
	checkError(t, err, KindBadResponse, "search Observation",
		"page 2", "the pages of the search bring 4 entries so far, more than the 3 one patient's record may hold (MaxEntries)")

	c = newClient(t, srv.URL+"/fhir", func(c *Config) { c.MaxEntries = 4 })
	if res, err := c.Search(context.Background(), "Observation", searchParams()); err != nil || len(res.Entries) != 4 {
		t.Errorf("4 entries under a cap of 4: %v", err)
	}
}

// TestRecordEntryCapCountsEverySearch: the cap holds for the record as a whole, not per
// search: with each type's search bringing 2 entries and a cap of 5, some searches fail
// (their types fetch-failed, naming the cap) and the record holds at most 5 entries.
// Which ones fail depends on the order the pages arrive in; that some do does not.
func TestRecordEntryCapCountsEverySearch(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/metadata"):
			writeJSON(w, 404, outcome("error", "none"))
		case strings.HasPrefix(r.URL.Path, "/fhir/Patient/"):
			writeJSON(w, 200, patient(patientID))
		default:
			writeJSON(w, 200, bundle("", obs("x1"), obs("x2")))
		}
	})
	src := newBatchSource(t, srv.URL+"/fhir")
	src.client.cfg.MaxEntries = 5
	rec, err := src.Record(context.Background(), patientID)
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, typ := range src.types {
		st := rec.Sources[typ]
		if st.State == screening.FetchFailed {
			failed++
			if !strings.Contains(st.Detail, "more than the 5 one patient's record may hold (MaxEntries)") {
				t.Errorf("%s failed for another reason: %s", typ, st.Detail)
			}
		}
	}
	if want := len(src.types) - 2; failed < want {
		t.Errorf("%d of %d searches failed; with 2 entries each and a cap of 5, at least %d must", failed, len(src.types), want)
	}
	if n := len(rec.Observations) + len(rec.Unreadable); n > 5 {
		t.Errorf("the record holds %d entries' worth; the cap is 5", n)
	}
}

// TestBatchResponsePaddedWithEntries: a batch-response with more entries than requests
// is refused from its count, before its entries are decoded: refusing 200,000 empty
// entries (600 kB) allocates about what reading the body takes, not the 20 MB and more
// that decoding them did.
func TestBatchResponsePaddedWithEntries(t *testing.T) {
	body := `{"resourceType":"Bundle","type":"batch-response","entry":[` + strings.TrimSuffix(strings.Repeat("{},", 200_000), ",") + `]}`
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, body) })
	c := newClient(t, srv.URL, nil)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := c.Batch(context.Background(), []BatchRequest{{ResourceType: "Patient", ID: patientID}, {ResourceType: "Observation", Params: searchParams()}})
	runtime.ReadMemStats(&after)
	checkError(t, err, KindBadResponse, "batch Bundle", "the batch-response has 200000 entries for 2 requests")
	if n := after.TotalAlloc - before.TotalAlloc; n > 8<<20 {
		t.Errorf("refusing the padded batch-response allocated %d bytes; want under 8 MiB", n)
	}
}
