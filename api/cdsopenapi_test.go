package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/trialscreen/trialscreen/internal/bodymem"
)

// The CDS Hooks service's real answers, and those of the card's report route, match
// the document: cards, each error the hook gives (400, bare 401, 412, 413 for the body
// and for the prefetch's entries, 503 while the memory for bodies is taken, 504 when
// the time runs out reading the prefetch), and the report as HTML, JSON and the 404 of
// a link that cannot be served.
func TestOpenAPICDSResponsesMatchDocument(t *testing.T) {
	doc := loadOpenAPI(t)
	strictSchemas(doc, "Screening", "Problem")
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	env := newCDSTestEnv(t, cdsTestConfig{maxBodyBytes: 64 << 10})
	marshal := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	good := marshal(cdsHookBody("demo-candidate", cdsDemoPrefetch(t, "candidate")))
	status, body, _ := env.post(t, env.key.token(t, nil), cdsHookBody("demo-candidate", cdsDemoPrefetch(t, "candidate")))
	card := cdsOneCard(t, status, body)
	report := pathOf(t, card.Links[0].URL)
	bearer := func() string { return "Bearer " + env.key.token(t, nil) }
	few := newCDSTestEnv(t, cdsTestConfig{mod: func(c *Config) { c.MaxBundleEntries = 5 }})
	budget := newBudget(t, 1<<20, bodymem.Costs{PerBodyByte: 1, PerEntry: 1})
	held, err := budget.Take(context.Background(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	busy := newCDSTestEnv(t, cdsTestConfig{mod: func(c *Config) { c.BodyMemory = budget }})
	past, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()

	tests := []struct {
		name    string
		want    int
		method  string
		target  string
		body    string
		headers []string
		stream  bool // no Content-Length: the body limit is met while reading
		env     *cdsTestEnv
		ctx     context.Context
	}{
		{name: "200 card", want: 200, method: "POST", target: cdsTestPath, body: good, headers: []string{"Authorization", bearer()}},
		{name: "400", want: 400, method: "POST", target: cdsTestPath, body: `{"hook":"order-sign"}`, headers: []string{"Authorization", bearer()}},
		{name: "401", want: 401, method: "POST", target: cdsTestPath, body: good},
		{name: "412", want: 412, method: "POST", target: cdsTestPath, body: marshal(cdsHookBody("demo-candidate", nil)), headers: []string{"Authorization", bearer()}},
		{name: "413", want: 413, method: "POST", target: cdsTestPath, body: `{"hook":"patient-view","x":"` + strings.Repeat("x", 65<<10) + `"}`,
			headers: []string{"Authorization", bearer()}, stream: true},
		{name: "413 entries", want: 413, method: "POST", target: cdsTestPath, body: good, headers: []string{"Authorization", "Bearer " + few.key.token(t, nil)}, env: few},
		{name: "503", want: 503, method: "POST", target: cdsTestPath, body: good, headers: []string{"Authorization", "Bearer " + busy.key.token(t, nil)}, env: busy},
		{name: "504", want: 504, method: "POST", target: cdsTestPath, body: good, headers: []string{"Authorization", bearer()}, ctx: past},
		{name: "report HTML", want: 200, method: "GET", target: report, headers: []string{"Accept", "text/html"}},
		{name: "report JSON", want: 200, method: "GET", target: report, headers: []string{"Accept", "application/json"}},
		{name: "report 404", want: 404, method: "GET", target: "/v1/reports/" + newCardUUID() + "?link=x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, e := tt.ctx, tt.env
			if ctx == nil {
				ctx = context.Background()
			}
			if e == nil {
				e = env
			}
			req := httptest.NewRequestWithContext(ctx, tt.method, tt.target, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			for i := 0; i+1 < len(tt.headers); i += 2 {
				req.Header.Set(tt.headers[i], tt.headers[i+1])
			}
			if tt.stream {
				req.ContentLength = -1
			}
			rr := httptest.NewRecorder()
			e.h.ServeHTTP(rr, req)
			if rr.Code != tt.want {
				t.Fatalf("status %d, want %d: %.300s", rr.Code, tt.want, rr.Body)
			}
			vreq := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			vreq.Header.Set("Content-Type", "application/json")
			route, params, err := router.FindRoute(vreq)
			if err != nil {
				t.Fatalf("%s %s: %v", tt.method, tt.target, err)
			}
			in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}}
			if tt.want == http.StatusOK && tt.method == http.MethodPost {
				if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
					t.Errorf("the document refuses a request the service accepts: %v", err)
				}
			}
			opts := *in.Options
			// kin-openapi has no decoder for text/html; the page is checked in reportlink_test.go.
			opts.ExcludeResponseBody = strings.HasPrefix(rr.Header().Get("Content-Type"), "text/html")
			out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rr.Code, Header: rr.Header(), Options: &opts}
			out.SetBodyBytes(rr.Body.Bytes())
			if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
				t.Errorf("status %d does not match the document: %v\nbody: %.300s", rr.Code, err, rr.Body)
			}
			if tt.want == http.StatusUnauthorized && rr.Body.Len() != 0 {
				t.Errorf("401 with a body %q; the document says none", rr.Body)
			}
		})
	}
	// Every status the hook answers with is documented, not left to default.
	op := doc.Paths.Find("/cds-services/trialscreen-patient-view").Post
	for _, code := range []int{200, 400, 401, 412, 413} {
		if op.Responses.Status(code) == nil {
			t.Errorf("the CDS service documents no %d", code)
		}
	}
}
