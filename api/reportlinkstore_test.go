package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/trialscreen/trialscreen/store"
)

// sharedLinkKey is the report-link key every replica of these tests shares, as the
// deployment's TRIALSCREEN_REPORT_LINK_KEY_FILE gives them.
var sharedLinkKey = []byte("shared link key, 32 bytes, tests")

// sharedStores open, for one test, a store shared by replicas: each call opens it anew
// (another connection pool on the same SQLite file or PostgreSQL database), as another
// process would.
func sharedStores() map[string]func(t *testing.T) func() *store.Store {
	return map[string]func(t *testing.T) func() *store.Store{
		"sqlite": func(t *testing.T) func() *store.Store {
			dir := t.TempDir()
			return func() *store.Store { return openStoreAt(t, store.Config{DataDir: dir, Now: fixedClock(testNow)}) }
		},
		"postgres": func(t *testing.T) func() *store.Store {
			url := pg.Database(t)
			return func() *store.Store { return openStoreAt(t, store.Config{DatabaseURL: url, Now: fixedClock(testNow)}) }
		},
	}
}

func openStoreAt(t *testing.T, cfg store.Config) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// linkReplica is a replica with the shared link key and the given store (nil: none).
func linkReplica(t *testing.T, st Screenings) *cdsTestEnv {
	return newCDSTestEnv(t, cdsTestConfig{mod: func(c *Config) {
		c.ReportLinkKey = sharedLinkKey
		if st != nil {
			c.Screenings = st
		}
	}})
}

// A card made on one replica opens on another, and on a replica started after it (a new
// Server on the same database), as the page and as JSON, audited on the replica that
// served it under the card's EHR and user. A tampered or expired link is refused there
// too, and a store down at view time is a 503, not a wrong answer.
func TestReportLinkOpensOnAnyReplica(t *testing.T) {
	for name, backend := range sharedStores() {
		t.Run(name, func(t *testing.T) {
			open := backend(t)
			a, b := linkReplica(t, open()), linkReplica(t, open())
			pf := cdsDemoPrefetch(t, "candidate")
			pf["Observation"] = json.RawMessage("null") // insufficient data: not what a's demo source would say
			status, body, _ := a.post(t, a.key.token(t, nil), cdsHookBody("demo-candidate", pf))
			card := cdsOneCard(t, status, body)
			target := pathOf(t, card.Links[0].URL)

			checkServes := func(t *testing.T, r *cdsTestEnv) {
				t.Helper()
				page := r.get(t, target, "text/html")
				if page.Code != http.StatusOK {
					t.Fatalf("page: status %d: %s", page.Code, page.Body)
				}
				checkReportHeaders(t, page.Header(), page.Body.Bytes())
				doc, err := html.Parse(bytes.NewReader(page.Body.Bytes()))
				if err != nil {
					t.Fatal(err)
				}
				if text := nodeText(doc); !strings.Contains(text, "Insufficient data") || !strings.Contains(text, "Patient/demo-candidate") {
					t.Errorf("the page does not show the card's verdict for the patient:\n%.600s", text)
				}
				js := r.get(t, target, "application/json")
				if d := docOf(t, js.Body.Bytes()); js.Code != http.StatusOK || d.ScreeningID == "" || d.Verdict != "insufficient-data" {
					t.Errorf("JSON: status %d, %+v; want the card's stored screening", js.Code, d)
				}
				audit := r.audit.String()
				for _, want := range []string{cdsTestIssuer, "Practitioner/example", `"valueString":"cds-card"`, card.UUID} {
					if !strings.Contains(audit, want) {
						t.Errorf("the view's audit record lacks %q:\n%s", want, audit)
					}
				}
			}
			t.Run("another replica", func(t *testing.T) { checkServes(t, b) })
			t.Run("a replica started later", func(t *testing.T) { checkServes(t, linkReplica(t, open())) })

			tok := linkToken(t, card.Links[0].URL, card.UUID)
			refused := map[string]string{
				"tampered":            "/v1/reports/" + card.UUID + "?link=" + tok[:len(tok)-2] + "AA",
				"another card's uuid": "/v1/reports/" + newCardUUID() + "?link=" + tok,
				"made with another key": pathOf(t, newCDSTestEnv(t, cdsTestConfig{}).s.reportLink(card.UUID,
					reportLinkClaims{ScreeningID: docOf(t, b.get(t, target, "application/json").Body.Bytes()).ScreeningID})),
			}
			for name, path := range refused {
				if rr := b.get(t, path, "text/html"); rr.Code != http.StatusNotFound || !strings.Contains(rr.Body.String(), "reopen the patient&#39;s chart") {
					t.Errorf("%s link: status %d %s; want 404 telling to reopen the chart", name, rr.Code, rr.Body)
				}
			}
			b.clock.advance(reportLinkTTL)
			if rr := b.get(t, target, "text/html"); rr.Code != http.StatusNotFound {
				t.Errorf("expired link: status %d, want 404", rr.Code)
			}

			down := open()
			_ = down.Close()
			c := linkReplica(t, down)
			rr := c.get(t, target, "text/html")
			if rr.Code != http.StatusServiceUnavailable || !strings.Contains(rr.Body.String(), "The screening store is unavailable") {
				t.Errorf("store down: status %d %s; want 503 store unavailable", rr.Code, rr.Body)
			}
			if strings.Contains(c.audit.String(), "demo-candidate") {
				t.Errorf("a view that failed was audited:\n%s", c.audit)
			}
		})
	}
}

