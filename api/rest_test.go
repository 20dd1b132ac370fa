package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/protocols"
	"github.com/trialscreen/trialscreen/screening"
)

// restEnv is a demo-mode service with its audit sink, metrics registry, debug log and
// clock.
type restEnv struct {
	s     *Server
	audit *syncBuffer
	log   *syncBuffer
	reg   *prometheus.Registry
	clock *testClock
}

// syncBuffer is a bytes.Buffer safe for the writes of concurrent requests.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// newRESTEnv builds a demo service; mod, when given, changes its Config first.
func newRESTEnv(t testing.TB, mod func(*Config)) *restEnv {
	t.Helper()
	p, err := protocols.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	src, err := demo.NewSource(p)
	if err != nil {
		t.Fatal(err)
	}
	env := &restEnv{audit: &syncBuffer{}, log: &syncBuffer{}, reg: prometheus.NewRegistry(), clock: &testClock{}}
	m, err := NewMetrics(env.reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Protocol: p, Source: src, Demo: true, DefaultAsOf: demo.DefaultAsOf, Now: env.clock.Now,
		Audit: NewAuditLog(env.audit, "test"), Metrics: m,
		Logger: slog.New(slog.NewJSONHandler(env.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&cfg)
	}
	env.s, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// do sends one request; headers are name, value pairs.
func (e *restEnv) do(t *testing.T, method, target string, body io.Reader, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.s.Handler().ServeHTTP(rec, req)
	return rec
}

func (e *restEnv) postJSON(t *testing.T, body string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	return e.do(t, http.MethodPost, "/v1/screenings", strings.NewReader(body), append([]string{"Content-Type", "application/json"}, headers...)...)
}

// auditLines are the audit records written so far.
func (e *restEnv) auditLines() []string {
	return strings.Split(strings.TrimSpace(e.audit.String()), "\n")
}

// screeningOf decodes a 200 verdict document.
func screeningOf(t *testing.T, rec *httptest.ResponseRecorder) *screening.Screening {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store: the document holds patient data", cc)
	}
	var s screening.Screening
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil {
		t.Fatalf("body is not a verdict document: %v\n%s", err, rec.Body)
	}
	return &s
}

// problemOf decodes a problem document and checks its status matches the response's.
func problemOf(t *testing.T, rec *httptest.ResponseRecorder) Problem {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json; body %s", ct, rec.Body)
	}
	var p Problem
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("body is not a problem document: %v\n%s", err, rec.Body)
	}
	if p.Status != rec.Code {
		t.Errorf("problem status %d, response status %d", p.Status, rec.Code)
	}
	return p
}

