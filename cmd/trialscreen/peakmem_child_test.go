//go:build linux

package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The shipped binary as a child process, for measuring what it holds in memory: built
// as the Dockerfile builds it, run as the Deployment runs it, its peak resident memory
// read from /proc. TRIALSCREEN_PEAKMEM_BINARY runs another build instead (an older
// commit's, to compare).

// buildServeBinary builds cmd/trialscreen as the image does (static, stripped) into a
// temporary directory. The flags are the container tests' too, so the two share the
// build cache.
func buildServeBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("TRIALSCREEN_PEAKMEM_BINARY"); bin != "" {
		return bin
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "trialscreen")
	cmd := exec.Command(goTool, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// child is a trialscreen serve process.
type child struct {
	cmd  *exec.Cmd
	logs *lockedBuffer
	base string
	done chan struct{} // closed when the process has exited
}

// startChild runs bin serve with exactly env (and PATH), listening on a loopback port
// it chooses, and waits until it logs its address.
func startChild(t *testing.T, bin string, env map[string]string) *child {
	t.Helper()
	c := &child{logs: &lockedBuffer{}, done: make(chan struct{})}
	c.cmd = exec.Command(bin, "serve", "--listen", "127.0.0.1:0")
	c.cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		c.cmd.Env = append(c.cmd.Env, k+"="+v)
	}
	c.cmd.Stderr = c.logs
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		if c.alive() {
			_ = c.cmd.Process.Kill() // ours, by its pid
			<-c.done
		}
	})
	addr := regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`)
	guard := time.After(60 * time.Second) // against a hang, not a timing
	for {
		if m := addr.FindStringSubmatch(c.logs.String()); m != nil {
			c.base = "http://" + m[1]
			return c
		}
		select {
		case <-c.done:
			t.Fatalf("serve exited before listening:\n%s", c.logs.String())
		case <-guard:
			t.Fatalf("serve did not log its address:\n%s", c.logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// peakRSS is the child's peak resident memory (VmHWM), in bytes.
func (c *child) peakRSS(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/<pid>/status")
	return 0
}

// alive reports whether the child still runs (it was not killed for its memory).
func (c *child) alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// stop ends the child as Kubernetes does (SIGTERM) and waits for it to exit.
func (c *child) stop(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
	select {
	case <-c.done:
	case <-time.After(60 * time.Second): // against a hang, not a timing
		t.Errorf("serve did not stop on SIGTERM:\n%s", c.logs.String())
	}
}

// ehrKey signs CDS Hooks calls for one test EHR.
type ehrKey struct {
	priv *ecdsa.PrivateKey
	jwks []byte
}

const (
	peakEHRIssuer = "https://ehr.peak.invalid"
	peakPublicURL = "https://trialscreen.peak.invalid"
	cdsPath       = "/cds-services/trialscreen-patient-view"
)

func newEHRKey(t *testing.T) *ehrKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := k.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	pt := pub.Bytes()[1:] // 0x04 || X || Y
	b64 := base64.RawURLEncoding.EncodeToString
	jwks, _ := json.Marshal(map[string]any{"keys": []any{map[string]string{
		"kty": "EC", "crv": "P-384", "kid": "peak", "use": "sig", "alg": "ES384", "x": b64(pt[:48]), "y": b64(pt[48:]),
	}}})
	return &ehrKey{priv: k, jwks: jwks}
}

// cdsConfigFile trusts the EHR, with its key inline.
func (k *ehrKey) cdsConfigFile(t *testing.T) string {
	t.Helper()
	cfg, _ := json.Marshal(map[string]any{"clients": []any{map[string]any{"issuer": peakEHRIssuer, "jwks": json.RawMessage(k.jwks)}}})
	return writeFile(t, "cds.json", string(cfg))
}

// token signs call n's JWT. Its times come from the service's own clock (its Date
// header): the child runs on the wall clock, which a test does not read.
func (k *ehrKey) token(t *testing.T, now time.Time, n int) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodES384, jwt.MapClaims{
		"iss": peakEHRIssuer, "sub": "peak", "aud": peakPublicURL + cdsPath,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": fmt.Sprintf("peak-%d", n),
	})
	tok.Header["kid"] = "peak"
	s, err := tok.SignedString(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// serverNow is the child's clock, from its Date header.
func (c *child) serverNow(t *testing.T) time.Time {
	t.Helper()
	resp, err := http.Get(c.base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	now, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		t.Fatalf("the service's Date header: %v", err)
	}
	return now
}

// post sends body to path with headers (name, value pairs); it returns the status and
// the answer (its first 4 MiB).
func (c *child) post(path string, body []byte, headers ...string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.do(req)
}

func (c *child) do(req *http.Request) (int, string, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20)) // a verdict with its evidence
	return resp.StatusCode, string(body), err
}