// A card whose screening could not be stored (the store down when it was made) still
// has a working link on the replica that made it, from memory; another replica cannot
// serve it and says to reopen the chart.
func TestReportLinkUnstoredFallsBackToMemory(t *testing.T) {
	dir := t.TempDir()
	shared := openStoreAt(t, store.Config{DataDir: dir, Now: fixedClock(testNow)})
	down := openStoreAt(t, store.Config{DataDir: dir, Now: fixedClock(testNow)})
	_ = down.Close()
	a, b := linkReplica(t, down), linkReplica(t, shared)
	status, body, _ := a.post(t, a.key.token(t, nil), cdsHookBody("demo-candidate", cdsDemoPrefetch(t, "candidate")))
	card := cdsOneCard(t, status, body)
	target := pathOf(t, card.Links[0].URL)
	if rr := a.get(t, target, "application/json"); rr.Code != http.StatusOK || docOf(t, rr.Body.Bytes()).Verdict != "potentially-eligible" {
		t.Fatalf("the replica that made the card: status %d %.200s", rr.Code, rr.Body)
	}
	rr := b.get(t, target, "text/html")
	if rr.Code != http.StatusNotFound || !strings.Contains(rr.Body.String(), "reopen the patient&#39;s chart") {
		t.Errorf("another replica: status %d %s; want 404 telling to reopen the chart", rr.Code, rr.Body)
	}
	if !strings.Contains(b.logs.String(), "report not stored and not held by this replica") {
		t.Errorf("b's log does not say why:\n%s", b.logs)
	}
}

// BenchmarkReportLink opens a card's report page over loopback HTTP: from the memory of
// the replica that made it (no store), and from the store on another replica (SQLite,
// PostgreSQL), which reads the screening and the patient's previous one.
func BenchmarkReportLink(b *testing.B) {
	benchStore := map[string]func(b *testing.B) Screenings{
		"memory": func(*testing.B) Screenings { return nil },
		"sqlite": func(b *testing.B) Screenings { return openStore(b, "") },
		"postgres": func(b *testing.B) Screenings {
			return openStore(b, pg.Database(b))
		},
	}
	for _, name := range []string{"memory", "sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			st := benchStore[name](b)
			mod := func(c *Config) { c.ReportLinkKey = sharedLinkKey; c.Screenings = st }
			maker := newCDSTestEnv(b, cdsTestConfig{mod: mod})
			opener := maker
			if st != nil {
				opener = newCDSTestEnv(b, cdsTestConfig{mod: mod})
			}
			status, body, _ := maker.post(b, maker.key.token(b, nil), cdsHookBody("demo-candidate", cdsDemoPrefetch(b, "candidate")))
			target := pathOf(b, cdsOneCard(b, status, body).Links[0].URL)
			srv := httptest.NewServer(opener.h)
			b.Cleanup(srv.Close)
			b.ReportAllocs()
			for b.Loop() {
				resp, err := http.Get(srv.URL + target)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