func demoBundle(t *testing.T, name string) string {
	t.Helper()
	data, err := demo.Bundle(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestRESTDemoVerdicts(t *testing.T) {
	cases := []struct {
		patient string
		want    screening.Verdict
	}{
		{"demo-candidate", screening.PotentiallyEligible},
		{"demo-ineligible-labs", screening.Ineligible},
		{"demo-ineligible-exclusion", screening.Ineligible},
		{"demo-insufficient-data", screening.InsufficientData},
	}
	env := newRESTEnv(t, nil)
	for _, tc := range cases {
		name, _ := demo.NameForPatientID(tc.patient)
		requests := map[string]func() *httptest.ResponseRecorder{
			"GET": func() *httptest.ResponseRecorder {
				return env.do(t, http.MethodGet, "/v1/patients/"+tc.patient+"/screening", nil)
			},
			"POST patient_id": func() *httptest.ResponseRecorder {
				return env.postJSON(t, `{"patient_id": "`+tc.patient+`"}`)
			},
			// A demo patient is screened as of the demo instant whoever sends the record,
			// however long after it the test runs (the env's clock is years later).
			"POST bundle": func() *httptest.ResponseRecorder {
				return env.postJSON(t, `{"bundle": `+demoBundle(t, name)+`}`)
			},
		}
		for how, send := range requests {
			t.Run(tc.patient+"/"+how, func(t *testing.T) {
				got := screeningOf(t, send())
				if got.Verdict != tc.want {
					t.Errorf("verdict %s, want %s", got.Verdict, tc.want)
				}
				if got.Patient.ID != tc.patient {
					t.Errorf("patient %q, want %q", got.Patient.ID, tc.patient)
				}
				if !got.AsOf.Equal(demo.AsOf()) {
					t.Errorf("as_of %s, want the demo default %s", got.AsOf, demo.AsOf())
				}
				if len(got.Criteria) != 39 {
					t.Errorf("%d criteria, want 39", len(got.Criteria))
				}
			})
		}
	}
}

// A Bundle a portal sends is the patient's full record: it screens exactly like the
// same patient fetched by id.
func TestRESTBundleScreensLikeGet(t *testing.T) {
	env := newRESTEnv(t, nil)
	for _, name := range demo.Names() {
		t.Run(name, func(t *testing.T) {
			byID := env.do(t, http.MethodGet, "/v1/patients/demo-"+name+"/screening?lymphodepletion_date=2026-12-01", nil)
			byBundle := env.postJSON(t, `{"bundle": `+demoBundle(t, name)+`, "lymphodepletion_date": "2026-12-01", "as_of": "2026-11-20T12:00:00Z"}`)
			screeningOf(t, byID)
			screeningOf(t, byBundle)
			if byID.Body.String() != byBundle.Body.String() {
				t.Errorf("the Bundle's document differs from GET's\nGET:  %s\nPOST: %s", byID.Body, byBundle.Body)
			}
		})
	}
}

// Data a caller sends about anyone but a demo patient is screened as of now when the
// request names no instant, never as of the demo patients' fixed instant: that would
// ignore everything recorded since.
func TestRESTBundleWithoutAsOfIsScreenedNow(t *testing.T) {
	env := newRESTEnv(t, nil)
	someoneElse := strings.ReplaceAll(demoBundle(t, "candidate"), "demo-candidate", "portal-patient-7")
	before := env.clock.Now()
	got := screeningOf(t, env.postJSON(t, `{"bundle": `+someoneElse+`}`))
	if after := env.clock.Now(); got.Patient.ID != "portal-patient-7" || !got.AsOf.After(before) || !got.AsOf.Before(after) {
		t.Errorf("patient %s as of %s; want portal-patient-7 as of now (between %s and %s)", got.Patient.ID, got.AsOf, before, after)
	}
}

func TestRESTSettings(t *testing.T) {
	env := newRESTEnv(t, nil)
	cases := []struct {
		name     string
		send     func() *httptest.ResponseRecorder
		asOf     string
		lympho   string
		timeZone string
	}{
		{"GET default", func() *httptest.ResponseRecorder {
			return env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil)
		}, "2026-11-20T12:00:00Z", "", "UTC"},
		{"GET as_of", func() *httptest.ResponseRecorder {
			return env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening?as_of=2026-11-25T08:30:00Z", nil)
		}, "2026-11-25T08:30:00Z", "", "UTC"},
		{"GET as_of with offset and lymphodepletion_date", func() *httptest.ResponseRecorder {
			return env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening?as_of="+url.QueryEscape("2026-11-21T09:00:00+01:00")+"&lymphodepletion_date=2026-12-03", nil)
		}, "2026-11-21T09:00:00+01:00", "2026-12-03", "UTC"},
		{"POST as_of", func() *httptest.ResponseRecorder {
			return env.postJSON(t, `{"patient_id": "demo-candidate", "as_of": "2026-11-22T00:00:00Z", "lymphodepletion_date": "2026-12-01"}`)
		}, "2026-11-22T00:00:00Z", "2026-12-01", "UTC"},
		{"POST bundle as_of", func() *httptest.ResponseRecorder {
			return env.postJSON(t, `{"as_of": "2026-11-23T00:00:00Z", "bundle": `+demoBundle(t, "candidate")+`}`)
		}, "2026-11-23T00:00:00Z", "", "UTC"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := tc.send()
			got := screeningOf(t, rec)
			var raw struct {
				AsOf     string `json:"as_of"`
				Settings struct {
					AsOf            string `json:"as_of"`
					Lymphodepletion string `json:"lymphodepletion_date"`
					TimeZone        string `json:"time_zone"`
				} `json:"settings"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
				t.Fatal(err)
			}
			if raw.AsOf != tc.asOf || raw.Settings.AsOf != tc.asOf {
				t.Errorf("as_of %q, settings.as_of %q; want %q", raw.AsOf, raw.Settings.AsOf, tc.asOf)
			}
			if raw.Settings.Lymphodepletion != tc.lympho {
				t.Errorf("settings.lymphodepletion_date %q, want %q", raw.Settings.Lymphodepletion, tc.lympho)
			}
			if raw.Settings.TimeZone != tc.timeZone {
				t.Errorf("settings.time_zone %q, want %q", raw.Settings.TimeZone, tc.timeZone)
			}
			if got.Patient.ID != "demo-candidate" {
				t.Errorf("patient %q", got.Patient.ID)
			}
		})
	}
}

// as_of moves the evaluation, so the verdict follows: a month on, the candidate's labs
// are stale and the verdict is no longer potentially-eligible.
func TestRESTAsOfChangesVerdict(t *testing.T) {
	env := newRESTEnv(t, nil)
	now := screeningOf(t, env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil))
	later := screeningOf(t, env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening?as_of=2027-01-20T12:00:00Z", nil))
	if now.Verdict != screening.PotentiallyEligible {
		t.Fatalf("verdict at the demo instant %s", now.Verdict)
	}
	if later.Verdict != screening.InsufficientData {
		t.Errorf("verdict two months later %s, want insufficient-data (stale labs)", later.Verdict)
	}
}

func TestRESTBadRequests(t *testing.T) {
	twoPatients := `{"resourceType": "Bundle", "type": "collection", "entry": [
		{"resource": {"resourceType": "Patient", "id": "a"}},
		{"resource": {"resourceType": "Patient", "id": "b"}}]}`
	noPatient := `{"resourceType": "Bundle", "type": "collection", "entry": [
		{"resource": {"resourceType": "Observation", "id": "o", "status": "final"}}]}`
	cases := []struct {
		name   string
		method string
		target string
		body   string
		field  string
		detail string // the whole detail
	}{
		{"id too long", "GET", "/v1/patients/" + strings.Repeat("a", 65) + "/screening", "",
			"id", "id: is not a FHIR resource id (1-64 characters of A-Z, a-z, 0-9, '-', '.', and not '.' or '..' alone; got 65 bytes)"},
		{"id with underscore", "GET", "/v1/patients/demo_candidate/screening", "",
			"id", "id: is not a FHIR resource id (1-64 characters of A-Z, a-z, 0-9, '-', '.', and not '.' or '..' alone; got 14 bytes)"},
		{"id with escaped slash", "GET", "/v1/patients/a%2Fb/screening", "",
			"id", "id: is not a FHIR resource id (1-64 characters of A-Z, a-z, 0-9, '-', '.', and not '.' or '..' alone; got 5 bytes)"},
		{"id a dot", "GET", "/v1/patients/./screening", "", // would be GET [base]/Patient: every patient
			"id", "id: is not a FHIR resource id (1-64 characters of A-Z, a-z, 0-9, '-', '.', and not '.' or '..' alone; got 1 bytes)"},
		{"id two dots", "GET", "/v1/patients/../screening", "", // would be GET [base]
			"id", "id: is not a FHIR resource id (1-64 characters of A-Z, a-z, 0-9, '-', '.', and not '.' or '..' alone; got 2 bytes)"},
		{"POST patient_id two dots", "POST", "/v1/screenings", `{"patient_id": ".."}`,
			"patient_id", "patient_id: is not a FHIR resource id (1-64 characters of A-Z, a-z, 0-9, '-', '.', and not '.' or '..' alone; got 2 bytes)"},
		{"GET as_of not RFC 3339", "GET", "/v1/patients/demo-candidate/screening?as_of=2026-11-20", "",
			"as_of", `as_of: "2026-11-20" is not an RFC 3339 instant (e.g. 2026-11-20T12:00:00Z)`},
		{"GET as_of the zero time", "GET", "/v1/patients/demo-candidate/screening?as_of=0001-01-01T00:00:00Z", "",
			"as_of", "as_of: 0001-01-01T00:00:00Z is not a usable instant (it is the zero time, which stands for no instant at all)"},
		{"GET as_of before 1900", "GET", "/v1/patients/demo-candidate/screening?as_of=1899-12-31T00:00:00Z", "",
			"as_of", "as_of: 1899-12-31T00:00:00Z is not a usable instant (the year must be between 1900 and 9999)"},
		{"GET lymphodepletion_date not a date", "GET", "/v1/patients/demo-candidate/screening?lymphodepletion_date=tomorrow", "",
			"lymphodepletion_date", `lymphodepletion_date: "tomorrow" is not a date (YYYY-MM-DD)`},
		{"POST neither patient_id nor bundle", "POST", "/v1/screenings", `{"as_of": "2026-11-20T12:00:00Z"}`,
			"patient_id", "patient_id: is required (or send the patient's record as bundle)"},
		{"POST patient_id null", "POST", "/v1/screenings", `{"patient_id": null}`,
			"patient_id", "patient_id: is required (or send the patient's record as bundle)"},
		{"POST patient_id not an id", "POST", "/v1/screenings", `{"patient_id": "Patient/demo-candidate"}`,
			"patient_id", "patient_id: is not a FHIR resource id (1-64 characters of A-Z, a-z, 0-9, '-', '.', and not '.' or '..' alone; got 22 bytes)"},
		{"POST patient_id a number", "POST", "/v1/screenings", `{"patient_id": 42}`,
			"patient_id", "patient_id: must be a string"},
		{"POST unknown field", "POST", "/v1/screenings", `{"patient_id": "demo-candidate", "asOf": "2026-11-20T12:00:00Z"}`,
			"asOf", "asOf: unknown field (the fields are patient_id, as_of, lymphodepletion_date, bundle)"},
		{"POST as_of bad", "POST", "/v1/screenings", `{"patient_id": "demo-candidate", "as_of": "20 Nov 2026"}`,
			"as_of", `as_of: "20 Nov 2026" is not an RFC 3339 instant (e.g. 2026-11-20T12:00:00Z)`},
		{"POST as_of the zero time", "POST", "/v1/screenings", `{"patient_id": "demo-candidate", "as_of": "0001-01-01T00:00:00Z"}`,
			"as_of", "as_of: 0001-01-01T00:00:00Z is not a usable instant (it is the zero time, which stands for no instant at all)"},
		{"POST bundle as_of the zero time", "POST", "/v1/screenings", `{"as_of": "0001-01-01T00:00:00Z", "bundle": ` + demoBundle(t, "candidate") + `}`,
			"as_of", "as_of: 0001-01-01T00:00:00Z is not a usable instant (it is the zero time, which stands for no instant at all)"},
		{"POST as_of a number", "POST", "/v1/screenings", `{"patient_id": "demo-candidate", "as_of": 1763640000}`,
			"as_of", "as_of: must be a string"},
		{"POST lymphodepletion_date bad", "POST", "/v1/screenings", `{"patient_id": "demo-candidate", "lymphodepletion_date": "2026-13-01"}`,
			"lymphodepletion_date", `lymphodepletion_date: "2026-13-01" is not a date (YYYY-MM-DD)`},
		{"POST as_of in the query", "POST", "/v1/screenings?as_of=2026-11-20T12:00:00Z", `{"patient_id": "demo-candidate"}`,
			"as_of", "as_of: give as_of in the JSON body, not as a query parameter"},
		{"POST one page of a search", "POST", "/v1/screenings", `{"bundle": {"resourceType":"Bundle","type":"searchset","total":999,"entry":[{"resource":{"resourceType":"Patient","id":"p1"}}]}}`,
			"bundle", "bundle: the Bundle says its search matched 999 resources but holds 1 entries: give the patient's whole record"},
		{"POST empty body", "POST", "/v1/screenings", "",
			"body", "body: the body is empty; send a JSON object"},
		{"POST malformed JSON", "POST", "/v1/screenings", `{"patient_id" "demo-candidate"}`,
			"body", "body: malformed JSON at byte 15: invalid character '\"' after object key"},
		{"POST truncated JSON", "POST", "/v1/screenings", `{"patient_id": "demo-cand`,
			"body", "body: truncated JSON: the body ends after 25 bytes"},
		{"POST array", "POST", "/v1/screenings", `[{"patient_id": "demo-candidate"}]`,
			"body", "body: must be a JSON object, not array"},
		{"POST null", "POST", "/v1/screenings", `null`,
			"body", "body: must be a JSON object, not null"},
		{"POST data after the object", "POST", "/v1/screenings", `{"patient_id": "demo-candidate"} {}`,
			"body", "body: data follows the JSON object"},
		{"POST bundle a string", "POST", "/v1/screenings", `{"bundle": "demo-candidate"}`,
			"bundle", "bundle: must be a FHIR Bundle (a JSON object)"},
		{"POST bundle not a Bundle", "POST", "/v1/screenings", `{"bundle": {"resourceType": "Patient", "id": "x"}}`,
			"bundle", `bundle: not a FHIR Bundle: resourceType is "Patient"`},
		{"POST bundle without resourceType", "POST", "/v1/screenings", `{"bundle": {"entry": []}}`,
			"bundle", "bundle: not a FHIR Bundle: there is no resourceType"},
		{"POST bundle without a Patient", "POST", "/v1/screenings", `{"bundle": ` + noPatient + `}`,
			"bundle", "bundle: bundle holds no Patient resource"},
		{"POST bundle with two patients", "POST", "/v1/screenings", `{"bundle": ` + twoPatients + `}`,
			"bundle", "bundle: bundle holds 2 Patient resources; choose one"},
		{"POST bundle without the patient_id", "POST", "/v1/screenings", `{"patient_id": "c", "bundle": ` + twoPatients + `}`,
			"bundle", `bundle: bundle holds no Patient with id "c" (it holds 2 Patient resources)`},
	}
	env := newRESTEnv(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := env.audit.String()
			var rec *httptest.ResponseRecorder
			if tc.method == "POST" {
				rec = env.do(t, http.MethodPost, tc.target, strings.NewReader(tc.body), "Content-Type", "application/json")
			} else {
				rec = env.do(t, tc.method, tc.target, nil)
			}
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; body %s", rec.Code, rec.Body)
			}
			got := problemOf(t, rec)
			want := Problem{Type: "about:blank", Title: "Invalid request", Status: 400, Detail: tc.detail, Field: tc.field}
			if got != want {
				t.Errorf("problem\n got %+v\nwant %+v", got, want)
			}
			if env.audit.String() != before {
				t.Errorf("a refused request wrote an audit record: no patient data was read")
			}
		})
	}
}

