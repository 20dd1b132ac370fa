package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

const (
	servicePackage = "github.com/trialscreen/trialscreen/cmd/trialscreen"
	readyTimeout   = time.Minute      // start-up includes loading the protocol and terminology
	stopTimeout    = 30 * time.Second // the service drains for up to its shutdown timeout (25s)
)

// logPath is where the service's stderr (its log) and stdout go.
func logPath(work string) string { return filepath.Join(work, "service.log") }

// buildService builds trialscreen into work, as `go build ./cmd/trialscreen` does.
func buildService(ctx context.Context, work string, out io.Writer) (string, error) {
	bin := filepath.Join(work, "trialscreen")
	fmt.Fprintf(out, "building %s ...\n", servicePackage)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, servicePackage)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s (or pass -binary): %v\n%s", servicePackage, err, msg)
	}
	return bin, nil
}

// service is the running `trialscreen serve` child.
type service struct {
	cmd     *exec.Cmd
	log     string
	exited  chan struct{} // closed when the process has exited; then waitErr is set
	waitErr error
}

// startService runs binary serve with exactly env, its stdout and stderr into logFile.
func startService(ctx context.Context, binary string, env []string, logFile string) (*service, error) {
	f, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, "serve")
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s serve: %w", binary, err)
	}
	s := &service{cmd: cmd, log: logFile, exited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		f.Close()
		close(s.exited)
	}()
	return s, nil
}

func (s *service) pid() int { return s.cmd.Process.Pid }

func (s *service) running() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// waitReady polls /readyz until it answers 200 (the service is up and the stub
// answered its readiness check). A service that exits or never gets ready is an error
// naming its log.
func (s *service) waitReady(ctx context.Context, base string) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	last := "no answer"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		}
		select {
		case <-s.exited:
			return fmt.Errorf("the service exited before it was ready (%s); its log: %s", exitStatus(s.waitErr), s.log)
		case <-ctx.Done():
			return fmt.Errorf("the service was not ready within %s (last /readyz: %s); its log: %s", readyTimeout, last, s.log)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM, as Kubernetes does, and waits for a clean exit; after stopTimeout
// it kills the process. Anything but exit status 0 is an error naming the log.
func (s *service) stop() error {
	if !s.running() {
		return fmt.Errorf("the service exited before it was stopped (%s); its log: %s", exitStatus(s.waitErr), s.log)
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		if s.waitErr != nil {
			return fmt.Errorf("the service ended with %s on SIGTERM; its log: %s", exitStatus(s.waitErr), s.log)
		}
		return nil
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("the service did not stop within %s of SIGTERM (killed); its log: %s", stopTimeout, s.log)
	}
}

func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}
