package containertest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// ciSocket is where .ci/run starts its Docker engine.
const ciSocket = "/run/trialscreen-docker.sock"

// dockerProblem says why the Docker tests skip; empty when an engine answers.
var dockerProblem string

func TestMain(m *testing.M) {
	// testcontainers reads these once, so they are set before its first call. Without the
	// host override it would dial the machine's gateway address instead of loopback; the
	// reaper would need an image from a registry.
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
	if os.Getenv("DOCKER_HOST") == "" {
		if _, err := os.Stat("/var/run/docker.sock"); err != nil {
			if _, err := os.Stat(ciSocket); err == nil {
				os.Setenv("DOCKER_HOST", "unix://"+ciSocket)
			}
		}
	}
	dockerProblem = pingDocker()
	code := m.Run()
	if err := teardown(); err != nil {
		fmt.Fprintln(os.Stderr, "containertest: teardown:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// pingDocker reports why no Docker engine can be used, or "" when one answers.
func pingDocker() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err == nil {
		defer cli.Close()
		_, err = cli.Ping(ctx, client.PingOptions{})
	}
	if err != nil {
		return fmt.Sprintf("no Docker engine is reachable (DOCKER_HOST=%q): %v; "+
			".ci/run installs Debian's docker.io and starts dockerd on %s", os.Getenv("DOCKER_HOST"), err, ciSocket)
	}
	return ""
}

// requireDocker skips t when no Docker engine answers.
func requireDocker(t *testing.T) {
	t.Helper()
	if dockerProblem != "" {
		t.Skip("skipping the container tests: " + dockerProblem)
	}
}