// An as_of before the patient's birth date is a 400 naming as_of, once the record is
// read (so the read is audited); the birth day itself, and a default as_of, screen.
func TestRESTAsOfBeforeBirth(t *testing.T) {
	const want = "as_of: 1960-01-01T00:00:00Z is before the patient's birth date 1964-05-02: no screening can be meant for an instant before the patient was born"
	env := newRESTEnv(t, nil)
	for name, do := range map[string]func() *httptest.ResponseRecorder{
		"GET": func() *httptest.ResponseRecorder {
			return env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening?as_of=1960-01-01T00:00:00Z", nil)
		},
		"POST patient_id": func() *httptest.ResponseRecorder {
			return env.postJSON(t, `{"patient_id": "demo-candidate", "as_of": "1960-01-01T00:00:00Z"}`)
		},
		"POST bundle": func() *httptest.ResponseRecorder {
			return env.postJSON(t, `{"as_of": "1960-01-01T00:00:00Z", "bundle": `+demoBundle(t, "candidate")+`}`)
		},
		"GET report page": func() *httptest.ResponseRecorder {
			return env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening?as_of=1960-01-01T00:00:00Z", nil, "Accept", "text/html")
		},
	} {
		t.Run(name, func(t *testing.T) {
			rec := do()
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; body %.300s", rec.Code, rec.Body)
			}
			if name == "GET report page" {
				if !strings.Contains(rec.Body.String(), "before the patient&#39;s birth date 1964-05-02") && !strings.Contains(rec.Body.String(), "before the patient's birth date 1964-05-02") {
					t.Errorf("page %.500s: want the reason", rec.Body)
				}
				return
			}
			got := problemOf(t, rec)
			if got.Field != "as_of" || got.Detail != want {
				t.Errorf("problem %+v\nwant field as_of, detail %q", got, want)
			}
		})
	}
	onBirthDay := env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening?as_of=1964-05-02T00:00:00Z", nil)
	if onBirthDay.Code != http.StatusOK {
		t.Errorf("as_of on the birth day: status %d, want 200; body %.300s", onBirthDay.Code, onBirthDay.Body)
	}
}

