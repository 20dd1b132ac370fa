package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/internal/bodymem"
)

func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openAPIDocument)
	if err != nil {
		t.Fatalf("openapi.json does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	return doc
}

func TestOpenAPIServed(t *testing.T) {
	loadOpenAPI(t)
	env := newRESTEnv(t, nil)
	rec := env.do(t, http.MethodGet, "/openapi.json", nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if !bytes.Equal(rec.Body.Bytes(), openAPIDocument) {
		t.Error("GET /openapi.json is not the embedded document")
	}
}

// newFullEnv is a service with every optional route registered: /metrics, on the
// operators' port (OpsHandler), serving the env's registry.
func newFullEnv(t *testing.T, mod func(*Config)) *restEnv {
	var env *restEnv
	env = newRESTEnv(t, func(c *Config) {
		c.MetricsHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			promhttp.HandlerFor(env.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
		})
		if mod != nil {
			mod(c)
		}
	})
	return env
}

// liveRoutes are the routes the server registers, as "METHOD /openapi/{path}". Echo's
// own not-found routes (method echo_route_not_found) are not API routes.
func liveRoutes(s *Server) []string {
	param := regexp.MustCompile(`:([A-Za-z0-9_]+)`)
	var out []string
	for _, r := range s.echo.Routes() {
		if strings.HasPrefix(r.Method, "echo_") {
			continue
		}
		out = append(out, r.Method+" "+param.ReplaceAllString(r.Path, "{$1}"))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func documentedRoutes(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

// The document describes exactly the routes the API port (Handler) has: a route added
// without documenting it, or documented and not served, fails here. The operators' port
// (OpsHandler, with /metrics) is not the API and is not in it.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	env := newFullEnv(t, nil)
	live, documented := liveRoutes(env.s), documentedRoutes(doc)
	for _, r := range live {
		if !slices.Contains(documented, r) {
			t.Errorf("%s is served but not in openapi.json", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(live, r) {
			t.Errorf("%s is in openapi.json but not served", r)
		}
	}
}

// strictSchemas forbids members a schema does not list, in the schemas responses use,
// so that a field the service sends but the document omits fails validation. (The
// document itself leaves them open: the contract lets fields be added.)
func strictSchemas(doc *openapi3.T, roots ...string) {
	no := false
	seen := map[*openapi3.Schema]bool{}
	var walk func(*openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			s.AdditionalProperties.Has = &no
		}
		for _, p := range s.Properties {
			walk(p)
		}
		walk(s.Items)
		walk(s.AdditionalProperties.Schema)
		for _, list := range [][]*openapi3.SchemaRef{s.AllOf, s.AnyOf, s.OneOf} {
			for _, x := range list {
				walk(x)
			}
		}
	}
	for _, name := range roots {
		walk(doc.Components.Schemas[name])
	}
}

// exchange is one request and the response the server gave it.
type exchange struct {
	name string
	want int // the status the service must give
	req  *http.Request
	body []byte // the request body, kept for request validation
	rec  *httptest.ResponseRecorder
}

func send(t *testing.T, env *restEnv, name string, want int, method, target, body string, headers ...string) exchange {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	env.s.Handler().ServeHTTP(rec, req)
	return exchange{name: name, want: want, req: httptest.NewRequest(method, target, nil), body: []byte(body), rec: rec}
}

// Real responses of the service validate against the document: the verdict documents
// of the demo patients (GET and POST), the problem documents of errors, and the
// operational routes.
func TestOpenAPIResponsesMatchDocument(t *testing.T) {
	doc := loadOpenAPI(t)
	strictSchemas(doc, "Screening", "Problem", "Health", "Readiness", "ScreeningList", "Worklist")
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewStaticTokens(map[string]string{"portal": "portal-secret-00001"})
	if err != nil {
		t.Fatal(err)
	}
	refused := &fhirclient.Error{Kind: fhirclient.KindUnavailable, Op: "read Patient", Attempts: 3, Err: errors.New("connect: connection refused")}
	slow := &fhirclient.Error{Kind: fhirclient.KindUnavailable, Op: "search Observation", Err: context.DeadlineExceeded, Outcome: "warning: slow query"}
	open := newFullEnv(t, nil)
	authed := newFullEnv(t, func(c *Config) { c.Auth = st; c.Demo = false })
	small := newFullEnv(t, func(c *Config) { c.MaxBodyBytes = 1 << 10 })
	unreachable := newFullEnv(t, sourceOf(failingSource{refused}))
	timedOut := newFullEnv(t, sourceOf(failingSource{slow}))
	few := newFullEnv(t, func(c *Config) { c.MaxBundleEntries = 5 })
	budget := newBudget(t, 1<<20, bodymem.Costs{PerBodyByte: 1, PerEntry: 1})
	held, err := budget.Take(context.Background(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	busy := newFullEnv(t, func(c *Config) { c.BodyMemory = budget })
	ct := "application/json"
	stored := newFullEnv(t, withStore(openStore(t, "")))
	storedID := docOf(t, send(t, stored, "store one", 200, "GET", "/v1/patients/demo-candidate/screening", "").rec.Body.Bytes()).ScreeningID

	var ex []exchange
	for _, id := range []string{"demo-candidate", "demo-ineligible-labs", "demo-ineligible-exclusion", "demo-insufficient-data"} {
		name, _ := strings.CutPrefix(id, "demo-")
		ex = append(ex,
			send(t, open, "GET "+id, 200, "GET", "/v1/patients/"+id+"/screening?as_of=2026-11-21T00:00:00Z&lymphodepletion_date=2026-12-01", ""),
			send(t, open, "POST "+id, 200, "POST", "/v1/screenings", `{"patient_id": "`+id+`", "lymphodepletion_date": "2026-12-01"}`, "Content-Type", ct),
			send(t, open, "POST bundle "+id, 200, "POST", "/v1/screenings", `{"bundle": `+demoBundle(t, name)+`}`, "Content-Type", ct),
		)
	}
	ex = append(ex,
		send(t, open, "400 id", 400, "GET", "/v1/patients/a_b/screening", ""),
		send(t, open, "400 unknown field", 400, "POST", "/v1/screenings", `{"patientId": "demo-candidate"}`, "Content-Type", ct),
		send(t, open, "400 bundle", 400, "POST", "/v1/screenings", `{"bundle": {"resourceType": "Bundle"}}`, "Content-Type", ct),
		send(t, authed, "401 GET", 401, "GET", "/v1/patients/demo-candidate/screening", ""),
		send(t, authed, "401 POST", 401, "POST", "/v1/screenings", `{"patient_id": "demo-candidate"}`, "Content-Type", ct),
		send(t, open, "404 GET", 404, "GET", "/v1/patients/nobody/screening", ""),
		send(t, open, "404 POST", 404, "POST", "/v1/screenings", `{"patient_id": "nobody"}`, "Content-Type", ct),
		send(t, small, "413", 413, "POST", "/v1/screenings", `{"bundle": {"resourceType": "Bundle", "id": "`+strings.Repeat("x", 2<<10)+`"}}`, "Content-Type", ct),
		send(t, few, "413 entries", 413, "POST", "/v1/screenings", `{"bundle": `+demoBundle(t, "candidate")+`}`, "Content-Type", ct),
		send(t, busy, "503", 503, "POST", "/v1/screenings", `{"patient_id": "demo-candidate"}`, "Content-Type", ct),
		send(t, open, "415", 415, "POST", "/v1/screenings", `{"patient_id": "demo-candidate"}`, "Content-Type", "application/fhir+json"),
		send(t, unreachable, "502", 502, "GET", "/v1/patients/p-1/screening", ""),
		send(t, timedOut, "504", 504, "POST", "/v1/screenings", `{"patient_id": "p-1"}`, "Content-Type", ct),
		send(t, stored, "stored GET", 200, "GET", "/v1/patients/demo-candidate/screening", ""),
		send(t, stored, "stored POST", 200, "POST", "/v1/screenings", `{"patient_id": "demo-candidate"}`, "Content-Type", ct),
		send(t, stored, "stored screening", 200, "GET", "/v1/screenings/"+storedID, ""),
		send(t, stored, "stored list", 200, "GET", "/v1/patients/demo-candidate/screenings?limit=1", ""),
		send(t, stored, "stored 404", 404, "GET", "/v1/screenings/AAAAAAAAAAAAAAAAAAAAAA", ""),
		send(t, stored, "stored 400 limit", 400, "GET", "/v1/patients/demo-candidate/screenings?limit=0", ""),
		send(t, stored, "worklist", 200, "GET", "/v1/worklist?limit=1", ""),
		send(t, stored, "worklist filtered", 200, "GET", "/v1/worklist?verdict=potentially-eligible&eligible_since=2020-01-01&waits_for_data=&q=demo", ""),
		send(t, stored, "worklist 400", 400, "GET", "/v1/worklist?verdict=eligible", ""),
		send(t, open, "worklist 404", 404, "GET", "/v1/worklist", ""),
		send(t, open, "healthz", 200, "GET", "/healthz", ""),
		send(t, open, "readyz", 200, "GET", "/readyz", ""),
		send(t, open, "openapi.json", 200, "GET", "/openapi.json", ""),
	)
	for _, x := range ex {
		t.Run(x.name, func(t *testing.T) {
			if x.rec.Code != x.want {
				t.Fatalf("status %d, want %d; body %.300s", x.rec.Code, x.want, x.rec.Body)
			}
			route, params, err := router.FindRoute(x.req)
			if err != nil {
				t.Fatalf("%s %s: %v", x.req.Method, x.req.URL, err)
			}
			in := &openapi3filter.RequestValidationInput{Request: x.req, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}}
			// What the service accepts, the document accepts too.
			if x.rec.Code == http.StatusOK && x.req.Method == http.MethodPost {
				vr := httptest.NewRequest(x.req.Method, x.req.URL.String(), bytes.NewReader(x.body))
				vr.Header.Set("Content-Type", ct)
				vin := *in
				vin.Request = vr
				if err := openapi3filter.ValidateRequest(context.Background(), &vin); err != nil {
					t.Errorf("the document refuses a request the service accepts: %v", err)
				}
			}
			out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: x.rec.Code, Header: x.rec.Header(),
				Options: in.Options}
			out.SetBodyBytes(x.rec.Body.Bytes())
			if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
				t.Errorf("status %d does not match the document: %v\nbody: %.500s", x.rec.Code, err, x.rec.Body)
			}
		})
	}
}

// The document refuses the bodies the service refuses with a 400 for their shape.
func TestOpenAPIRequestSchemaMatchesService(t *testing.T) {
	doc := loadOpenAPI(t)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	env := newRESTEnv(t, nil)
	cases := []string{
		`{}`,
		`{"patientId": "demo-candidate"}`,
		`{"patient_id": 42}`,
		`{"patient_id": "Patient/demo-candidate"}`,
		`{"bundle": "x"}`,
		`{"bundle": {"resourceType": "Patient"}}`,
	}
	for _, body := range cases {
		t.Run(body, func(t *testing.T) {
			rec := env.postJSON(t, body)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("the service answers %d, want 400", rec.Code)
			}
			req := httptest.NewRequest(http.MethodPost, "/v1/screenings", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			route, params, err := router.FindRoute(req)
			if err != nil {
				t.Fatal(err)
			}
			err = openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}})
			if err == nil {
				t.Error("the document accepts a body the service refuses")
			}
		})
	}
}

// Errors outside any operation (unknown path, wrong method) are Problem documents too.
func TestOpenAPIRoutingErrorsAreProblems(t *testing.T) {
	doc := loadOpenAPI(t)
	strictSchemas(doc, "Problem")
	problem := doc.Components.Schemas["Problem"].Value
	env := newRESTEnv(t, nil)
	for _, target := range [][2]string{{"GET", "/nowhere"}, {"PUT", "/v1/screenings"}} {
		rec := env.do(t, target[0], target[1], nil)
		p := problemOf(t, rec)
		var v any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		if err := problem.VisitJSON(v); err != nil {
			t.Errorf("%s %s (%d): %v", target[0], target[1], p.Status, err)
		}
	}
}
