package funnel

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

func renderHTML(t *testing.T, f *Funnel) (string, *html.Node) {
	t.Helper()
	var b bytes.Buffer
	if err := f.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatalf("the page does not parse: %v", err)
	}
	return b.String(), doc
}

func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	return strings.Contains(" "+attr(n, "class")+" ", " "+class+" ")
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

func named(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == tag }
}

func TestHTMLPage(t *testing.T) {
	p := defaultProtocol(t)
	n := len(p.CriterionIDs())
	f := funnelOf(p, fivePatients(p))
	_, doc := renderHTML(t, f)

	if h := findAll(doc, func(n *html.Node) bool { return n.DataAtom == atom.Html }); len(h) != 1 || attr(h[0], "lang") != "en" {
		t.Errorf("html element without lang=en")
	}
	if h1 := findAll(doc, named("h1")); len(h1) != 1 {
		t.Errorf("%d h1 elements, want 1", len(h1))
	}
	if h2 := findAll(doc, named("h2")); len(h2) != 5 {
		t.Errorf("%d h2 elements, want 5", len(h2))
	}
	// Self-contained: no scripts, nothing loaded from elsewhere.
	if s := findAll(doc, func(n *html.Node) bool {
		return n.Data == "script" || n.Data == "link" || n.Data == "img" || attr(n, "src") != ""
	}); len(s) != 0 {
		t.Errorf("the page loads or runs something: %v", s[0].Data)
	}

	svgs := findAll(doc, func(n *html.Node) bool { return n.Data == "svg" && hasClass(n, "chart") })
	if len(svgs) != 2 {
		t.Fatalf("%d charts, want 2", len(svgs))
	}
	for _, s := range svgs {
		if attr(s, "role") != "img" || attr(s, "aria-labelledby") == "" {
			t.Errorf("chart without role=img and a label")
		}
	}

	// Attrition: one bar per criterion, as long as the patients remaining after it, with
	// the number written next to it (colour is not the only carrier).
	steps := f.Report().Attrition.Steps
	bars := findAll(svgs[0], func(n *html.Node) bool { return n.Data == "rect" && hasClass(n, "bar") })
	if len(bars) != n {
		t.Fatalf("%d attrition bars, want one per criterion (%d)", len(bars), n)
	}
	for i, b := range bars {
		w, _ := strconv.ParseFloat(attr(b, "width"), 64)
		if want := float64(steps[i].After) * barWidth / 5; w != want {
			t.Errorf("bar %d (%s) width %v, want %v", i, steps[i].Criterion, w, want)
		}
	}
	rows := findAll(svgs[0], named("g"))
	if len(rows) != n {
		t.Fatalf("%d attrition rows, want %d", len(rows), n)
	}
	if got := text(rows[8]); !strings.Contains(got, "platelets") || !strings.Contains(got, "3 remaining (60%), 1 removed") {
		t.Errorf("platelets row reads %q", got)
	}

	// Outcomes: one stacked bar per criterion, segments filling the full width.
	stacks := findAll(svgs[1], func(n *html.Node) bool { return n.Data == "g" && hasClass(n, "stack") })
	if len(stacks) != n {
		t.Fatalf("%d stacked bars, want %d", len(stacks), n)
	}
	for i, g := range stacks {
		total := 0.0
		for _, seg := range findAll(g, func(n *html.Node) bool { return hasClass(n, "seg") }) {
			w, _ := strconv.ParseFloat(attr(seg, "width"), 64)
			total += w
		}
		if total < barWidth-0.5 || total > barWidth+0.5 {
			t.Errorf("stack %d segments span %v, want %d", i, total, barWidth)
		}
	}
	if got := text(stacks[7]); !strings.Contains(got, "pass 3, fail 0, unknown 2, review 0") {
		t.Errorf("neutrophils stack reads %q", got)
	}

	// The table: column headers and one row header per criterion.
	if cols := findAll(doc, func(n *html.Node) bool { return n.Data == "th" && attr(n, "scope") == "col" }); len(cols) != 11 {
		t.Errorf("%d column headers, want 11", len(cols))
	}
	rowHeads := findAll(doc, func(n *html.Node) bool { return n.Data == "th" && attr(n, "scope") == "row" })
	if len(rowHeads) != n {
		t.Fatalf("%d row headers, want %d", len(rowHeads), n)
	}
	tr := rowHeads[7].Parent
	if got := strings.Join(strings.Fields(text(tr)), " "); !strings.HasPrefix(got, "8 neutrophils") || !strings.HasSuffix(got, "inclusion 3 0 2 0 no-data 1, stale 1 4 0 4") {
		t.Errorf("neutrophils row reads %q", got)
	}
}

func TestHTMLEscapesProtocolText(t *testing.T) {
	p := editedProtocol(t, "text: Voluntary signing of informed consent",
		`text: "Voluntary <script>alert(1)</script> & <b onclick=x>consent</b>"`)
	f := funnelOf(p, fivePatients(p))
	f.Label = `run "<img src=x onerror=alert(2)>"`
	raw, doc := renderHTML(t, f)
	if s := findAll(doc, func(n *html.Node) bool { return n.Data == "script" || n.Data == "b" || n.Data == "img" }); len(s) != 0 {
		t.Fatalf("protocol text became markup: <%s>", s[0].Data)
	}
	if !strings.Contains(raw, "Voluntary &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b onclick=x&gt;consent&lt;/b&gt;") {
		t.Errorf("criterion text not escaped as text")
	}
	if !strings.Contains(text(doc), `run "<img src=x onerror=alert(2)>"`) {
		t.Errorf("label not shown as text")
	}
}

// The protocol title goes into the page's header and a reason read from NDJSON into the
// table; neither may close an element or open one.
func TestHTMLEscapesTitleAndReasons(t *testing.T) {
	p := editedProtocol(t, "title: Anti-BCMA CAR-T cell therapy for relapsed/refractory multiple myeloma\n",
		`title: "</title><script>alert(3)</script>"`+"\n")
	f := New(p)
	f.Add(handDoc(p, "insufficient-data", map[string]outcome{"ecog": {"unknown", "<i>odd</i>"}}))
	_, doc := renderHTML(t, f)
	if s := findAll(doc, func(n *html.Node) bool { return n.Data == "script" || n.Data == "i" }); len(s) != 0 {
		t.Fatalf("title or reason became markup: <%s>", s[0].Data)
	}
	meta := findAll(doc, func(n *html.Node) bool { return n.Data == "p" && hasClass(n, "meta") })
	if len(meta) == 0 || !strings.HasSuffix(text(meta[0]), ": </title><script>alert(3)</script>") {
		t.Errorf("protocol title not kept as text")
	}
	if !strings.Contains(text(doc), "<i>odd</i> 1") {
		t.Errorf("reason not shown as text")
	}
}

func TestHTMLEmptyFunnel(t *testing.T) {
	p := defaultProtocol(t)
	_, doc := renderHTML(t, New(p))
	bars := findAll(doc, func(n *html.Node) bool { return n.Data == "rect" && hasClass(n, "bar") })
	if len(bars) != len(p.CriterionIDs()) {
		t.Fatalf("%d bars", len(bars))
	}
	for _, b := range bars {
		if attr(b, "width") != "0" {
			t.Errorf("bar width %q with no patients, want 0", attr(b, "width"))
		}
	}
	if !strings.Contains(text(doc), "0 remaining (–), 0 removed") {
		t.Errorf("empty attrition row not labelled")
	}
}