// Two patients in one Bundle: patient_id chooses.
func TestRESTBundlePatientIDChooses(t *testing.T) {
	env := newRESTEnv(t, nil)
	var b struct {
		ResourceType string            `json:"resourceType"`
		Type         string            `json:"type"`
		Entry        []json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal([]byte(demoBundle(t, "candidate")), &b); err != nil {
		t.Fatal(err)
	}
	b.Entry = append(b.Entry, json.RawMessage(`{"resource": {"resourceType": "Patient", "id": "someone-else"}}`))
	both, _ := json.Marshal(b)
	got := screeningOf(t, env.postJSON(t, `{"patient_id": "demo-candidate", "bundle": `+string(both)+`}`))
	if got.Patient.ID != "demo-candidate" || got.Verdict != screening.PotentiallyEligible {
		t.Errorf("patient %q verdict %s, want demo-candidate potentially-eligible", got.Patient.ID, got.Verdict)
	}
}

func TestRESTUnsupportedMediaType(t *testing.T) {
	cases := []struct {
		name        string
		contentType string // "" sends none
		got         string
	}{
		{"none", "", "none"},
		{"text/plain", "text/plain", `"text/plain"`},
		{"FHIR JSON", "application/fhir+json", `"application/fhir+json"`},
		{"form", "application/x-www-form-urlencoded", `"application/x-www-form-urlencoded"`},
		{"malformed", "application/json; charset", `"application/json; charset"`},
	}
	env := newRESTEnv(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var headers []string
			if tc.contentType != "" {
				headers = []string{"Content-Type", tc.contentType}
			}
			rec := env.do(t, http.MethodPost, "/v1/screenings", strings.NewReader(`{"patient_id": "demo-candidate"}`), headers...)
			if rec.Code != http.StatusUnsupportedMediaType {
				t.Fatalf("status %d, want 415; body %s", rec.Code, rec.Body)
			}
			want := Problem{Type: "about:blank", Title: "Unsupported Media Type", Status: 415,
				Detail: "Content-Type must be application/json (got " + tc.got + `): send {"patient_id": ...} or {"bundle": <FHIR Bundle>, ...}`}
			if got := problemOf(t, rec); got != want {
				t.Errorf("problem\n got %+v\nwant %+v", got, want)
			}
		})
	}
	// With parameters, application/json is fine.
	rec := env.do(t, http.MethodPost, "/v1/screenings", strings.NewReader(`{"patient_id": "demo-candidate"}`), "Content-Type", "application/json; charset=utf-8")
	screeningOf(t, rec)
}

