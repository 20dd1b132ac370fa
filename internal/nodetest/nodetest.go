// Package nodetest runs a Node.js server that tests need (the Medplum FHIR server, the
// OpenID provider) on 127.0.0.1, and finds the port it listens on.
package nodetest

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Start runs `node script` in dir, with env added to the test's environment, and stops
// it when the test ends. The server says where it listens with a line "LISTENING
// <port>" on stdout; Start returns that port. The test fails when no such line comes
// within wait: a guard against a server that never starts, not a timing.
func Start(t testing.TB, node, dir, script string, env []string, wait time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "LISTENING "); ok {
				port <- p
			}
		}
	}()
	select {
	case p := <-port:
		return p
	case <-time.After(wait):
		t.Fatalf("%s %s in %s did not start within %s", node, script, dir, wait)
	}
	return ""
}
