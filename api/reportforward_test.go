package api

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trialscreen/trialscreen/screening"
)

var testLinkKey = []byte("report-link key shared by replicas")

// replica is one service replica on a real loopback listener, as a pod behind a load
// balancer; handler can be swapped, as a restarted pod at the same address.
type replica struct {
	env      *cdsTestEnv
	srv      *httptest.Server
	requests atomic.Int32 // requests that reached this replica
	handler  atomic.Value // http.Handler
	// connState is a test's hook on the replica's connections (func(net.Conn,
	// http.ConnState)): set through this, since the server's own field may not be
	// written once it serves (a data race).
	connState atomic.Value
}

func newReplica(t testing.TB) *replica {
	t.Helper()
	r := &replica{}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		r.handler.Load().(http.Handler).ServeHTTP(w, req)
	}))
	r.srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if f, ok := r.connState.Load().(func(net.Conn, http.ConnState)); ok {
			f(c, s)
		}
	}
	r.srv.Start()
	t.Cleanup(r.srv.Close)
	r.restart(t)
	return r
}

// restart gives the replica a new process: same address and key, empty report cache.
func (r *replica) restart(t testing.TB) {
	t.Helper()
	r.env = newCDSTestEnv(t, cdsTestConfig{})
	r.env.s.cfg.ReportLinkKey = testLinkKey
	r.env.s.cfg.ReplicaAddr = r.srv.Listener.Addr().String()
	r.handler.Store(r.env.h)
}

// card has the replica answer a patient-view call and returns the card's report path.
func (r *replica) card(t testing.TB) string {
	t.Helper()
	status, body, _ := r.env.post(t, r.env.key.token(t, nil), cdsHookBody("demo-candidate", cdsDemoPrefetch(t, "candidate")))
	return pathOf(t, cdsOneCard(t, status, body).Links[0].URL)
}