// onlyReader hides a reader's type, so the request has no Content-Length (chunked).
type onlyReader struct{ io.Reader }

func TestRESTBodyTooLarge(t *testing.T) {
	env := newRESTEnv(t, func(c *Config) { c.MaxBodyBytes = 4 << 10 })
	big := `{"patient_id": "demo-candidate", "bundle": {"resourceType": "Bundle", "id": "` + strings.Repeat("x", 8<<10) + `"}}`
	want := Problem{Type: "about:blank", Title: "Request Entity Too Large", Status: 413, Detail: "Request Entity Too Large"}
	cases := []struct {
		name string
		body io.Reader
	}{
		{"with Content-Length", strings.NewReader(big)},
		{"chunked", onlyReader{strings.NewReader(big)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := env.do(t, http.MethodPost, "/v1/screenings", tc.body, "Content-Type", "application/json")
			if rec.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413; body %s", rec.Code, rec.Body)
			}
			if got := problemOf(t, rec); got != want {
				t.Errorf("problem\n got %+v\nwant %+v", got, want)
			}
		})
	}
	// Just under the limit is read.
	screeningOf(t, env.do(t, http.MethodPost, "/v1/screenings", onlyReader{strings.NewReader(`{"patient_id": "demo-candidate"}`)}, "Content-Type", "application/json"))
}

