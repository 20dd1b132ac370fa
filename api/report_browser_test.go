package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/trialscreen/trialscreen/demo"
)

// chromiumPath is Debian's Chromium; .ci/run installs it (apt-get install chromium).
const chromiumPath = "/usr/bin/chromium"

// newBrowser starts a headless Chromium with a fresh profile, for this test only.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			// Under CI a skip would hide that nothing was checked: fail instead.
			t.Fatalf("no Chromium at %s (%v) and CI=true: .ci/run must install Debian's chromium package", chromiumPath, err)
		}
		t.Skipf("no Chromium at %s (%v): the browser test needs Debian's chromium package, which .ci/run installs (apt-get install chromium)", chromiumPath, err)
	}
	// The bound is for a wedged browser, not a timing: a run takes seconds, but minutes
	// on a busy machine. It ends shortly before the test binary's own deadline, so that
	// a wedged browser fails this test (screenshots kept) rather than go test's timeout.
	ctx, cancel := context.WithCancel(t.Context())
	if d, ok := t.Deadline(); ok {
		ctx, cancel = context.WithDeadline(t.Context(), d.Add(-30*time.Second))
	}
	t.Cleanup(cancel)
	opts := append(browserOptions(), chromedp.UserDataDir(t.TempDir()))
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelBrowser := chromedp.NewContext(ctx)
	t.Cleanup(cancelBrowser)
	// The first Run starts the browser, so that a broken install fails here, clearly.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 900)); err != nil {
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	return ctx
}

// browserOptions are chromedp's defaults with the flags that keep the browser
// quiet and local: no sandbox (CI runs as root), no GPU, no network of its own.
func browserOptions() []chromedp.ExecAllocatorOption {
	return append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		// chromedp gives a starting browser 20 s to say where it listens; a busy
		// machine can take longer. This too is only a guard against a wedged start.
		chromedp.WSURLReadTimeout(5*time.Minute),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
}

// tableShown is where the browser laid out the criteria table, in CSS pixels of the page.
type tableShown struct {
	Found     bool    `json:"found"`
	Rows      int     `json:"rows"`
	X         float64 `json:"x"`
	Y         float64 `json:"y"`
	Width     float64 `json:"width"`
	Height    float64 `json:"height"`
	PageWidth float64 `json:"pageWidth"`
}

const measureTable = `(() => {
	const t = document.getElementById('criteria');
	const pageWidth = document.documentElement.scrollWidth;
	if (!t) return {found: false, rows: 0, x: 0, y: 0, width: 0, height: 0, pageWidth};
	const r = t.getBoundingClientRect();
	return {found: true, rows: t.querySelectorAll('tr[data-criterion]').length,
		x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height, pageWidth};
})()`

// checkCriteriaTable opens url and checks that the page shows its criteria table: the
// table exists with wantRows criterion rows, is laid out with a real size, and the
// full-page screenshot has drawn content (text, borders, colours) where the table is.
// It returns the screenshot (PNG) whenever it got one.
func checkCriteriaTable(ctx context.Context, url string, wantRows int) ([]byte, error) {
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return nil, fmt.Errorf("opening %s: %w", url, err)
	}
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[tableShown](measureTable))
	if err != nil {
		return nil, fmt.Errorf("measuring the table: %w", err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return nil, fmt.Errorf("taking the screenshot: %w", err)
	}
	switch {
	case !shown.Found:
		return shot, fmt.Errorf("the page has no #criteria table")
	case shown.Rows != wantRows:
		return shot, fmt.Errorf("the table has %d criterion rows, want %d", shown.Rows, wantRows)
	case shown.Width < 600 || shown.Height < float64(wantRows)*20:
		return shot, fmt.Errorf("the table is laid out %.0f x %.0f px, too small for %d rows (hidden?)", shown.Width, shown.Height, wantRows)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		return shot, fmt.Errorf("the screenshot is not a PNG: %w", err)
	}
	b := img.Bounds()
	if b.Dx() < 1000 || b.Dy() < 1500 || b.Dy() > 40000 {
		return shot, fmt.Errorf("the screenshot is %d x %d px, not a whole report page", b.Dx(), b.Dy())
	}
	// Map the table's box to screenshot pixels (the device scale may not be 1).
	scale := float64(b.Dx()) / shown.PageWidth
	region := image.Rect(int(shown.X*scale), int(shown.Y*scale), int((shown.X+shown.Width)*scale), int((shown.Y+shown.Height)*scale)).Intersect(b)
	if region.Dy() < int(shown.Height*scale)-2 {
		return shot, fmt.Errorf("the screenshot (%v) does not hold the whole table (%v)", b, region)
	}
	colours, inked := inkIn(img, region)
	if frac := float64(inked) / float64(region.Dx()*region.Dy()); colours < 32 || frac < 0.03 {
		return shot, fmt.Errorf("the table's region %v of the screenshot looks blank: %d colours, %.1f%% non-white pixels", region, colours, 100*frac)
	}
	return shot, nil
}

