package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/net/html"

	"github.com/trialscreen/trialscreen/store"
)

// A stored screening opens as the HTML report when a browser asks (JSON otherwise), with
// what changed since the patient's previous stored screening from the same record
// source; the card's link shows the same section.
func TestStoredScreeningReport(t *testing.T) {
	env := linkReplica(t, openStore(t, ""))
	card := func(pf map[string]json.RawMessage) (link, id string) {
		t.Helper()
		status, body, _ := env.post(t, env.key.token(t, nil), cdsHookBody("demo-candidate", pf))
		link = pathOf(t, cdsOneCard(t, status, body).Links[0].URL)
		return link, docOf(t, env.get(t, link, "application/json").Body.Bytes()).ScreeningID
	}
	noLabs := cdsDemoPrefetch(t, "candidate")
	noLabs["Observation"] = json.RawMessage("null")
	_, first := card(noLabs)                              // insufficient data: the labs unknown
	link, second := card(cdsDemoPrefetch(t, "candidate")) // the labs arrived: potentially eligible

	page := func(t *testing.T, target string) *html.Node {
		t.Helper()
		rr := env.get(t, target, "text/html,application/xhtml+xml,*/*;q=0.8")
		if rr.Code != http.StatusOK || !strings.HasPrefix(rr.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("status %d %q: %.300s", rr.Code, rr.Header().Get("Content-Type"), rr.Body)
		}
		checkReportHeaders(t, rr.Header(), rr.Body.Bytes())
		doc, err := html.Parse(bytes.NewReader(rr.Body.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	checkChanges := func(t *testing.T, doc *html.Node) {
		t.Helper()
		sec := nodeWhere(t, doc, func(n *html.Node) bool { return nodeAttr(n, "id") == "changes" })
		if text := nodeText(sec); !strings.Contains(text, "Insufficient data → Potentially eligible") {
			t.Errorf("the section does not give the verdict's change:\n%s", text)
		}
		if text := nodeText(sec); !strings.Contains(text, "criteria changed outcome") || !strings.Contains(text, "rule met") {
			t.Errorf("the section does not say how many changed and why:\n%s", text)
		}
		rows := nodesWhere(sec, func(n *html.Node) bool { return n.Data == "tr" && nodeHasAttr(n, "data-criterion") })
		if len(rows) == 0 {
			t.Fatal("no criterion changed, want the labs' criteria (unknown, now pass)")
		}
		passed := 0
		for _, r := range rows {
			if to := nodeAttr(r, "data-to"); nodeAttr(r, "data-from") != "unknown" || (to != "pass" && to != "review") {
				t.Errorf("%s: from %q to %q, want unknown to pass (or review: the ECG)", nodeAttr(r, "data-criterion"), nodeAttr(r, "data-from"), to)
			}
			if nodeAttr(r, "data-to") == "pass" {
				passed++
			}
			if a := nodeWhere(t, r, func(n *html.Node) bool { return n.Data == "a" }); nodeAttr(a, "href") != "#c-"+nodeAttr(r, "data-criterion") {
				t.Errorf("the change does not link to its criterion's row: %q", nodeAttr(a, "href"))
			}
		}
		if passed < 3 {
			t.Errorf("%d criteria went from unknown to pass, want the labs' (3 or more)", passed)
		}
	}
	t.Run("stored screening as HTML", func(t *testing.T) { checkChanges(t, page(t, "/v1/screenings/"+second)) })
	t.Run("the card's link", func(t *testing.T) { checkChanges(t, page(t, link)) })
	t.Run("the first screening", func(t *testing.T) {
		sec := nodeWhere(t, page(t, "/v1/screenings/"+first), func(n *html.Node) bool { return nodeAttr(n, "id") == "changes" })
		if !strings.Contains(nodeText(sec), "first stored screening of this patient") {
			t.Errorf("the first screening's section: %s", nodeText(sec))
		}
	})
	t.Run("JSON unless HTML is preferred", func(t *testing.T) {
		for _, accept := range []string{"", "application/json", "application/json, text/html;q=0.5"} {
			rr := env.get(t, "/v1/screenings/"+second, accept)
			if rr.Code != http.StatusOK || rr.Header().Get("Content-Type") != "application/json" || docOf(t, rr.Body.Bytes()).ScreeningID != second {
				t.Errorf("Accept %q: %d %q", accept, rr.Code, rr.Header().Get("Content-Type"))
			}
		}
	})
	t.Run("another source is not compared", func(t *testing.T) {
		// The service's own record of demo-candidate is another FHIR server's: its first
		// REST screening has no previous one, whatever the EHR's cards said.
		rr := env.get(t, "/v1/patients/demo-candidate/screening", "")
		id := docOf(t, rr.Body.Bytes()).ScreeningID
		sec := nodeWhere(t, page(t, "/v1/screenings/"+id), func(n *html.Node) bool { return nodeAttr(n, "id") == "changes" })
		if !strings.Contains(nodeText(sec), "first stored screening") {
			t.Errorf("a REST screening compared with an EHR's card: %s", nodeText(sec))
		}
	})
}

// A coordinator's report page is stored, and shows what changed since the previous one.
func TestReportPageShowsChanges(t *testing.T) {
	env := newRESTEnv(t, withStore(openStore(t, "")))
	section := func() string {
		t.Helper()
		rec := env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil, "Accept", "text/html")
		doc, err := html.Parse(bytes.NewReader(rec.Body.Bytes()))
		if rec.Code != http.StatusOK || err != nil {
			t.Fatalf("report page: %d %v", rec.Code, err)
		}
		return nodeText(nodeWhere(t, doc, func(n *html.Node) bool { return nodeAttr(n, "id") == "changes" }))
	}
	if got := section(); !strings.Contains(got, "This is the first stored screening of this patient") {
		t.Errorf("first page: %s", got)
	}
	if got := section(); !strings.Contains(got, "Same verdict. No criterion changed outcome.") {
		t.Errorf("second page: %s", got)
	}
}

// failingPrevious is a store whose reads by id work and whose previous-screening query
// fails.
type failingPrevious struct{ *store.Store }

func (failingPrevious) Previous(ctx context.Context, _ store.PreviousQuery) (store.Screening, error) {
	return store.Screening{}, errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
}

// The previous screening failing to be read does not keep the report from showing: the
// section says so, and the failure is logged and counted.
func TestStoredScreeningReportPreviousFails(t *testing.T) {
	env := linkReplica(t, failingPrevious{openStore(t, "")})
	id := docOf(t, env.get(t, "/v1/patients/demo-candidate/screening", "").Body.Bytes()).ScreeningID
	rr := env.get(t, "/v1/screenings/"+id, "text/html")
	if rr.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rr.Code, rr.Body)
	}
	if !strings.Contains(rr.Body.String(), "The previous screening could not be read (the screening store is unavailable)") {
		t.Errorf("the page does not say the comparison failed")
	}
	if !strings.Contains(env.logs.String(), "report: previous screening not read") || strings.Contains(env.logs.String(), "demo-candidate") {
		t.Errorf("log:\n%s", env.logs)
	}
	if got := testutil.ToFloat64(env.s.cfg.Metrics.store.errors.WithLabelValues(storeOpGet)); got != 1 {
		t.Errorf("trialscreen_store_errors_total{op=get} = %v, want 1", got)
	}
}
