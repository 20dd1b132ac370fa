package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/api"
)

// The service gets exactly what it needs to run against the stub and accept the tool's
// calls: nothing inherited, every other setting at its default. The files it is given
// are ones it accepts.
func TestServiceEnvIsOnlyWhatTheServiceNeeds(t *testing.T) {
	creds, err := newCredentials()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	s, err := serviceEnv(work, "http://127.0.0.1:1/fhir", creds)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range s.vars {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{envTokensFile, envAuditLog, envCDSConfig, envDataDir, envFHIRURL, envListen, envMetrics, envLogLevel, envPublicURL}
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Errorf("the service's environment sets %v; want exactly %v", keys, want)
	}
	if !strings.HasPrefix(s.vars[envListen], "127.0.0.1:") || s.vars[envPublicURL] != "http://"+s.vars[envListen] || s.base != s.vars[envPublicURL] {
		t.Errorf("listen %q, public URL %q, base %q: want one loopback address", s.vars[envListen], s.vars[envPublicURL], s.base)
	}
	tokens, err := os.ReadFile(s.vars[envTokensFile])
	if err != nil || string(tokens) != "loadtest "+creds.apiToken+"\n" {
		t.Errorf("tokens file %q (%v)", tokens, err)
	}
	cfg, err := api.LoadCDSConfig(s.vars[envCDSConfig])
	if err != nil {
		t.Fatalf("the service would refuse the CDS config: %v", err)
	}
	if len(cfg.Clients) != 1 || cfg.Clients[0].Issuer != cdsIssuer || len(cfg.Clients[0].FHIRServers) != 0 {
		t.Errorf("CDS clients %+v; want the one test EHR, prefetch only", cfg.Clients)
	}
	if fi, err := os.Stat(s.vars[envDataDir]); err != nil || !fi.IsDir() || filepath.Dir(s.vars[envDataDir]) != work {
		t.Errorf("data dir %q is not a directory in the working directory", s.vars[envDataDir])
	}
}

// -env adds variables (the settings the service is gaining pass straight through) and
// overrides the tool's own, and the printout marks them.
func TestEnvOverridesPassThrough(t *testing.T) {
	var o envOverrides
	for _, kv := range []string{"TRIALSCREEN_FHIR_MAX_CONCURRENT=32", "TRIALSCREEN_MAX_SCREENINGS=64", "TRIALSCREEN_LOG_LEVEL=info", "GOMAXPROCS=1"} {
		if err := o.Set(kv); err != nil {
			t.Fatal(err)
		}
	}
	own := serviceSettings{vars: map[string]string{envLogLevel: "warn", envAuditLog: os.DevNull}}
	s := own.with(o)
	want := []string{"GOMAXPROCS=1", envAuditLog + "=" + os.DevNull, "TRIALSCREEN_FHIR_MAX_CONCURRENT=32", envLogLevel + "=info", "TRIALSCREEN_MAX_SCREENINGS=64"}
	if got := s.list(); !slices.Equal(got, want) {
		t.Errorf("environment %v; want %v", got, want)
	}
	if own.vars[envLogLevel] != "warn" {
		t.Error("with changed the tool's own settings")
	}
	var b strings.Builder
	s.print(&b)
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if marked := strings.HasSuffix(line, "(-env)"); marked == strings.Contains(line, envAuditLog) {
			t.Errorf("line %q: only -env's variables are marked", line)
		}
	}
}