func TestPrefersHTML(t *testing.T) {
	cases := []struct {
		accept string
		want   bool
	}{
		{"", false},
		{"*/*", false},
		{"application/json", false},
		{"application/json, text/html", false},
		{"text/html", true},
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true}, // Firefox, Chrome
		{"text/*", true},
		{"text/html;q=0.5, application/json", false},
		{"text/html, application/json;q=0.9", true},
		{"application/*, text/html;q=0.1", false},
		{"text/html;q=0, */*", false},
		{"text/html;q=abc", true}, // a malformed q counts as 1
		{"garbage;;, text/html", true},
	}
	for _, tc := range cases {
		if got := prefersHTML(tc.accept); got != tc.want {
			t.Errorf("prefersHTML(%q) = %v, want %v", tc.accept, got, tc.want)
		}
	}
}

// A browser gets the report page (report.go renders it); API callers get JSON.
func TestRESTContentNegotiation(t *testing.T) {
	env := newRESTEnv(t, nil)
	cases := []struct {
		name    string
		accept  string
		html    bool
		surface string
	}{
		{"no Accept", "", false, "rest"},
		{"JSON", "application/json", false, "rest"},
		{"anything", "*/*", false, "rest"},
		{"browser", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true, "report"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env.audit.mu.Lock()
			env.audit.b.Reset()
			env.audit.mu.Unlock()
			var headers []string
			if tc.accept != "" {
				headers = []string{"Accept", tc.accept}
			}
			rec := env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil, headers...)
			if v := rec.Header().Get("Vary"); v != "Accept" {
				t.Errorf("Vary %q, want Accept: the response depends on it", v)
			}
			ct := rec.Header().Get("Content-Type")
			if tc.html {
				if strings.HasPrefix(ct, "application/json") {
					t.Errorf("a browser got %s (status %d), want the report page", ct, rec.Code)
				}
			} else {
				screeningOf(t, rec)
			}
			lines := env.auditLines()
			if len(lines) != 1 || !strings.Contains(lines[0], `"valueString":"`+tc.surface+`"`) {
				t.Errorf("audit %q, want one record with surface %s", lines, tc.surface)
			}
		})
	}
}

