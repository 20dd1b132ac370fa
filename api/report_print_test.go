package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/trialscreen/trialscreen/demo"
)

// paper is a sheet the report must print on, portrait, in inches (as PrintToPDF takes it).
type paper struct {
	name          string
	width, height float64
}

var papers = []paper{{"A4", 210 / 25.4, 297 / 25.4}, {"Letter", 8.5, 11}}

// maxPrintedPages is what a typical patient's report may print to: a sheet a
// coordinator files, not a bundle.
const maxPrintedPages = 3

// printedPageRE matches a page object of a PDF ("/Type /Page", not "/Type /Pages").
var printedPageRE = regexp.MustCompile(`/Type\s*/Page\b[^s]`)

// printReport prints the page open in ctx on p, portrait, backgrounds on, as a person
// printing from the browser would, and returns the PDF with its page count.
func printReport(ctx context.Context, p paper) ([]byte, int, error) {
	pdf, err := chromedp.Run(ctx, chromedp.PrintToPDF(func(params *page.PrintToPDFParams) {
		yes := true
		params.PrintBackground = &yes
		params.PaperWidth, params.PaperHeight = p.width, p.height
	}))
	if err != nil {
		return nil, 0, fmt.Errorf("printing on %s: %w", p.name, err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		return pdf, 0, fmt.Errorf("printing on %s gave %d bytes starting %q, not a PDF", p.name, len(pdf), pdf[:min(len(pdf), 8)])
	}
	return pdf, len(printedPageRE.FindAll(pdf, -1)), nil
}

// findOverlaps lays the open page out as printed on p (print media, the sheet's width
// less the page margins) and lists the boxes that overlap: a badge or count running
// out of its cell or over other text, text over text. Inline text that wraps is left
// out (its box is the union of its lines), so the boxes compared are blocks and badges.
const findOverlaps = `(() => {
	const sel = '#patient-name, .meta div, #verdict .verdict-text, .counts li, .todo li, ' +
		'#criteria th, #criteria td, .badge, .reason, .cid, .ctext, .threshold, .obtain, .ev-item, footer';
	const els = [...document.querySelectorAll(sel)].filter(e => e.getClientRects().length > 0);
	const rs = els.map(e => e.getBoundingClientRect());
	const name = e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ')[0] : '') +
		(e.closest('[data-criterion]') ? ' in ' + e.closest('[data-criterion]').dataset.criterion : '');
	const out = [];
	// A badge or a count stays inside its cell or box, clear of the cell's padding (so
	// that it never touches the next column's text).
	for (const b of document.querySelectorAll('.badge, .counts li')) {
		const box = b.closest('td, section'), r = b.getBoundingClientRect(), c = box.getBoundingClientRect();
		const st = getComputedStyle(box);
		const left = c.left + parseFloat(st.paddingLeft), right = c.right - parseFloat(st.paddingRight);
		if (r.left < left - 0.5 || r.right > right + 0.5) out.push(name(b) + ' runs out of its ' + name(box));
	}
	for (let i = 0; i < els.length; i++) {
		for (let j = i + 1; j < els.length; j++) {
			const a = els[i], b = els[j];
			if (a.contains(b) || b.contains(a)) continue;
			const w = Math.min(rs[i].right, rs[j].right) - Math.max(rs[i].left, rs[j].left);
			const h = Math.min(rs[i].bottom, rs[j].bottom) - Math.max(rs[i].top, rs[j].top);
			if (w > 1 && h > 1) out.push(name(a) + ' overlaps ' + name(b));
		}
	}
	return out.slice(0, 10);
})()`

// checkPrintLayout emulates print media at the printable width of p and returns the
// overlapping boxes found, with a screenshot of the page so laid out.
func checkPrintLayout(ctx context.Context, p paper) ([]string, []byte, error) {
	const marginsMM = 20 // @page margin: 10 mm a side
	width := int64((p.width*25.4 - marginsMM) / 25.4 * 96)
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		return nil, nil, err
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 1000)); err != nil {
		return nil, nil, err
	}
	// Back to the screen for the next check (an error here shows on its next step).
	defer func() {
		_, _ = chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{})
		_ = chromedp.Do(ctx, chromedp.EmulateViewport(1366, 900))
	}()
	overlaps, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](findOverlaps))
	if err != nil {
		return nil, nil, err
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	return overlaps, shot, err
}

// TestReportPrints prints every demo patient's report on A4 and Letter, portrait: at
// most three pages each, and nothing overlapping (badges over text, as portrait once
// did), checked with the page laid out for print at the sheet's width.
func TestReportPrints(t *testing.T) {
	ctx := newBrowser(t)
	s := newReportServer(t, nil)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	for _, id := range demo.PatientIDs() {
		for _, p := range papers {
			t.Run(id+"/"+p.name, func(t *testing.T) {
				if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/test-report/"+id)); err != nil {
					t.Fatal(err)
				}
				pdf, pages, err := printReport(ctx, p)
				if pdf != nil {
					keepScreenshot(t, "report-"+id+"-"+p.name+".pdf", pdf)
				}
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s on %s: %d pages", id, p.name, pages)
				if pages < 1 || pages > maxPrintedPages {
					t.Errorf("prints to %d pages on %s, want 1 to %d", pages, p.name, maxPrintedPages)
				}
				overlaps, shot, err := checkPrintLayout(ctx, p)
				if shot != nil {
					keepScreenshot(t, "report-"+id+"-"+p.name+"-print.png", shot)
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(overlaps) > 0 {
					t.Errorf("laid out for %s, boxes overlap:\n%s", p.name, strings.Join(overlaps, "\n"))
				}
			})
		}
	}
}

// TestPrintChecksFail shows that the print checks catch what they are for: a report
// that runs long, and a badge drawn over the text beside it.
func TestPrintChecksFail(t *testing.T) {
	ctx := newBrowser(t)
	s := newReportServer(t, nil)
	// The real page with a style added; served without its CSP so the style applies.
	variant := func(style string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/test-report/demo-candidate", nil))
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, strings.Replace(rec.Body.String(), "</head>", "<style>"+style+"</style></head>", 1))
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/long", variant("#criteria tbody tr { height: 200px; }"))
	mux.Handle("/badge", variant(".badge { white-space: nowrap; min-width: 260px; } #criteria .w-out { width: 3em; }"))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	t.Run("runs long", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/long")); err != nil {
			t.Fatal(err)
		}
		_, pages, err := printReport(ctx, papers[0])
		if err != nil {
			t.Fatal(err)
		}
		if pages <= maxPrintedPages {
			t.Errorf("a report with 200 px rows printed to %d pages: the page count does not see length", pages)
		}
	})
	t.Run("badge over text", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/badge")); err != nil {
			t.Fatal(err)
		}
		overlaps, _, err := checkPrintLayout(ctx, papers[0])
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(overlaps, "\n"), "span.badge") {
			t.Errorf("a 260 px badge in a 3 em column: overlaps found %q, want the badge named", overlaps)
		}
	})
}