func (r *replica) get(t *testing.T, path, accept string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, r.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func (r *replica) forwards(outcome string) float64 {
	return testutil.ToFloat64(r.env.s.cfg.Metrics.reportForwards.WithLabelValues(outcome))
}

// auditViews returns the report views in the replica's audit log.
func (r *replica) auditViews(t *testing.T) []string {
	t.Helper()
	var views []string
	for _, line := range strings.Split(strings.TrimSpace(r.env.audit.String()), "\n") {
		if strings.Contains(line, `"valueString":"report"`) {
			views = append(views, line)
		}
	}
	return views
}

func wantGone(t *testing.T, resp *http.Response, body []byte) {
	t.Helper()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "reopen the patient's chart") {
		t.Fatalf("status %d %s; want 404 telling to reopen the chart", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("Content-Type %q, want a problem document", ct)
	}
}

// A clinician's browser may reach any replica: the one without the card's report gets
// it from the one that made the card, the same page and document, with the report
// headers, and the view is audited once, by the holder, under the browser's address.
func TestReportLinkOnAnotherReplica(t *testing.T) {
	a, b := newReplica(t), newReplica(t)
	path := a.card(t)

	direct, directBody := a.get(t, path, "application/json")
	if direct.StatusCode != http.StatusOK {
		t.Fatalf("holder: status %d %s", direct.StatusCode, directBody)
	}
	resp, body := b.get(t, path, "application/json")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != direct.Header.Get("Content-Type") {
		t.Fatalf("other replica: status %d, Content-Type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var viaB, viaA screening.Screening
	if err := json.Unmarshal(body, &viaB); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(directBody, &viaA); err != nil {
		t.Fatal(err)
	}
	if viaB.Verdict != viaA.Verdict || viaB.Patient.ID != "demo-candidate" || len(viaB.Criteria) != len(viaA.Criteria) {
		t.Errorf("relayed %s for %s, holder %s: not the card's screening", viaB.Verdict, viaB.Patient.ID, viaA.Verdict)
	}

	page, pageBody := b.get(t, path, "text/html")
	if page.StatusCode != http.StatusOK {
		t.Fatalf("page: status %d", page.StatusCode)
	}
	checkReportHeaders(t, page.Header, pageBody)
	if !strings.Contains(string(pageBody), "Patient/demo-candidate") {
		t.Error("the relayed page does not show the patient's report")
	}
	if got := b.forwards(forwardServed); got != 2 {
		t.Errorf("served forwards on b = %v, want 2", got)
	}
	if n := len(b.auditViews(t)); n != 0 {
		t.Errorf("the relaying replica audited %d views; the holder does", n)
	}
	views := a.auditViews(t)
	if len(views) != 3 {
		t.Fatalf("%d views audited by the holder, want 3 (one direct, two relayed)", len(views))
	}
	for _, v := range views[1:] {
		if !strings.Contains(v, `"address":"127.0.0.1:`) || !strings.Contains(v, `{"type":"relayed-by","valueString":"127.0.0.1:`) {
			t.Errorf("a relayed view is not audited under the browser's address and the relaying replica:\n%s", v)
		}
	}
}

// A holder that restarted (same address, report gone) or is down: the other replica
// answers the usual 404, promptly, and counts why.
func TestReportLinkHolderGone(t *testing.T) {
	a, b := newReplica(t), newReplica(t)
	path := a.card(t)
	a.restart(t)
	resp, body := b.get(t, path, "")
	wantGone(t, resp, body)
	if b.forwards(forwardGone) != 1 {
		t.Errorf("gone forwards = %v, want 1", b.forwards(forwardGone))
	}

	path = a.card(t)
	a.srv.Close()
	start := time.Now()
	resp, body = b.get(t, path, "")
	wantGone(t, resp, body)
	if d := time.Since(start); d > forwardTimeout {
		t.Errorf("took %v", d)
	}
	if b.forwards(forwardUnreachable) != 1 {
		t.Errorf("unreachable forwards = %v, want 1", b.forwards(forwardUnreachable))
	}
	if logs := b.env.logs.String(); strings.Contains(logs, a.srv.Listener.Addr().String()) || strings.Contains(logs, "link=") {
		t.Errorf("the log names the holder's address or the link token:\n%s", logs)
	}
}

// A request is passed on once at most: one that already carries the forwarded-for
// header is not passed again (no loop between replicas), and a replica never asks
// itself.
func TestReportLinkForwardedOnce(t *testing.T) {
	a, b := newReplica(t), newReplica(t)
	path := a.card(t)
	before := a.requests.Load()
	resp, body := b.get(t, path, "", headerForwardedFor, "10.0.0.9:1234;bogus")
	wantGone(t, resp, body)
	if n := a.requests.Load() - before; n != 0 {
		t.Errorf("a passed-on request was passed again: the holder got %d requests", n)
	}

	a.restart(t) // a's report is gone; its link names a itself
	before = a.requests.Load()
	resp, body = a.get(t, path, "")
	wantGone(t, resp, body)
	if n := a.requests.Load() - before; n != 1 {
		t.Errorf("the replica asked itself: %d requests", n)
	}
}

// A browser cannot choose the address the holder audits: a forwarded-for header without
// the replicas' MAC is ignored, and the real address is recorded.
func TestReportLinkForwardedForNeedsMAC(t *testing.T) {
	a := newReplica(t)
	path := a.card(t)
	resp, _ := a.get(t, path, "", headerForwardedFor, "192.0.2.7:4444;bm9uY2Vub25jZW5vbmNl;"+strings.Repeat("A", 43))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	views := a.auditViews(t)
	if len(views) != 1 || strings.Contains(views[0], "192.0.2.7") || strings.Contains(views[0], "relayed-by") ||
		!strings.Contains(views[0], `"address":"127.0.0.1:`) {
		t.Errorf("audit took the browser's word for its address:\n%s", views)
	}
}

// A holder's answer is relayed only when it is a report from a replica of this
// deployment: an answer that does not prove the link key (another pod now at a gone
// replica's IP) is not relayed, even a 200 page; nor, from a replica, a redirect
// (not followed), an error, another content type or an oversized body. The browser
// gets the usual 404, never the peer's body.
func TestReportLinkHolderAnswersOddly(t *testing.T) {
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the redirect was followed")
	}))
	defer elsewhere.Close()
	tests := []struct {
		name     string
		impostor bool // does not prove the link key
		serve    func(w http.ResponseWriter)
	}{
		{"impostor page", true, func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, "<h1>peer secret: ELIGIBLE</h1>")
		}},
		{"500", false, func(w http.ResponseWriter) { http.Error(w, "peer secret", http.StatusInternalServerError) }},
		{"redirect", false, func(w http.ResponseWriter) {
			w.Header().Set("Location", elsewhere.URL)
			w.WriteHeader(http.StatusFound)
		}},
		{"text/plain", false, func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "peer secret")
		}},
		{"oversized", false, func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(strings.Repeat("x", maxForwardedReport+1)))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotHeader atomic.Value
			// Links as the holder made them: sealed with the shared key, naming it.
			maker := newCDSTestEnv(t, cdsTestConfig{}).s
			maker.cfg.ReportLinkKey = testLinkKey
			card := newCardUUID()
			holder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotHeader.Store(r.Header.Get(headerForwardedFor))
				if _, nonce, ok := maker.forwardedFor(r, card); ok && !tt.impostor {
					w.Header().Set(headerHolder, maker.peerMAC(holderLabel, card, nonce))
				}
				tt.serve(w)
			}))
			defer holder.Close()
			maker.cfg.ReplicaAddr = holder.Listener.Addr().String()
			b := newReplica(t)
			resp, body := b.get(t, pathOf(t, maker.reportLink(card)), "")
			wantGone(t, resp, body)
			if strings.Contains(string(body), "peer secret") {
				t.Error("the peer's body was relayed")
			}
			if h, _ := gotHeader.Load().(string); !strings.HasPrefix(h, "127.0.0.1:") {
				t.Errorf("the holder was not asked with the browser's address: %q", h)
			}
			if b.forwards(forwardUnreachable) != 1 {
				t.Errorf("unreachable forwards = %v, want 1", b.forwards(forwardUnreachable))
			}
		})
	}
}

