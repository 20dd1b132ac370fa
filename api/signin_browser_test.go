package api

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"

	"github.com/trialscreen/trialscreen/internal/nodetest"
)

// needed fails a test whose real part (Chromium, Node, the provider's packages) is
// missing when CI is set (.ci/run installs them all), and skips it elsewhere.
func needed(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing (%v); .ci/run installs it", what, err)
	}
	t.Skipf("%s is missing (%v): .ci/run installs it", what, err)
}

// startOIDCProvider runs the npm package oidc-provider (oidctest/provider.js) on
// 127.0.0.1 with one client, and returns its issuer URL.
func startOIDCProvider(t *testing.T, clientID, secret, redirectURI string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	needed(t, "Node.js", err)
	_, err = os.Stat("oidctest/node_modules/oidc-provider")
	needed(t, "oidc-provider (npm ci in api/oidctest)", err)
	// The provider may take a while to start on a busy machine.
	port := nodetest.Start(t, node, "oidctest", "provider.js",
		[]string{"CLIENT_ID=" + clientID, "CLIENT_SECRET=" + secret, "REDIRECT_URI=" + redirectURI}, 2*time.Minute)
	return "http://127.0.0.1:" + port
}

// The service's client at the test provider.
const providerClientID, providerClientSecret = "trialscreen", "a-client-secret-for-the-test-provider"

// providerSignIn gets a browser test with the real OpenID provider ready: a loopback
// listener for the service, the service's public URL on it, the provider (one client
// whose redirect URI is that URL's callback; coordinator and viewer users) and the
// service's SignIn with it. Chromium must be installed (CI fails without it).
func providerSignIn(t *testing.T) (ln net.Listener, publicURL, issuer string, si *SignIn) {
	t.Helper()
	_, err := os.Stat(chromiumPath)
	needed(t, "Chromium at "+chromiumPath, err)
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	publicURL = "http://" + ln.Addr().String()
	issuer = startOIDCProvider(t, providerClientID, providerClientSecret, publicURL+"/auth/callback")
	si, err = NewSignIn(t.Context(), SignInConfig{Issuer: issuer, ClientID: providerClientID, ClientSecret: providerClientSecret,
		CoordinatorRoles: []string{"trial-coordinator"}, ViewerRoles: []string{"trial-viewer"}})
	if err != nil {
		t.Fatalf("NewSignIn: %v", err)
	}
	return ln, publicURL, issuer, si
}

// serveOn serves h on ln (the listener whose address the service's public URL names)
// until the test ends.
func serveOn(t *testing.T, ln net.Listener, h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// providerClock is the service's clock in this test: it starts at the provider's own
// time (its Date header), so that the ID tokens it issues are current, and moves on a
// millisecond at each reading. The test itself reads no wall clock.
func providerClock(t *testing.T, issuer string) func() time.Time {
	t.Helper()
	resp, err := http.Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	start, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		t.Fatalf("the provider's Date header: %v", err)
	}
	var ticks atomic.Int64
	return func() time.Time { return start.Add(time.Duration(ticks.Add(1)) * time.Millisecond) }
}

// TestSignInInBrowserWithRealProvider signs a coordinator and a viewer in through a
// real OpenID provider in headless Chromium: the report asks for sign-in, the provider's
// login form is filled in, the report opens, a coordinator-only page refuses the viewer,
// and signing out ends the session.
func TestSignInInBrowserWithRealProvider(t *testing.T) {
	ln, publicURL, issuer, si := providerSignIn(t)
	now := providerClock(t, issuer)
	// The demo patients as the record source, but not demo mode: sign-in is required.
	env := newRESTEnv(t, func(c *Config) {
		c.Demo, c.PublicURL, c.SignIn, c.Sessions, c.Now = false, publicURL, si, openStore(t, ""), now
	})
	env.s.echo.GET("/test/decide", func(c echo.Context) error { return c.HTML(http.StatusOK, "<p id=decided>decided</p>") },
		env.s.authenticate(), env.s.requireDecider())
	srv := serveOn(t, ln, env.s.Handler())

	ctx := newBrowser(t)
	clearCookies := chromedp.Action[chromedp.Void](func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, network.ClearBrowserCookies, cdp.Empty{})
		return chromedp.Void{}, err
	})
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return s
	}
	// signIn follows the 401 page's link and fills in the provider's login form.
	signIn := func(t *testing.T, login string) {
		t.Helper()
		if err := chromedp.Do(ctx, clearCookies, chromedp.Navigate(srv.URL+reportPath)); err != nil {
			t.Fatal(err)
		}
		if h := text("h1"); h != "Unauthorized" {
			t.Fatalf("before sign-in the report shows %q, want the 401 page", h)
		}
		if err := chromedp.Do(ctx,
			chromedp.Click(chromedp.ID("page-link")),
			chromedp.WaitVisible(chromedp.CSS(`input[name="login"]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name="login"]`), login),
			chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "any password"),
			chromedp.Submit(chromedp.CSS(`input[name="login"]`)),
			// The provider asks to consent to the scopes the service asked for.
			chromedp.WaitReady(chromedp.CSS(`input[name="prompt"][value="consent"]`)),
			chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
			// Back at the service: the report (#criteria) or an error page (#message).
			chromedp.WaitReady(chromedp.CSS(`#criteria, #message`)),
		); err != nil {
			t.Fatalf("signing in as %s: %v", login, err)
		}
		if h, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS(`#criteria, #message`))); err != nil || !strings.HasPrefix(h, "<table") {
			t.Fatalf("after signing in as %s the browser shows no report: %.300s (%v)", login, h, err)
		}
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil || loc != srv.URL+reportPath {
			t.Errorf("after sign-in the browser is at %q (%v), want back at the report", loc, err)
		}
	}

	t.Run("coordinator", func(t *testing.T) {
		signIn(t, "coordinator")
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/test/decide"), chromedp.WaitReady(chromedp.ID("decided"))); err != nil {
			t.Errorf("a coordinator-only page refused the coordinator: %v", err)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/signout"), chromedp.Click(chromedp.ID("page-button")),
			chromedp.WaitReady(chromedp.CSS(`a[href="/signin"]`))); err != nil {
			t.Fatalf("signing out: %v", err)
		}
		if h := text("h1"); h != "Signed out" {
			t.Errorf("after sign-out the page says %q", h)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+reportPath)); err != nil {
			t.Fatal(err)
		}
		if h := text("h1"); h != "Unauthorized" {
			t.Errorf("after sign-out the report shows %q, want the 401 page", h)
		}
	})
	t.Run("viewer", func(t *testing.T) {
		signIn(t, "viewer")
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/test/decide")); err != nil {
			t.Fatal(err)
		}
		if msg := text("#message"); !strings.Contains(msg, "this needs a coordinator") {
			t.Errorf("a coordinator-only page shows the viewer %q", msg)
		}
	})
	if audit := env.audit.String(); !strings.Contains(audit, `"user:coordinator"`) || !strings.Contains(audit, `"user:viewer"`) {
		t.Errorf("the report views are not audited under the signed-in users:\n%s", audit)
	}
	for _, secret := range []string{"Casey Coordinator", "Val Viewer", providerClientSecret, "demo-candidate"} {
		if strings.Contains(env.log.String(), secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}
