package main

import (
	"net/http/httptest"

	"bytes"
	"context"
	"encoding/json"
	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/internal/fhirstub"
	"github.com/trialscreen/trialscreen/screening"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestServeConfigNamesEveryProblem(t *testing.T) {
	env := map[string]string{
		envListen:            "8080", // no colon
		envRequestTimeout:    "soon",
		envShutdownTimeout:   "5s", // shorter than the (default) request timeout
		envLogLevel:          "chatty",
		envTimeZone:          "Mars/Olympus",
		envMaxBodyBytes:      "12",
		envAPIJWTIssuer:      "https://idp.example.org", // without audience and JWKS
		envPublicURL:         "trialscreen.example.org", // not absolute
		envMaxScreenings:     "0",
		envFHIRMaxConcurrent: "lots",
	}
	_, err := readServeConfig(func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("a bad configuration was accepted")
	}
	for _, want := range []string{
		`TRIALSCREEN_LISTEN: "8080" is not host:port`,
		`TRIALSCREEN_REQUEST_TIMEOUT: "soon" is not a positive duration`,
		`TRIALSCREEN_LOG_LEVEL: "chatty" is not one of debug, info, warn, error`,
		`TRIALSCREEN_TIMEZONE: "Mars/Olympus" is not an IANA time zone`,
		`TRIALSCREEN_MAX_BODY_BYTES: "12" is not a byte count of at least 1024`,
		`TRIALSCREEN_API_JWT_ISSUER: JWT bearer auth needs all of`,
		`TRIALSCREEN_PUBLIC_URL: is not an absolute http(s) URL`,
		`TRIALSCREEN_SHUTDOWN_TIMEOUT: 5s is shorter than TRIALSCREEN_REQUEST_TIMEOUT (20s): in-flight requests would be cut off`,
		`TRIALSCREEN_MAX_SCREENINGS: "0" is not a whole number from 1 to 4096`,
		`TRIALSCREEN_FHIR_MAX_CONCURRENT: "lots" is not a whole number from 1 to 1024`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
}

// The capacity settings default to what the load figures in docs/performance.md were measured with,
// and take whole numbers within their bounds.
func TestServeConfigCapacity(t *testing.T) {
	for _, tc := range []struct {
		env                 map[string]string
		screenings, fhirMax int
		problem             string
	}{
		{env: nil, screenings: 64, fhirMax: 64},
		{env: map[string]string{envMaxScreenings: "200", envFHIRMaxConcurrent: " 16 "}, screenings: 200, fhirMax: 16},
		{env: map[string]string{envMaxScreenings: "5000"}, problem: `TRIALSCREEN_MAX_SCREENINGS: "5000" is not a whole number from 1 to 4096`},
		{env: map[string]string{envFHIRMaxConcurrent: "2048"}, problem: `TRIALSCREEN_FHIR_MAX_CONCURRENT: "2048" is not a whole number from 1 to 1024`},
		{env: map[string]string{envFHIRMaxConcurrent: "-3"}, problem: `TRIALSCREEN_FHIR_MAX_CONCURRENT: "-3" is not a whole number`},
	} {
		c, err := readServeConfig(func(k string) string { return tc.env[k] })
		switch {
		case tc.problem != "":
			if err == nil || !strings.Contains(err.Error(), tc.problem) {
				t.Errorf("%v: error %v, want %q", tc.env, err, tc.problem)
			}
		case err != nil:
			t.Errorf("%v: %v", tc.env, err)
		case c.maxScreenings != tc.screenings || c.fhirMaxConcurrent != tc.fhirMax:
			t.Errorf("%v: max screenings %d, FHIR requests in flight %d; want %d and %d", tc.env, c.maxScreenings, c.fhirMaxConcurrent, tc.screenings, tc.fhirMax)
		}
	}
}

// TRIALSCREEN_API_JWT_MAX_LIFETIME caps REST JWTs' lifetime: a positive duration of at
// most 24h, default 1h, meaningful only with JWT bearer auth.
func TestServeConfigJWTMaxLifetime(t *testing.T) {
	jwt := map[string]string{envAPIJWTIssuer: "https://idp.example.org", envAPIJWTAudience: "https://trialscreen.example.org", envAPIJWKSURL: "https://idp.example.org/jwks"}
	tests := []struct {
		value   string
		withJWT bool
		want    time.Duration
		wantErr string
	}{
		{"", true, time.Hour, ""},
		{"15m", true, 15 * time.Minute, ""},
		{"24h", true, 24 * time.Hour, ""},
		{"0s", true, 0, `TRIALSCREEN_API_JWT_MAX_LIFETIME: "0s" is not a positive duration`},
		{"-5m", true, 0, `TRIALSCREEN_API_JWT_MAX_LIFETIME: "-5m" is not a positive duration`},
		{"1 hour", true, 0, `TRIALSCREEN_API_JWT_MAX_LIFETIME: "1 hour" is not a positive duration`},
		{"87600h", true, 0, "TRIALSCREEN_API_JWT_MAX_LIFETIME: 87600h0m0s is longer than 24h0m0s"},
		{"15m", false, 0, "TRIALSCREEN_API_JWT_MAX_LIFETIME: is set without JWT bearer auth"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			env := map[string]string{envAPIJWTMaxLife: tt.value}
			if tt.withJWT {
				for k, v := range jwt {
					env[k] = v
				}
			}
			c, err := readServeConfig(func(k string) string { return env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || c.jwtMaxLifetime != tt.want {
				t.Fatalf("max lifetime %s, err %v; want %s", c.jwtMaxLifetime, err, tt.want)
			}
		})
	}
}

func TestServeRefusesAnOpenServiceOverRealPatientData(t *testing.T) {
	env := map[string]string{envFHIRURL: "https://fhir.example.org/r4"}
	_, err := readServeConfig(func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "REST callers must be authenticated") {
		t.Fatalf("a FHIR-backed service without caller auth: err = %v; want it refused", err)
	}
}

// lockedBuffer is a bytes.Buffer that the service's goroutines may write while the test
// reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveArgs run trialscreen serve on free loopback ports, the API's and the operators'
// (opsBase finds the latter).
var serveArgs = []string{"serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"}

// startServe runs trialscreen serve in-process on free loopback ports, on the tests'
// clock, and returns its API's base URL, its log (stderr) and audit (stdout) buffers,
// and a stop function that returns the command's exit status.
func startServe(t *testing.T, env map[string]string) (base string, logs, audit *lockedBuffer, stop func() int) {
	t.Helper()
	return startServeAt(t, env, testClock)
}

// startServeAt is startServe on the clock now.
func startServeAt(t *testing.T, env map[string]string, now func() time.Time) (base string, logs, audit *lockedBuffer, stop func() int) {
	t.Helper()
	logs, audit = &lockedBuffer{}, &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	env = withDataDir(t, env)
	getenv := func(k string) string { return env[k] }
	go func() { code <- run(ctx, serveArgs, getenv, now, audit, logs) }()
	addr := regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`)
	timeout := time.After(30 * time.Second) // a guard against a hang, not a timing
	for {
		if m := addr.FindStringSubmatch(logs.String()); m != nil {
			stopped := false
			stop = func() int {
				if stopped {
					return 0
				}
				stopped = true
				cancel()
				return <-code
			}
			t.Cleanup(func() { stop() })
			return "http://" + m[1], logs, audit, stop
		}
		select {
		case c := <-code:
			cancel()
			t.Fatalf("serve exited with %d before listening:\n%s", c, logs.String())
		case <-timeout:
			cancel()
			t.Fatalf("serve did not log its address:\n%s", logs.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// opsBase is the base URL of the operators' port (metrics and probes) of the service
// whose log startServe returned: it logs that address before the API's.
func opsBase(t *testing.T, logs *lockedBuffer) string {
	t.Helper()
	m := regexp.MustCompile(`"msg":"listening for metrics and probes","addr":"([^"]+)"`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("serve did not log the operators' address:\n%s", logs.String())
	}
	return "http://" + m[1]
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestServeDemoModeHealthMetricsAndCleanStop(t *testing.T) {
	base, logs, _, stop := startServe(t, nil)
	if code, body := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz: %d %s", code, body)
	}
	code, body := get(t, base+"/readyz")
	var ready map[string]string
	if err := json.Unmarshal([]byte(body), &ready); err != nil || code != 200 || ready["source"] != "demo" {
		t.Errorf("/readyz: %d %s; want 200 with source demo", code, body)
	}
	code, body = get(t, opsBase(t, logs)+"/metrics")
	for _, name := range []string{"trialscreen_http_request_duration_seconds", "trialscreen_service_own_duration_seconds", "go_goroutines", "process_cpu_seconds_total"} {
		if code != 200 || !strings.Contains(body, name) {
			t.Errorf("/metrics (%d) lacks %s", code, name)
		}
	}
	if !strings.Contains(logs.String(), "DEMO MODE") || !strings.Contains(logs.String(), "OPEN without authentication") {
		t.Errorf("the log does not say loudly that the service is open in demo mode:\n%s", logs.String())
	}
	if c := stop(); c != exitOK {
		t.Errorf("serve exited with %d on a clean stop; want 0\n%s", c, logs.String())
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Errorf("no stop line in the log:\n%s", logs.String())
	}
}

