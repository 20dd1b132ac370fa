package fhirclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/trialscreen/trialscreen/screening"
)

// batchServer is a FHIR server that declares batch and answers each batch entry with
// answer(url), where url is the entry's request URL; GETs (next pages) go to page(url).
type batchServer struct {
	*server
	posts atomic.Int32
}

const batchCaps = `{"resourceType":"CapabilityStatement","rest":[{"interaction":[{"code":"batch"}]}]}`

func newBatchServer(t *testing.T, answer func(url string) (status string, resource string), page func(w http.ResponseWriter, r *http.Request)) *batchServer {
	bs := &batchServer{}
	bs.server = newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/metadata"):
			writeJSON(w, 200, batchCaps)
		case r.Method == http.MethodPost:
			bs.posts.Add(1)
			var b struct {
				Type  string `json:"type"`
				Entry []struct {
					Request struct{ Method, URL string } `json:"request"`
				} `json:"entry"`
			}
			if err := json.NewDecoder(r.Body).Decode(&b); err != nil || b.Type != "batch" {
				writeJSON(w, 400, outcome("error", "not a batch"))
				return
			}
			var entries []string
			for _, e := range b.Entry {
				if e.Request.Method != "GET" {
					writeJSON(w, 400, outcome("error", "batch entries must be GETs here"))
					return
				}
				status, res := answer(e.Request.URL)
				entries = append(entries, fmt.Sprintf(`{"response":{"status":%q},"resource":%s}`, status, res))
			}
			writeJSON(w, 200, `{"resourceType":"Bundle","type":"batch-response","entry":[`+strings.Join(entries, ",")+`]}`)
		case page != nil:
			page(w, r)
		default:
			writeJSON(w, 404, outcome("error", "no"))
		}
	})
	return bs
}

func newBatchSource(t *testing.T, base string) *RecordSource {
	return recordSource(t, newClient(t, base, nil))
}

// everyEntryOK answers the Patient read and every search with an empty page.
func everyEntryOK(u string) (string, string) {
	if strings.HasPrefix(u, "Patient/") {
		return "200 OK", patient(patientID)
	}
	return "200 OK", bundle("")
}

func TestBatchOneRoundTripForARecord(t *testing.T) {
	srv := newBatchServer(t, everyEntryOK, nil)
	rec, err := newBatchSource(t, srv.URL).Record(context.Background(), patientID)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.hits.Load(); n != 2 {
		t.Errorf("%d requests; want 2 (/metadata once, then one batch)", n)
	}
	for typ, st := range rec.Sources {
		if st.State != screening.FetchComplete {
			t.Errorf("%s: %s (%s)", typ, st.State, st.Detail)
		}
	}
}

