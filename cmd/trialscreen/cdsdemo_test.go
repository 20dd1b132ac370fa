package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trialscreen/trialscreen/api"
	"github.com/trialscreen/trialscreen/demo"
)

// startCDSDemoService runs the service in-process on 127.0.0.1 with the CDS Hooks
// clients serve configures (configureAuth): with cfg a demo-mode configuration, the demo
// EHR is trusted. Its public URL is publicURL, or its own address when that is "".
func startCDSDemoService(t *testing.T, cfg serveConfig, publicURL string) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	if publicURL == "" {
		publicURL = "http://" + srv.Listener.Addr().(*net.TCPAddr).String()
	}
	proto, err := loadProtocol("", nil)
	if err != nil {
		t.Fatal(err)
	}
	src, err := demo.NewSource(proto)
	if err != nil {
		t.Fatal(err)
	}
	m, err := api.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	acfg := api.Config{
		Protocol: proto, Source: src, Demo: true, DefaultAsOf: demo.DefaultAsOf,
		PublicURL: publicURL, Audit: api.NewAuditLog(io.Discard, "test"), Metrics: m, Logger: log, Now: testClock,
	}
	closeAuth, err := configureAuth(&acfg, cfg, m, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeAuth)
	svc, err := api.New(acfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = svc.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

func runCDSDemo(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCLI(t, append([]string{"cds-demo"}, args...)...)
}

// TestCDSDemoPrintsTheCard: against a demo-mode service, cds-demo's signed call with its
// prefetch is accepted and the card printed: summary, indicator, detail and report link.
func TestCDSDemoPrintsTheCard(t *testing.T) {
	base := startCDSDemoService(t, serveConfig{}, "")
	cases := []struct {
		name, patient string
		want          []string
	}{
		{"candidate by name", "candidate", []string{"potentially eligible", "[warning]", "Criteria for a person to review"}},
		{"by FHIR id", "demo-ineligible-labs", []string{"ineligible (3 criteria fail) [info]", "**platelets**: Platelets 31"}},
		{"insufficient data", "insufficient-data", []string{"[info]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCDSDemo(t, tc.patient, "--url", base)
			if code != exitOK {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			want := append(tc.want, "Open the screening report: "+base+"/v1/reports/")
			for _, w := range want {
				if !strings.Contains(stdout, w) {
					t.Errorf("the printed card lacks %q:\n%s", w, stdout)
				}
			}
			// The report link works: the card came from a real screening.
			link := stdout[strings.Index(stdout, base+"/v1/reports/"):]
			link = strings.TrimSpace(strings.SplitN(link, "\n", 2)[0])
			if code, _ := get(t, link); code != http.StatusOK {
				t.Errorf("GET the card's report link: %d", code)
			}
		})
	}
}

// TestCDSDemoFailures: each way the call can fail ends in exit 1 or 2 with a message
// that says what went wrong and what to do; nothing is printed on stdout.
func TestCDSDemoFailures(t *testing.T) {
	// A service with a FHIR server configured does not trust the demo EHR.
	withFHIR := startCDSDemoService(t, serveConfig{fhirURL: "https://fhir.example.org/r4"}, "")
	demoMode := startCDSDemoService(t, serveConfig{}, "")
	// Reached at 127.0.0.1, but its public URL, the audience it expects, is another.
	otherAudience := startCDSDemoService(t, serveConfig{}, "https://trialscreen.example.org")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	notCDS := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"title":"Not Found","detail":"no such route"}`))
	}))
	defer notCDS.Close()
	cases := []cliFailure{
		{"service down", []string{"candidate", "--url", down}, exitError,
			"GET " + down + "/cds-services: the service cannot be reached (is trialscreen serve running there? --url sets where)"},
		{"demo EHR not trusted with a FHIR server", []string{"candidate", "--url", withFHIR}, exitError,
			"401 Unauthorized (the demo EHR is trusted only by a service in demo mode, with no TRIALSCREEN_FHIR_URL"},
		{"wrong audience", []string{"candidate", "--url", otherAudience}, exitError,
			"401 Unauthorized (the demo EHR is trusted only by a service in demo mode"},
		{"not a CDS service", []string{"candidate", "--url", notCDS.URL}, exitError, "404 Not Found: Not Found: no such route"},
		{"unknown patient", []string{"nobody", "--url", demoMode}, exitUsage, `demo patient "nobody" does not exist`},
		{"no patient", []string{"--url", demoMode}, exitUsage, "cds-demo: give one demo PATIENT (candidate, "},
		{"two patients", []string{"candidate", "ineligible-labs"}, exitUsage, "cds-demo: give one demo PATIENT"},
		{"unknown flag", []string{"candidate", "--ulr", demoMode}, exitUsage, "cds-demo: flag provided but not defined: -ulr"},
	}
	for i := range cases {
		cases[i].args = append([]string{"cds-demo"}, cases[i].args...)
	}
	checkCLIFailures(t, cases)
}

// TestDemoEHRTrustedOnlyInDemoMode: serve adds the demo EHR, whose private key is
// published, to its CDS clients only when no FHIR server is configured and no EHR
// allow-list is given.
func TestDemoEHRTrustedOnlyInDemoMode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     serveConfig
		trusted bool
	}{
		{"demo mode", serveConfig{}, true},
		{"FHIR server configured", serveConfig{fhirURL: "https://fhir.example.org/r4"}, false},
		{"demo mode with the operator's EHR allow-list", serveConfig{cdsConfig: "/etc/trialscreen/cds.yaml"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var acfg api.Config
			trustDemoEHR(&acfg, tc.cfg)
			trusted := false
			for _, c := range acfg.CDS.Clients {
				trusted = trusted || c.Issuer == demo.EHRIssuer
			}
			if trusted != tc.trusted {
				t.Errorf("demo EHR trusted: %v, want %v", trusted, tc.trusted)
			}
		})
	}
}