// In demo mode the demo patients are screened as of the instant their records were
// written for, whatever the date, whether fetched by id or sent as a Bundle; a Bundle
// of anyone else is screened as of now.
func TestServeDemoModeScreensDemoPatientsAsOfTheirInstant(t *testing.T) {
	later := demo.AsOf().AddDate(4, 0, 0) // long after the demo labs went stale
	base, _, _, _ := startServeAt(t, nil, func() time.Time { return later })
	candidate, _ := demo.Bundle("candidate")
	someoneElse := strings.ReplaceAll(string(candidate), "demo-candidate", "portal-patient-7")
	for _, tc := range []struct {
		name, method, path, body string
		asOf                     time.Time
	}{
		{"GET by id", "GET", "/v1/patients/demo-candidate/screening", "", demo.AsOf()},
		{"POST by id", "POST", "/v1/screenings", `{"patient_id":"demo-candidate"}`, demo.AsOf()},
		{"POST the Bundle", "POST", "/v1/screenings", `{"bundle":` + string(candidate) + `}`, demo.AsOf()},
		{"POST another patient's Bundle", "POST", "/v1/screenings", `{"bundle":` + someoneElse + `}`, later},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := request(t, tc.method, base+tc.path, "", "", tc.body)
			var doc screening.Screening
			if err := json.Unmarshal([]byte(body), &doc); code != 200 || err != nil {
				t.Fatalf("%d %.300s", code, body)
			}
			if !doc.AsOf.Equal(tc.asOf) {
				t.Errorf("as_of %s, want %s", doc.AsOf, tc.asOf)
			}
			if tc.asOf.Equal(demo.AsOf()) && doc.Verdict != screening.PotentiallyEligible {
				t.Errorf("verdict %s, want the demo candidate potentially-eligible", doc.Verdict)
			}
		})
	}
}

