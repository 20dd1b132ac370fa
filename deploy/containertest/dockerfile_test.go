package containertest

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mobynet "github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// TestReleaseDockerfile builds the repository's Dockerfile and runs the image in demo
// mode. Its base images come from a registry; where they are not present locally (no
// registry here) it skips. CONTAINERTEST_GO_IMAGE and CONTAINERTEST_RUNTIME_IMAGE name
// local stand-ins, as GO_IMAGE and RUNTIME_IMAGE would name a mirror.
func TestReleaseDockerfile(t *testing.T) {
	requireDocker(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	args, err := dockerfileArgs(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	bases := map[string]string{"GO_IMAGE": "CONTAINERTEST_GO_IMAGE", "RUNTIME_IMAGE": "CONTAINERTEST_RUNTIME_IMAGE"}
	for arg, env := range bases {
		if args[arg] == "" {
			t.Fatalf("the Dockerfile has no default for ARG %s: base images must be build arguments", arg)
		}
		if v := os.Getenv(env); v != "" {
			args[arg] = v
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for arg := range bases {
		if _, err := p.Client().ImageInspect(ctx, args[arg]); err != nil {
			t.Skipf("skipping the release image build: base image %s=%s is not present locally and no registry is reachable here "+
				"(build it where one is, or set %s to a local image)", arg, args[arg], bases[arg])
		}
	}

	buildArgs := map[string]*string{}
	for k, v := range map[string]string{
		"GO_IMAGE": args["GO_IMAGE"], "RUNTIME_IMAGE": args["RUNTIME_IMAGE"],
		// Fixed values, the build date too: the test reads no calendar.
		"VERSION": "0.0.0-containertest", "REVISION": "containertest", "CREATED": "2026-11-20T12:00:00Z",
	} {
		buildArgs[k] = &v
	}
	var buildLog bytes.Buffer // shown when the build fails
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{Started: true, ContainerRequest: testcontainers.ContainerRequest{
		FromDockerfile:     testcontainers.FromDockerfile{Context: root, Dockerfile: "Dockerfile", BuildArgs: buildArgs, BuildLogWriter: &buildLog},
		ExposedPorts:       []string{"8080/tcp"},
		HostConfigModifier: loopbackPort("8080/tcp"),
		WaitingFor:         wait.ForHTTP("/healthz").WithPort("8080/tcp").WithStartupTimeout(30 * time.Second),
	}})
	if c != nil {
		defer func() { _ = c.Terminate(context.Background()) }()
	}
	if err != nil {
		t.Fatalf("build and run the release image: %v\nbuild log:\n%s", err, buildLog.String())
	}
	port, err := c.MappedPort(ctx, "8080/tcp")
	if err != nil {
		t.Fatal(err)
	}
	sv := &service{ctr: c, base: "http://127.0.0.1:" + port.Port()}

	t.Run("serves the demo by default", func(t *testing.T) {
		a := sv.get(ctx, "/v1/patients/demo-candidate/screening", false)
		if _, v, err := verdictOf(a.body); a.status != 200 || err != nil || v != wantVerdict["demo-candidate"] {
			t.Errorf("demo screening: %d %q %v", a.status, v, err)
		}
	})
	t.Run("image configuration", func(t *testing.T) {
		ins, err := c.Inspect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cfg := ins.Config
		if cfg.User != "65532:65532" {
			t.Errorf("user %q, want 65532:65532", cfg.User)
		}
		if cfg.Healthcheck != nil {
			t.Errorf("the image has a HEALTHCHECK %v; Kubernetes probes do that", cfg.Healthcheck.Test)
		}
		if strings.Join(cfg.Cmd, " ") != "serve" {
			t.Errorf("CMD %q, want serve", cfg.Cmd)
		}
		for _, p := range []string{"8080/tcp", "9090/tcp"} { // the API; metrics and probes
			if _, ok := cfg.ExposedPorts[mobynet.MustParsePort(p)]; !ok {
				t.Errorf("the image does not EXPOSE %s (it exposes %v)", p, cfg.ExposedPorts)
			}
		}
		for _, l := range []string{"title", "description", "version", "revision", "created", "source", "licenses"} {
			if cfg.Labels["org.opencontainers.image."+l] == "" {
				t.Errorf("no label org.opencontainers.image.%s", l)
			}
		}
		if v := cfg.Labels["org.opencontainers.image.version"]; v != "0.0.0-containertest" {
			t.Errorf("version label %q, want the VERSION build argument", v)
		}
	})
	t.Run("ships the protocol and the demo patients", func(t *testing.T) {
		for _, f := range []string{"/protocols/anti-bcma-cart-rrmm.yaml", "/demo/patients/candidate.json"} {
			rc, err := c.CopyFileFromContainer(ctx, f)
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			if len(b) == 0 {
				t.Errorf("%s is empty", f)
			}
		}
	})
}

// dockerfileArgs reads the defaults of a Dockerfile's ARG lines.
func dockerfileArgs(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	args := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "ARG "); ok {
			k, v, _ := strings.Cut(strings.TrimSpace(rest), "=")
			args[k] = strings.Trim(v, `"`)
		}
	}
	return args, sc.Err()
}
