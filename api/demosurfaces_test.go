package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/demo"
)

// In demo mode a demo patient gets one verdict on every surface, however long after
// the demo instant the service runs (the test clocks are years later): the CDS Hooks
// card, built from the prefetch an EHR sends, and the coordinator's report page screen
// it as of the demo instant, as REST does, and agree with REST criterion by criterion.
func TestDemoSurfacesAgreeWithREST(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	get := func(t *testing.T, target, accept string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Accept", accept)
		rr := httptest.NewRecorder()
		env.h.ServeHTTP(rr, req)
		return rr
	}
	for _, name := range demo.Names() {
		id := "demo-" + name
		t.Run(id, func(t *testing.T) {
			rest := screeningOf(t, get(t, "/v1/patients/"+id+"/screening", "application/json"))
			if !rest.AsOf.Equal(demo.AsOf()) {
				t.Fatalf("REST screened %s as of %s, want the demo instant %s", id, rest.AsOf, demo.AsOf())
			}

			status, body, _ := env.post(t, env.key.token(t, nil), cdsHookBody(id, cdsDemoPrefetch(t, name)))
			card := cdsOneCard(t, status, body)
			if want := cardSummary(rest); card.Summary != want {
				t.Errorf("card summary %q, want REST's verdict: %q", card.Summary, want)
			}
			// The card's link opens the screening the card was built from.
			if len(card.Links) != 1 {
				t.Fatalf("card links %+v, want the report", card.Links)
			}
			fromCard := screeningOf(t, get(t, pathOf(t, card.Links[0].URL), "application/json"))
			if fromCard.Verdict != rest.Verdict || !fromCard.AsOf.Equal(rest.AsOf) {
				t.Errorf("card: %s as of %s; REST: %s as of %s", fromCard.Verdict, fromCard.AsOf, rest.Verdict, rest.AsOf)
			}
			for i, r := range fromCard.Criteria {
				if want := rest.Criteria[i]; r.ID != want.ID || r.Outcome != want.Outcome || r.Reason != want.Reason {
					t.Errorf("card: %s %s/%s; REST: %s %s/%s", r.ID, r.Outcome, r.Reason, want.ID, want.Outcome, want.Reason)
				}
			}

			page := get(t, "/v1/patients/"+id+"/screening", "text/html").Body.String()
			for _, want := range []string{`data-verdict="` + string(rest.Verdict) + `"`, `datetime="` + demo.AsOf().Format(time.RFC3339) + `"`} {
				if !strings.Contains(page, want) {
					t.Errorf("the report page lacks %s", want)
				}
			}
		})
	}
}