func TestRESTAuditOneRecordPerScreening(t *testing.T) {
	cases := []struct {
		name    string
		send    func(e *restEnv) *httptest.ResponseRecorder
		status  int
		patient string
		source  string
		outcome string
	}{
		{"GET", func(e *restEnv) *httptest.ResponseRecorder {
			return e.do(t, http.MethodGet, "/v1/patients/demo-ineligible-labs/screening", nil)
		}, 200, "demo-ineligible-labs", "demo", "0"},
		{"POST patient_id", func(e *restEnv) *httptest.ResponseRecorder {
			return e.postJSON(t, `{"patient_id": "demo-insufficient-data"}`)
		}, 200, "demo-insufficient-data", "demo", "0"},
		{"POST bundle", func(e *restEnv) *httptest.ResponseRecorder {
			return e.postJSON(t, `{"bundle": `+demoBundle(t, "candidate")+`}`)
		}, 200, "demo-candidate", "bundle", "0"},
		{"unknown patient", func(e *restEnv) *httptest.ResponseRecorder {
			return e.do(t, http.MethodGet, "/v1/patients/no-such-patient/screening", nil)
		}, 404, "no-such-patient", "demo", "4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newRESTEnv(t, nil)
			rec := tc.send(env)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			lines := env.auditLines()
			if len(lines) != 1 {
				t.Fatalf("%d audit records, want 1:\n%s", len(lines), env.audit)
			}
			var ev struct {
				Outcome string `json:"outcome"`
				Agent   []struct {
					Who struct {
						Identifier struct{ Value string } `json:"identifier"`
					} `json:"who"`
					Requestor bool `json:"requestor"`
				} `json:"agent"`
				Entity []struct {
					What   struct{ Reference string } `json:"what"`
					Detail []struct {
						Type        string `json:"type"`
						ValueString string `json:"valueString"`
					} `json:"detail"`
				} `json:"entity"`
			}
			if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Outcome != tc.outcome {
				t.Errorf("outcome %q, want %q", ev.Outcome, tc.outcome)
			}
			if ev.Entity[0].What.Reference != "Patient/"+tc.patient {
				t.Errorf("patient %q, want Patient/%s", ev.Entity[0].What.Reference, tc.patient)
			}
			details := map[string]string{}
			for _, d := range ev.Entity[1].Detail {
				details[d.Type] = d.ValueString
			}
			if details["surface"] != "rest" || details["data-source"] != tc.source {
				t.Errorf("details %v, want surface rest, data-source %s", details, tc.source)
			}
			if ev.Agent[0].Who.Identifier.Value != "anonymous" {
				t.Errorf("caller %q, want anonymous (demo mode without Auth)", ev.Agent[0].Who.Identifier.Value)
			}
			if strings.Contains(env.log.String(), tc.patient) {
				t.Errorf("the application log names the patient:\n%s", env.log)
			}
		})
	}
}

