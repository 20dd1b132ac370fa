package containertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	mobynet "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// fhirServer is the FHIR server container, reached by the service at base.
type fhirServer struct {
	docker client.APIClient
	ctr    testcontainers.Container
	kind   string // "fhirstub" or the HAPI image
	base   string // inside the private network, e.g. http://fhir:8080/fhir
}

func (f *fhirServer) stop(ctx context.Context) error {
	timeout := 10 * time.Second
	return f.ctr.Stop(ctx, &timeout)
}

func (f *fhirServer) start(ctx context.Context) error { return f.ctr.Start(ctx) }

func (f *fhirServer) pause(ctx context.Context) error {
	_, err := f.docker.ContainerPause(ctx, f.ctr.GetContainerID(), client.ContainerPauseOptions{})
	return err
}

func (f *fhirServer) unpause(ctx context.Context) error {
	_, err := f.docker.ContainerUnpause(ctx, f.ctr.GetContainerID(), client.ContainerUnpauseOptions{})
	return err
}

// startStub runs cmd/fhirstub with the demo patients under a network alias; it
// publishes no port: only the service talks to it.
func (s *suite) startStub(ctx context.Context, alias string, args ...string) (*fhirServer, error) {
	return s.startStubLogged(ctx, alias, nil, args...)
}

func (s *suite) startStubLogged(ctx context.Context, alias string, logs testcontainers.LogConsumer, args ...string) (*fhirServer, error) {
	req := testcontainers.ContainerRequest{
		Image:          s.stubImg,
		Cmd:            append([]string{"-demo", "-listen", ":8080"}, args...),
		Networks:       []string{s.net.Name},
		NetworkAliases: map[string][]string{s.net.Name: {alias}},
		WaitingFor:     wait.ForLog(`"msg":"listening"`).WithStartupTimeout(30 * time.Second),
	}
	if logs != nil {
		req.LogConsumerCfg = &testcontainers.LogConsumerConfig{Consumers: []testcontainers.LogConsumer{logs}}
	}
	c, err := s.run(ctx, req)
	if err != nil {
		return nil, err
	}
	return &fhirServer{docker: s.docker, ctr: c, kind: "fhirstub", base: "http://" + alias + ":8080/fhir"}, nil
}

// service is a trialscreen container, reached from the tests at base (the API) and
// ops (metrics and probes) on 127.0.0.1.
type service struct {
	ctr   testcontainers.Container
	base  string
	ops   string
	port  string
	token string
}

type serviceOptions struct {
	fhirURL string
	env     map[string]string
	logs    testcontainers.LogConsumer
}

// tokensPath is where the callers' tokens file is put, as a mounted secret would be.
const tokensPath = "/run/secrets/trialscreen/api-tokens"

// startService runs `trialscreen serve` on the FHIR server at o.fhirURL, with caller
// auth by a fresh static token. Its ports (the API's and the operators') are published
// on 127.0.0.1 only. Request timeout and breaker cooldown are short so that the drills
// take seconds.
func (s *suite) startService(ctx context.Context, o serviceOptions) (*service, error) {
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	token := hex.EncodeToString(raw)
	env := map[string]string{
		"TRIALSCREEN_FHIR_URL":              o.fhirURL,
		"TRIALSCREEN_API_TOKENS_FILE":       tokensPath,
		"TRIALSCREEN_REQUEST_TIMEOUT":       "5s",
		"TRIALSCREEN_FHIR_BREAKER_COOLDOWN": "5s",
	}
	for k, v := range o.env {
		env[k] = v
	}
	req := testcontainers.ContainerRequest{
		Image:              s.serviceImg,
		Cmd:                []string{"serve"},
		Env:                env,
		Networks:           []string{s.net.Name},
		ExposedPorts:       []string{"8080/tcp", "9090/tcp"},
		HostConfigModifier: loopbackPort("8080/tcp", "9090/tcp"),
		Files: []testcontainers.ContainerFile{{
			Reader:            strings.NewReader("containertest " + token + "\n"),
			ContainerFilePath: tokensPath,
			FileMode:          0o444,
		}},
		WaitingFor: wait.ForAll(
			wait.ForHTTP("/healthz").WithPort("8080/tcp"),
			wait.ForHTTP("/healthz").WithPort("9090/tcp"),
		).WithDeadline(30 * time.Second),
	}
	if o.logs != nil {
		req.LogConsumerCfg = &testcontainers.LogConsumerConfig{Consumers: []testcontainers.LogConsumer{o.logs}}
	}
	c, err := s.run(ctx, req)
	if err != nil {
		return nil, err
	}
	host, err := c.Host(ctx)
	if err != nil {
		return nil, err
	}
	// The tests talk to 127.0.0.1 only: never to a gateway or another address.
	if host != "127.0.0.1" {
		return nil, fmt.Errorf("testcontainers gives host %q, want 127.0.0.1 (TESTCONTAINERS_HOST_OVERRIDE)", host)
	}
	port, err := c.MappedPort(ctx, "8080/tcp")
	if err != nil {
		return nil, err
	}
	opsPort, err := c.MappedPort(ctx, "9090/tcp")
	if err != nil {
		return nil, err
	}
	return &service{ctr: c, base: "http://127.0.0.1:" + port.Port(), ops: "http://127.0.0.1:" + opsPort.Port(), port: port.Port(), token: token}, nil
}

// readLast reads r to the end and keeps its last n bytes.
func readLast(r io.Reader, n int) ([]byte, error) {
	b, err := io.ReadAll(r)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return b, err
}

// loopbackPort publishes container ports on 127.0.0.1 only, each at a free host port.
func loopbackPort(ports ...string) func(*container.HostConfig) {
	return func(hc *container.HostConfig) {
		hc.PortBindings = mobynet.PortMap{}
		for _, p := range ports {
			hc.PortBindings[mobynet.MustParsePort(p)] = []mobynet.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1")}}
		}
	}
}
