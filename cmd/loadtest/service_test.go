package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The service process sees exactly the environment it is given, nothing of the tool's
// (a GOMAXPROCS or GOGC in the shell would change the figures unnoticed); and one that
// exits before it is ready is an error giving its exit status and log.
func TestServiceGetsOnlyItsEnvironment(t *testing.T) {
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("no /proc here")
	}
	t.Setenv("GOGC", "7")
	dir := t.TempDir()
	dump := filepath.Join(dir, "environ")
	fake := filepath.Join(dir, "trialscreen")
	script := "#!/bin/sh\ntr '\\0' '\\n' < /proc/$$/environ > " + dump + "\necho 'refusing to serve' >&2\nexit 3\n"
	if err := os.WriteFile(fake, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "service.log")
	svc, err := startService(context.Background(), fake, []string{"TRIALSCREEN_LOG_LEVEL=warn", "TRIALSCREEN_MAX_SCREENINGS=64"}, log)
	if err != nil {
		t.Fatal(err)
	}
	err = svc.waitReady(context.Background(), "http://127.0.0.1:1")
	want := "the service exited before it was ready (exit status 3); its log: " + log
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
	if err := svc.stop(); err == nil || !strings.Contains(err.Error(), "exited before it was stopped (exit status 3)") {
		t.Errorf("stop: %v", err)
	}
	got, _ := os.ReadFile(dump)
	if string(got) != "TRIALSCREEN_LOG_LEVEL=warn\nTRIALSCREEN_MAX_SCREENINGS=64\n" {
		t.Errorf("the service's environment:\n%s", got)
	}
	if l, _ := os.ReadFile(log); string(l) != "refusing to serve\n" {
		t.Errorf("its log holds %q; want its stderr", l)
	}
}