// A holder that takes the connection and never answers holds the browser no longer
// than the forward's timeout, whatever the request timeout.
func TestReportLinkHolderHangs(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	maker := newCDSTestEnv(t, cdsTestConfig{}).s
	maker.cfg.ReportLinkKey, maker.cfg.ReplicaAddr = testLinkKey, hang.Listener.Addr().String()
	b := newReplica(t)
	b.env.s.cfg.RequestTimeout = time.Minute
	start := time.Now()
	resp, body := b.get(t, pathOf(t, maker.reportLink(newCardUUID())), "")
	wantGone(t, resp, body)
	if d := time.Since(start); d > forwardTimeout+2*time.Second {
		t.Errorf("a hanging holder held the browser %v", d)
	}
	if b.forwards(forwardUnreachable) != 1 || !strings.Contains(b.env.logs.String(), "report holder timed out") {
		t.Errorf("unreachable = %v, logs:\n%s", b.forwards(forwardUnreachable), b.env.logs.String())
	}
}

// Links to a holder that restarted keep one connection to it: each 404 is read to the
// end so that the connection is reused, not a new one per stale link.
func TestReportLinkGoneForwardsReuseTheConnection(t *testing.T) {
	a, b := newReplica(t), newReplica(t)
	var conns atomic.Int32
	a.connState.Store(func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	})
	path := a.card(t)
	a.restart(t)
	before := conns.Load()
	for range 5 {
		resp, body := b.get(t, path, "")
		wantGone(t, resp, body)
	}
	if n := conns.Load() - before; n > 1 {
		t.Errorf("5 gone forwards opened %d connections to the holder, want 1", n)
	}
}

// The holder audits the browser's own address, and the relaying replica's apart: told
// apart by their exact ports, since every address here is 127.0.0.1.
func TestReportLinkRelayedViewAuditsTheBrowser(t *testing.T) {
	a, b := newReplica(t), newReplica(t)
	var relayer atomic.Value
	a.connState.Store(func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			relayer.Store(c.RemoteAddr().String())
		}
	})
	path := a.card(t)
	var browser string
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { browser = i.Conn.LocalAddr().String() },
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	views := a.auditViews(t)
	if len(views) != 1 {
		t.Fatalf("%d views audited, want 1", len(views))
	}
	r, _ := relayer.Load().(string)
	if !strings.Contains(views[0], `"address":"`+browser+`"`) ||
		!strings.Contains(views[0], `{"type":"relayed-by","valueString":"`+r+`"}`) {
		t.Errorf("browser %s, relaying replica %s; audit:\n%s", browser, r, views[0])
	}
}

// BenchmarkReportLink: a card's report page opened on the replica that holds it, and on
// another one that relays it (one more loopback hop, the holder's proof checked).
func BenchmarkReportLink(b *testing.B) {
	holder, other := newReplica(b), newReplica(b)
	path := holder.card(b)
	for _, bc := range []struct {
		name string
		r    *replica
	}{{"holder", holder}, {"relayed", other}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				resp, err := http.Get(bc.r.srv.URL + path)
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