// startFHIRStub serves the demo patients as a FHIR server on 127.0.0.1.
func startFHIRStub(t *testing.T) string {
	url, _ := startSlowFHIRStub(t, 0)
	return url
}

// startSlowFHIRStub is startFHIRStub answering each request after latency.
func startSlowFHIRStub(t *testing.T, latency time.Duration) (string, *fhirstub.Server) {
	t.Helper()
	var bundles [][]byte
	for _, n := range demo.Names() {
		b, _ := demo.Bundle(n)
		bundles = append(bundles, b)
	}
	stub, err := fhirstub.New(latency, bundles...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(stub)
	t.Cleanup(srv.Close)
	return srv.URL + "/fhir", stub
}

// TestServeDrainsInFlightScreeningsOnStop: a screening waiting on a slow FHIR server when
// the stop signal comes still gets its answer, and the service exits cleanly.
func TestServeDrainsInFlightScreeningsOnStop(t *testing.T) {
	const token = "portal-token-0123456789abcdef"
	fhirURL, stub := startSlowFHIRStub(t, 700*time.Millisecond)
	env := map[string]string{envFHIRURL: fhirURL, envAPITokensFile: writeFile(t, "tokens", "portal "+token+"\n")}
	base, logs, _, stop := startServe(t, env)
	type answer struct {
		code int
		body string
	}
	done := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("GET", base+"/v1/patients/demo-ineligible-labs/screening", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- answer{0, err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- answer{resp.StatusCode, string(b)}
	}()
	for timeout := time.After(30 * time.Second); stub.Requests() == 0; { // a guard against a hang
		select {
		case <-timeout:
			t.Fatal("the screening never reached the FHIR server")
		case <-time.After(5 * time.Millisecond):
		}
	}
	if code := stop(); code != exitOK {
		t.Errorf("serve exited with %d; want 0\n%s", code, logs.String())
	}
	a := <-done
	if a.code != 200 || !strings.Contains(a.body, `"verdict":"ineligible"`) {
		t.Errorf("the in-flight screening got %d %.200s; want 200 with its verdict", a.code, a.body)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the service still accepts connections after stopping")
	}
}

func request(t *testing.T, method, url, token, accept, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeKeepsPatientDataOutOfLogsAndMetrics screens patients from a FHIR server in
// every way REST offers, with the log at debug, then greps the application log and the
// metrics for the patients' ids, names and birth dates. The audit sink, and only it,
// names the patient.
func TestServeKeepsPatientDataOutOfLogsAndMetrics(t *testing.T) {
	const token = "portal-token-0123456789abcdef"
	env := map[string]string{
		envFHIRURL:       startFHIRStub(t),
		envAPITokensFile: writeFile(t, "tokens", "# callers\nreferral-portal "+token+"\n"),
		envLogLevel:      "debug",
	}
	base, logs, audit, stop := startServe(t, env)
	candidate, _ := demo.Bundle("candidate")
	steps := []struct {
		method, path, token, accept, body string
		want                              int
	}{
		{"GET", "/v1/patients/demo-candidate/screening", token, "", "", 200},
		{"GET", "/v1/patients/demo-ineligible-labs/screening", token, "text/html", "", 200},
		{"POST", "/v1/screenings", token, "", `{"patient_id":"demo-insufficient-data"}`, 200},
		{"POST", "/v1/screenings", token, "", `{"bundle":` + string(candidate) + `}`, 200},
		{"GET", "/v1/patients/demo-nobody/screening", token, "", "", 404},
		{"GET", "/v1/patients/demo-candidate/screening", "", "", "", 401},
		{"GET", "/v1/patients/demo-candidate/screening", "wrong-token-0123456789", "", "", 401},
		{"GET", "/v1/patients/demo-candidate/screening?as_of=yesterday", token, "", "", 400},
	}
	for _, s := range steps {
		if code, body := request(t, s.method, base+s.path, s.token, s.accept, s.body); code != s.want {
			t.Errorf("%s %s: %d, want %d: %.300s", s.method, s.path, code, s.want, body)
		}
	}
	// The coordinator's side: the stored screening, the worklist (searched by name), a
	// review decision with a note, the patient's reviews.
	code, body := request(t, "GET", base+"/v1/patients/demo-candidate/screening", token, "", "")
	var doc struct {
		ScreeningID string `json:"screening_id"`
	}
	if err := json.Unmarshal([]byte(body), &doc); code != 200 || err != nil || doc.ScreeningID == "" {
		t.Fatalf("screening: %d %v %.300s", code, err, body)
	}
	coordinator := []struct {
		method, path, accept, body string
		want                       int
	}{
		{"GET", "/v1/screenings/" + doc.ScreeningID, "text/html", "", 200},
		{"GET", "/v1/screenings/" + doc.ScreeningID, "", "", 200},
		{"GET", "/", "text/html", "", 200},
		{"GET", "/?q=Alex", "text/html", "", 200},
		{"GET", "/v1/worklist?q=Candidate", "", "", 200},
		{"PUT", "/v1/patients/demo-candidate/reviews/life-expectancy", "", `{"decision":"met","note":"Alex Candidate: seen in clinic 1964-05-02","screening_id":"` + doc.ScreeningID + `"}`, 200},
		{"GET", "/v1/patients/demo-candidate/reviews", "", "", 200},
		{"PUT", "/v1/patients/demo-candidate/reviews/age", "", `{"decision":"met","screening_id":"` + doc.ScreeningID + `"}`, 400},
	}
	for _, s := range coordinator {
		if code, body := request(t, s.method, base+s.path, token, s.accept, s.body); code != s.want {
			t.Errorf("%s %s: %d, want %d: %.300s", s.method, s.path, code, s.want, body)
		}
	}
	// serve's store offers what the report finds by type: the previous screening.
	if _, page := request(t, "GET", base+"/v1/screenings/"+doc.ScreeningID, token, "text/html", ""); !strings.Contains(page, "Since the previous screening") {
		t.Error("the stored report does not say what changed since the previous screening")
	}
	_, metrics := get(t, opsBase(t, logs)+"/metrics")
	if c := stop(); c != exitOK {
		t.Errorf("serve exited with %d", c)
	}
	secrets := []string{"demo-candidate", "demo-ineligible-labs", "demo-insufficient-data", "demo-nobody",
		"Candidate", "Alex", "1964-05-02", "seen in clinic", token, "wrong-token-0123456789"}
	for name, text := range map[string]string{"log": logs.String(), "metrics": metrics} {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("the %s holds %q", name, s)
			}
		}
	}
	if !strings.Contains(metrics, `trialscreen_screenings_total{surface="rest",verdict="potentially-eligible"} 3`) {
		t.Errorf("the metrics do not count the screenings:\n%s", grepLines(metrics, "trialscreen_screenings_total"))
	}
	if !strings.Contains(metrics, `trialscreen_fhir_request_duration_seconds_count{resource_type="Observation",status_class="2xx",upstream="default"}`) {
		t.Errorf("no upstream FHIR latency by resource type:\n%s", grepLines(metrics, "trialscreen_fhir_request"))
	}
	// The audit sink names each patient whose data was read, and who asked.
	for _, want := range []string{`"reference":"Patient/demo-candidate"`, `"reference":"Patient/demo-ineligible-labs"`, `"value":"referral-portal"`} {
		if !strings.Contains(audit.String(), want) {
			t.Errorf("the audit log lacks %s", want)
		}
	}
	if strings.Contains(audit.String(), token) {
		t.Error("the audit log holds the caller's token")
	}
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestServeTokensFileProblems(t *testing.T) {
	for _, tc := range []struct{ name, content, want string }{
		{"empty", "# nothing\n", "no tokens in the file"},
		{"three fields", "portal tok en\n", `line 1: want "name token"`},
		{"duplicate name", "a 0123456789abcdef0\na 0123456789abcdef1\n", `line 2: the name "a" is given twice`},
		{"short token", "a short\n", "TRIALSCREEN_API_TOKENS_FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{envFHIRURL: "http://127.0.0.1:1/fhir", envAPITokensFile: writeFile(t, "tokens", tc.content)}
			var out, errOut bytes.Buffer
			code := run(context.Background(), serveArgs, func(k string) string { return env[k] }, testClock, &out, &errOut)
			if code != exitError || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, errOut.String(), tc.want)
			}
		})
	}
}
