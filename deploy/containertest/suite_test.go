package containertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
)

// suite is what the tests share: the images, a private network, one FHIR server and
// one service container in front of it. It is built once, on first use, and TestMain
// removes everything it created.
type suite struct {
	provider   *testcontainers.DockerProvider
	docker     client.APIClient
	tmp        string
	serviceImg string
	stubImg    string
	net        *testcontainers.DockerNetwork
	fhir       *fhirServer
	service    *service
}

var (
	shared     *suite
	sharedErr  error
	sharedOnce sync.Once

	cleanupMu sync.Mutex
	cleanups  []func(context.Context) error // run last first by teardown
)

// needSuite skips without Docker, and otherwise returns the shared containers.
func needSuite(t *testing.T) *suite {
	t.Helper()
	requireDocker(t)
	sharedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		shared, sharedErr = newSuite(ctx)
	})
	if sharedErr != nil {
		t.Fatalf("setting up the containers: %v", sharedErr)
	}
	return shared
}

func addCleanup(f func(context.Context) error) {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	cleanups = append(cleanups, f)
}

// teardown removes every container, network, image and directory the tests made.
func teardown() error {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var errs []error
	for i := len(cleanups) - 1; i >= 0; i-- {
		errs = append(errs, cleanups[i](ctx))
	}
	cleanups = nil
	return errors.Join(errs...)
}

func newSuite(ctx context.Context) (*suite, error) {
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		return nil, fmt.Errorf("docker provider: %w", err)
	}
	addCleanup(func(context.Context) error { return p.Close() })
	s := &suite{provider: p, docker: p.Client()}
	if s.tmp, err = os.MkdirTemp("", "trialscreen-containertest-"); err != nil {
		return nil, err
	}
	addCleanup(func(context.Context) error { return os.RemoveAll(s.tmp) })
	if err := s.buildBinaries(ctx); err != nil {
		return nil, err
	}
	if s.serviceImg, err = s.buildImage(ctx, "trialscreen"); err != nil {
		return nil, err
	}
	if s.stubImg, err = s.buildImage(ctx, "fhirstub"); err != nil {
		return nil, err
	}
	s.net, err = network.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	addCleanup(s.net.Remove)
	if img := os.Getenv("FHIR_TEST_IMAGE"); img != "" {
		s.fhir, err = s.startHAPI(ctx, img)
	} else {
		s.fhir, err = s.startStub(ctx, "fhir")
	}
	if err != nil {
		return nil, err
	}
	s.service, err = s.startService(ctx, serviceOptions{fhirURL: s.fhir.base})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// buildBinaries builds the service and the FHIR stub as static Linux binaries: the
// images are FROM scratch.
func (s *suite) buildBinaries(ctx context.Context) error {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return fmt.Errorf("the module root is not %s: %w", root, err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w",
		"-o", filepath.Join(s.tmp, "bin")+string(filepath.Separator), "./cmd/trialscreen", "./cmd/fhirstub")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	return nil
}

// buildImage builds images/NAME.Dockerfile with the binary NAME as its whole context,
// and returns the image's tag.
func (s *suite) buildImage(ctx context.Context, name string) (string, error) {
	dir := filepath.Join(s.tmp, "image-"+name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.Link(filepath.Join(s.tmp, "bin", name), filepath.Join(dir, name)); err != nil {
		return "", err
	}
	df, err := os.ReadFile(filepath.Join("images", name+".Dockerfile"))
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), df, 0o644); err != nil {
		return "", err
	}
	req := testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
		Context: dir, Repo: "trialscreen-containertest-" + name, Tag: testcontainers.SessionID()[:12], KeepImage: true,
	}}
	tag, err := s.provider.BuildImage(ctx, &req)
	if err != nil {
		return "", fmt.Errorf("building the %s image: %w", name, err)
	}
	addCleanup(func(ctx context.Context) error {
		_, err := s.docker.ImageRemove(ctx, tag, client.ImageRemoveOptions{Force: true, PruneChildren: true})
		return err
	})
	return tag, nil
}

// run starts a container and registers its removal, also when it failed to start.
func (s *suite) run(ctx context.Context, req testcontainers.ContainerRequest) (testcontainers.Container, error) {
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true})
	if c != nil {
		addCleanup(func(ctx context.Context) error { return c.Terminate(ctx) })
	}
	if err != nil {
		return nil, fmt.Errorf("container %s: %w%s", req.Image, err, tail(ctx, c))
	}
	return c, nil
}

// tail is the end of a container's log, to explain a failed start.
func tail(ctx context.Context, c testcontainers.Container) string {
	if c == nil {
		return ""
	}
	rc, err := c.Logs(ctx)
	if err != nil {
		return ""
	}
	defer rc.Close()
	b, _ := readLast(rc, 4096)
	return "\ncontainer log (end):\n" + string(b)
}