// counterValue reads one counter of a registry by its labels.
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelsMatch(m.GetLabel(), labels) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func labelsMatch(got []*dto.LabelPair, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, l := range got {
		if want[l.GetName()] != l.GetValue() {
			return false
		}
	}
	return true
}

func TestRESTMetricsCountVerdicts(t *testing.T) {
	env := newRESTEnv(t, nil)
	screeningOf(t, env.do(t, http.MethodGet, "/v1/patients/demo-candidate/screening", nil))
	screeningOf(t, env.do(t, http.MethodGet, "/v1/patients/demo-ineligible-labs/screening", nil))
	screeningOf(t, env.postJSON(t, `{"patient_id": "demo-ineligible-exclusion"}`))
	screeningOf(t, env.postJSON(t, `{"bundle": `+demoBundle(t, "insufficient-data")+`}`))
	problemOf(t, env.do(t, http.MethodGet, "/v1/patients/nobody/screening", nil)) // no verdict, not counted
	want := map[string]float64{"potentially-eligible": 1, "ineligible": 2, "insufficient-data": 1}
	for verdict, n := range want {
		got := counterValue(t, env.reg, "trialscreen_screenings_total", map[string]string{"surface": "rest", "verdict": verdict})
		if got != n {
			t.Errorf("trialscreen_screenings_total{surface=rest,verdict=%s} = %v, want %v", verdict, got, n)
		}
	}
	// Per-criterion outcomes: every screening counts each criterion once.
	total := 0.0
	for _, o := range []string{"pass", "fail", "unknown", "review"} {
		total += counterValue(t, env.reg, "trialscreen_criterion_outcomes_total", map[string]string{"criterion": "age", "outcome": o})
	}
	if total != 4 {
		t.Errorf("age outcomes counted %v times, want 4", total)
	}
}