func TestBatchFollowsEachSearchsNextLinks(t *testing.T) {
	srv := newBatchServer(t, func(u string) (string, string) {
		switch {
		case strings.HasPrefix(u, "Patient/"):
			return "200 OK", patient(patientID)
		case strings.HasPrefix(u, "Observation?"):
			return "200 OK", bundle("Observation?page=2", obs("o1"))
		}
		return "200 OK", bundle("")
	}, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/Observation" && r.URL.Query().Get("page") == "2" {
			writeJSON(w, 200, bundle("", obs("o2")))
			return
		}
		writeJSON(w, 404, outcome("error", "no"))
	})
	src := newBatchSource(t, srv.URL)
	resps, err := src.client.Batch(context.Background(), []BatchRequest{
		{ResourceType: "Patient", ID: patientID},
		{ResourceType: "Observation", Params: map[string][]string{"patient": {"Patient/" + patientID}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	res := resps[1].Search
	if resps[1].Err != nil || res == nil || len(res.Entries) != 2 || res.Pages != 2 || res.Partial {
		t.Fatalf("search = %+v, err %v; want o1 and o2 over 2 pages, complete", res, resps[1].Err)
	}
}

func TestBatchEntryFailures(t *testing.T) {
	cases := []struct {
		name     string
		answer   func(string) (string, string)
		wantErr  error  // of Record
		failed   string // a type that must be FetchFailed
		partial  string // a type that must be FetchPartial
		contains string
	}{
		{
			name: "unknown patient",
			answer: func(u string) (string, string) {
				if strings.HasPrefix(u, "Patient/") {
					return "404 Not Found", outcome("error", "Patient/"+patientID+" is not known")
				}
				return everyEntryOK(u)
			},
			wantErr: screening.ErrPatientNotFound, contains: "read Patient: not found (HTTP 404)",
		},
		{
			name: "one search fails",
			answer: func(u string) (string, string) {
				if strings.HasPrefix(u, "Condition?") {
					return "500 Internal Server Error", outcome("error", "index for "+patientID+" broken")
				}
				return everyEntryOK(u)
			},
			failed: "Condition", contains: "search Condition: unavailable (HTTP 500)", // the server's text is never in a record (it may be logged)
		},
		{
			name: "a full page without total or next link",
			answer: func(u string) (string, string) {
				if strings.HasPrefix(u, "Procedure?") {
					var es []string
					for i := range 200 {
						es = append(es, fmt.Sprintf(`{"resource":{"resourceType":"Procedure","id":"p%d","subject":{"reference":"Patient/%s"}},"search":{"mode":"match"}}`, i, patientID))
					}
					return "200 OK", bundle("", es...)
				}
				return everyEntryOK(u)
			},
			partial: "Procedure", contains: "the last page is full (200 matches), gives no total and no next page",
		},
		{
			name: "an entry without a resource",
			answer: func(u string) (string, string) {
				if strings.HasPrefix(u, "Observation?") {
					return "200 OK", "null"
				}
				return everyEntryOK(u)
			},
			failed: "Observation", contains: "a batch-response entry has no resource",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newBatchServer(t, tc.answer, nil)
			rec, err := newBatchSource(t, srv.URL).Record(context.Background(), patientID)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.contains) || strings.Contains(err.Error(), patientID) {
					t.Fatalf("err = %v; want %v saying %q, without the patient id", err, tc.wantErr, tc.contains)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for typ, want := range map[string]screening.FetchState{tc.failed: screening.FetchFailed, tc.partial: screening.FetchPartial} {
				if typ == "" {
					continue
				}
				st := rec.Sources[typ]
				if st.State != want || !strings.Contains(st.Detail, tc.contains) || strings.Contains(st.Detail, patientID) {
					t.Errorf("%s: %s (%q); want %s saying %q, without the patient id", typ, st.State, st.Detail, want, tc.contains)
				}
			}
		})
	}
}

// A server that declares batch but refuses ours is asked the usual way, now and after.
func TestBatchRefusedFallsBackToSearches(t *testing.T) {
	var posts atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/metadata"):
			writeJSON(w, 200, batchCaps)
		case r.Method == http.MethodPost:
			posts.Add(1)
			writeJSON(w, 400, outcome("error", "batch is not enabled"))
		case strings.HasPrefix(r.URL.Path, "/Patient/"):
			writeJSON(w, 200, patient(patientID))
		default:
			writeJSON(w, 200, bundle(""))
		}
	})
	src := newBatchSource(t, srv.URL)
	for i := range 2 {
		rec, err := src.Record(context.Background(), patientID)
		if err != nil {
			t.Fatalf("screening %d: %v", i+1, err)
		}
		for typ, st := range rec.Sources {
			if st.State != screening.FetchComplete {
				t.Errorf("screening %d: %s: %s (%s)", i+1, typ, st.State, st.Detail)
			}
		}
	}
	if n := posts.Load(); n != 1 {
		t.Errorf("%d batch POSTs; want 1 (not tried again once refused)", n)
	}
}

// A batch holds only reads and searches, so a 503 is retried like a GET.
func TestBatchRetriedWhenUnavailable(t *testing.T) {
	var fails atomic.Int32
	fails.Store(2)
	inner := newBatchServer(t, everyEntryOK, nil)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && fails.Add(-1) >= 0 {
			writeJSON(w, 503, outcome("error", "busy"))
			return
		}
		inner.Config.Handler.ServeHTTP(w, r)
	})
	if _, err := newBatchSource(t, srv.URL).Record(context.Background(), patientID); err != nil {
		t.Fatalf("after two 503s: %v; want the third attempt to succeed", err)
	}
	if n := inner.posts.Load(); n != 1 {
		t.Errorf("%d batches reached the server; want 1", n)
	}
}
