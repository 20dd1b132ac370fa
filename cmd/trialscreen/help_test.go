package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
)

// TestEveryCommandHasHelp: each command's -h and --help exit 0 and print its usage line
// and every flag with its meaning, on stdout, touching no file and no server (the data
// directory, the working directory and a FHIR server stay untouched, and serve does
// not start). The table must name every command of the commands table.
func TestEveryCommandHasHelp(t *testing.T) {
	cases := []struct {
		command string
		flags   []string
	}{
		{"screen", []string{"--bundle", "--demo", "--patient", "--protocol", "--as-of", "--lymphodepletion-date", "--format", "--timezone"}},
		{"serve", []string{"--listen", "--metrics-listen"}},
		{"cds-demo", []string{"--url"}},
		{"batch", []string{"--out", "--ids", "--export", "--export-dir", "--resume", "--shard", "--protocol", "--as-of",
			"--lymphodepletion-date", "--timezone", "--workers", "--memory", "--tmp", "--log-every"}},
		{"batch merge", []string{"--out", "--protocol"}},
		{"protocol check", nil},
		{"db migrate", nil},
		{"audit verify", nil},
		{"audit export", []string{"--since"}},
		{"terminology import-rxnorm", []string{"-o", "--version", "--rxnsat"}},
		{"terminology report", []string{"--format", "--protocol", "--tmp"}},
	}
	tested := map[string]bool{}
	for _, tc := range cases {
		tested[tc.command] = true
	}
	for _, c := range commands {
		if !tested[c.name] {
			t.Errorf("command %q has no case in this test", c.name)
		}
	}

	var fhirCalls atomic.Int32
	fhir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fhirCalls.Add(1)
		http.Error(w, "not expected", http.StatusTeapot)
	}))
	defer fhir.Close()
	dataDir, workDir := t.TempDir(), t.TempDir()
	t.Chdir(workDir) // terminology import-rxnorm writes under the working directory by default
	env := map[string]string{envDataDir: dataDir, envFHIRURL: fhir.URL, envListen: "127.0.0.1:0", envMetricsListen: "127.0.0.1:0"}
	getenv := func(k string) string { return env[k] }

	for _, tc := range cases {
		for _, help := range []string{"--help", "-h"} {
			t.Run(tc.command+" "+help, func(t *testing.T) {
				var out, errOut bytes.Buffer
				args := append(strings.Fields(tc.command), help)
				code := run(context.Background(), args, getenv, testClock, &out, &errOut)
				if code != exitOK || errOut.Len() > 0 {
					t.Fatalf("exit %d, stderr %q; want 0 and help on stdout", code, errOut.String())
				}
				text := out.String()
				if !strings.HasPrefix(text, "usage: trialscreen "+tc.command) {
					t.Errorf("help does not start with its usage line:\n%s", text)
				}
				for _, f := range tc.flags {
					if !strings.Contains(text, "\n  "+f+" ") && !strings.Contains(text, "\n  "+f+"\n") {
						t.Errorf("help does not list %s:\n%s", f, text)
					}
				}
				if len(tc.flags) == 0 && !strings.Contains(text, "flags: none") {
					t.Errorf("help of a command without flags should say so:\n%s", text)
				}
			})
		}
	}
	for name, dir := range map[string]string{"data": dataDir, "working": workDir} {
		if entries, _ := os.ReadDir(dir); len(entries) > 0 {
			t.Errorf("help wrote into the %s directory: %v", name, entries)
		}
	}
	if n := fhirCalls.Load(); n > 0 {
		t.Errorf("help called the FHIR server %d times", n)
	}
}

// TestProgramHelpListsEveryCommand: trialscreen --help (and -h, help) lists every
// command, as do the groups' own --help their subcommands.
func TestProgramHelpListsEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		code, stdout, stderr := runCLI(t, args...)
		if code != exitOK || stderr != "" {
			t.Fatalf("%v: exit %d, stderr %q", args, code, stderr)
		}
		for _, c := range commands {
			if !strings.Contains(stdout, "\n  trialscreen "+c.name) {
				t.Errorf("%v does not list %q:\n%s", args, c.name, stdout)
			}
		}
	}
	for group, subs := range map[string][]string{
		"protocol": {"protocol check"}, "db": {"db migrate"}, "audit": {"audit verify", "audit export"},
		"terminology": {"terminology import-rxnorm", "terminology report"},
	} {
		code, stdout, stderr := runCLI(t, group, "--help")
		if code != exitOK || stderr != "" {
			t.Fatalf("%s --help: exit %d, stderr %q", group, code, stderr)
		}
		for _, s := range subs {
			if !strings.Contains(stdout, "trialscreen "+s) {
				t.Errorf("%s --help does not list %q:\n%s", group, s, stdout)
			}
		}
	}
}