// inkIn counts the distinct colours in r and the pixels that are not (nearly) white.
// An RGBA image (what a PNG screenshot decodes to) is read from its bytes: At boxes a
// colour per pixel, which makes a full page seconds of work under the race detector,
// and minutes on a busy machine.
func inkIn(img image.Image, r image.Rectangle) (colours, inked int) {
	seen := map[[3]uint8]bool{}
	count := func(cr, cg, cb uint8) {
		if c := [3]uint8{cr, cg, cb}; !seen[c] {
			seen[c] = true
		}
		if cr < 240 || cg < 240 || cb < 240 {
			inked++
		}
	}
	if m, ok := img.(*image.RGBA); ok {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := m.Pix[m.PixOffset(r.Min.X, y):m.PixOffset(r.Max.X, y)]
			for i := 0; i+3 < len(row); i += 4 {
				count(row[i], row[i+1], row[i+2])
			}
		}
		return len(seen), inked
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			count(uint8(cr>>8), uint8(cg>>8), uint8(cb>>8))
		}
	}
	return len(seen), inked
}

// keepScreenshot writes a screenshot to the test's directory and, when
// TRIALSCREEN_SCREENSHOT_DIR is set, there too, for a person to look at.
func keepScreenshot(t *testing.T, name string, shot []byte) {
	t.Helper()
	dirs := []string{t.TempDir()}
	if d := os.Getenv("TRIALSCREEN_SCREENSHOT_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, name), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReportInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	s := newReportServer(t, nil)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)

	for _, id := range demo.PatientIDs() {
		t.Run(id, func(t *testing.T) {
			shot, err := checkCriteriaTable(ctx, srv.URL+"/test-report/"+id, 39)
			if shot != nil {
				keepScreenshot(t, "report-"+id+".png", shot)
			}
			if err != nil {
				t.Fatal(err)
			}
			// The stylesheet applied, so the Content-Security-Policy's hash matches it,
			// and outcomes differ in colour as well as in words.
			styled, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`(() => {
				const out = {verdictBorder: getComputedStyle(document.getElementById('verdict')).borderLeftWidth};
				for (const o of ['pass', 'fail', 'unknown', 'review']) {
					const b = document.querySelector('tr[data-outcome="' + o + '"] .badge');
					if (b) out[o] = getComputedStyle(b).backgroundColor;
				}
				return out;
			})()`))
			if err != nil {
				t.Fatal(err)
			}
			if styled["verdictBorder"] != "10px" {
				t.Errorf("the verdict's border is %q, want 10px: the page's style did not apply (CSP hash?)", styled["verdictBorder"])
			}
			colours := map[string]string{} // colour -> outcome
			present := 0
			for _, o := range []string{"pass", "fail", "unknown", "review"} {
				c, ok := styled[o]
				if !ok {
					continue
				}
				present++
				if other, dup := colours[c]; dup {
					t.Errorf("outcomes %s and %s have the same badge colour %s", other, o, c)
				}
				colours[c] = o
			}
			if present < 2 {
				t.Errorf("badge colours %v: every demo patient has at least two outcomes", styled)
			}
		})
	}

	// A card's stored report, opened from its link, with the section on what changed
	// since the previous card: shown, and the criteria table still laid out whole.
	t.Run("changes since the previous screening", func(t *testing.T) {
		env := linkReplica(t, openStore(t, ""))
		noLabs := cdsDemoPrefetch(t, "candidate")
		noLabs["Observation"] = json.RawMessage("null")
		status, body, _ := env.post(t, env.key.token(t, nil), cdsHookBody("demo-candidate", noLabs))
		cdsOneCard(t, status, body)
		status, body, _ = env.post(t, env.key.token(t, nil), cdsHookBody("demo-candidate", cdsDemoPrefetch(t, "candidate")))
		card := cdsOneCard(t, status, body)
		cardSrv := httptest.NewServer(env.h)
		t.Cleanup(cardSrv.Close)
		shot, err := checkCriteriaTable(ctx, cardSrv.URL+pathOf(t, card.Links[0].URL), 39)
		if shot != nil {
			keepScreenshot(t, "report-changes.png", shot)
		}
		if err != nil {
			t.Fatal(err)
		}
		changes, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]float64](`(() => {
			const s = document.getElementById('changes');
			if (!s) return {height: 0, rows: 0};
			return {height: s.getBoundingClientRect().height, rows: s.querySelectorAll('tr[data-criterion]').length};
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		if changes["rows"] < 3 || changes["height"] < 20*changes["rows"] {
			t.Errorf("the changes section: %v; want it laid out with the criteria that changed", changes)
		}
	})

	t.Run("prints", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/test-report/demo-insufficient-data")); err != nil {
			t.Fatal(err)
		}
		// As the print dialog would: the page's own @page size, backgrounds on.
		pdf, err := chromedp.Run(ctx, chromedp.PrintToPDF(func(p *page.PrintToPDFParams) {
			yes := true
			p.PreferCSSPageSize, p.PrintBackground = &yes, &yes
		}))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(pdf, []byte("%PDF-")) || len(pdf) < 20_000 {
			t.Fatalf("printing gave %d bytes starting %q, want a PDF of the report", len(pdf), pdf[:min(len(pdf), 8)])
		}
		keepScreenshot(t, "report-demo-insufficient-data.pdf", pdf)
	})
}

// TestCriteriaTableCheckFails shows that the screenshot check fails when the page does
// not show its criteria table: missing, hidden, or laid out but drawn blank.
func TestCriteriaTableCheckFails(t *testing.T) {
	ctx := newBrowser(t)
	s := newReportServer(t, nil)
	// The real page, changed; served without its CSP so the changes may use inline style.
	variant := func(change func(string) string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/test-report/demo-candidate", nil))
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, change(rec.Body.String()))
		}
	}
	cutTable := func(page string) string {
		before, rest, _ := strings.Cut(page, `<table id="criteria">`)
		_, after, _ := strings.Cut(rest, "</table>")
		return before + after
	}
	tests := []struct {
		name    string
		change  func(string) string
		wantErr string
	}{
		{"unchanged passes", func(p string) string { return p }, ""},
		{"missing", cutTable, "no #criteria table"},
		{"hidden", func(p string) string {
			return strings.Replace(p, `<table id="criteria">`, `<table id="criteria" style="display:none">`, 1)
		}, "too small"},
		{"drawn blank", func(p string) string {
			return strings.Replace(p, `<table id="criteria">`, `<table id="criteria" style="visibility:hidden">`, 1)
		}, "looks blank"},
	}
	mux := http.NewServeMux()
	for i, tt := range tests {
		mux.Handle(fmt.Sprintf("/variant/%d", i), variant(tt.change))
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := checkCriteriaTable(ctx, fmt.Sprintf("%s/variant/%d", srv.URL, i), 39)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("the check failed on the real page: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("the check passed a page whose table is %s", tt.name)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q, want one saying %q", err, tt.wantErr)
			}
		})
	}
}
