package funnel

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/trialscreen/trialscreen/screening"
)

// manyPatients is n hand-built documents: every third ineligible, every third waiting for
// data, the rest potentially eligible; every other one stored (it has a screening id).
func manyPatients(p *screening.Protocol, n int, asOf time.Time) []*screening.Screening {
	var out []*screening.Screening
	for i := range n {
		var s *screening.Screening
		switch i % 3 {
		case 0:
			s = handDoc(p, screening.Ineligible, map[string]outcome{"platelets": {screening.Fail, screening.ReasonNotMet}})
		case 1:
			s = handDoc(p, screening.InsufficientData, map[string]outcome{"ecog": {screening.Unknown, screening.ReasonNoData}})
		default:
			s = handDoc(p, screening.PotentiallyEligible, nil)
		}
		s.Patient = screening.PatientRef{ID: fmt.Sprintf("p%06d", i)}
		if i%2 == 0 {
			s.ScreeningID = fmt.Sprintf("s%06d", i)
		}
		s.AsOf = asOf
		out = append(out, s)
	}
	return out
}

// TestPatientsByVerdict: a large run lists at most MaxListed patients a verdict, the
// first by id, says how many more there are, and stays a page of modest size; the list
// is the same in whatever order documents come and however the funnel was split.
func TestPatientsByVerdict(t *testing.T) {
	p := defaultProtocol(t)
	asOf := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	docs := manyPatients(p, 3000, asOf)

	whole := funnelOf(p, docs)
	reversed := New(p)
	for i := len(docs) - 1; i >= 0; i-- {
		reversed.Add(docs[i])
	}
	a, b := funnelOf(p, docs[:1234]), funnelOf(p, docs[1234:])
	if err := b.Merge(a); err != nil {
		t.Fatal(err)
	}
	want := whole.Report().ByVerdict
	for name, f := range map[string]*Funnel{"reversed": reversed, "merged": b} {
		if d := cmp.Diff(want, f.Report().ByVerdict); d != "" {
			t.Errorf("%s: patients by verdict differ (-whole +%s):\n%s", name, name, d)
		}
	}

	if len(want) != 3 || want[0].Verdict != "potentially-eligible" || want[1].Verdict != "insufficient-data" || want[2].Verdict != "ineligible" {
		t.Fatalf("verdict groups %+v, want potentially eligible, insufficient data, ineligible", want)
	}
	for _, g := range want {
		if g.Count != 1000 || len(g.Listed) != MaxListed || g.More != 1000-MaxListed {
			t.Errorf("%s: count %d, listed %d, more %d; want 1000, %d, %d", g.Verdict, g.Count, len(g.Listed), g.More, MaxListed, 1000-MaxListed)
		}
	}
	if first := want[2].Listed[0]; first != (PatientEntry{ID: "p000000", ScreeningID: "s000000"}) {
		t.Errorf("first ineligible listed %+v, want p000000 with its stored screening", first)
	}

	whole.RunAt = asOf.Add(time.Hour)
	whole.Inputs = []string{"ids.txt"}
	page, doc := renderHTML(t, whole)
	if len(page) > 400_000 {
		t.Errorf("the page of 3000 patients is %d bytes: the lists are not capped", len(page))
	}
	for _, w := range []string{
		"Screened as of</dt><dd>2026-11-20 12:00 UTC", `<time datetime="2026-11-20T13:00:00Z">2026-11-20 13:00 UTC</time>`, "Inputs</dt><dd>ids.txt",
		`<a href="/v1/screenings/s000000">p000000</a>`,                                        // stored: its own screening
		`<a href="/v1/patients/p000001/screening?as_of=2026-11-20T12%3A00%3A00Z">p000001</a>`, // not stored: the patient's, at the run's as-of
		fmt.Sprintf("and %d more", 1000-MaxListed),
	} {
		if !strings.Contains(page, w) {
			t.Errorf("the page lacks %q", w)
		}
	}
	if links := findAll(doc, func(n *html.Node) bool { return n.Data == "a" && strings.HasPrefix(attr(n, "href"), "/v1/") }); len(links) != 3*MaxListed {
		t.Errorf("%d report links, want %d", len(links), 3*MaxListed)
	}
}

// TestReportHrefEscapes: an id is one path segment of the link, whatever it holds.
func TestReportHrefEscapes(t *testing.T) {
	for _, tt := range []struct {
		e          PatientEntry
		asOf, want string
	}{
		{PatientEntry{ID: "a/../b?x=1"}, "", "/v1/patients/a%2F..%2Fb%3Fx=1/screening"},
		{PatientEntry{ID: "p"}, "2026-11-20T12:00:00+01:00", "/v1/patients/p/screening?as_of=2026-11-20T12%3A00%3A00%2B01%3A00"},
		{PatientEntry{ID: "p", ScreeningID: "s/1"}, "2026-11-20T12:00:00Z", "/v1/screenings/s%2F1"},
	} {
		if got := reportHref(tt.e, tt.asOf); got != tt.want {
			t.Errorf("reportHref(%+v) = %q, want %q", tt.e, got, tt.want)
		}
	}
}

// TestAsOfWords: one instant, a span, or none.
func TestAsOfWords(t *testing.T) {
	for _, tt := range []struct {
		s    *AsOfSpan
		want string
	}{
		{nil, "none (no patient screened)"},
		{&AsOfSpan{First: "2026-11-20T12:00:00Z", Last: "2026-11-20T12:00:00Z"}, "2026-11-20 12:00 UTC"},
		{&AsOfSpan{First: "2026-11-20T12:00:00Z", Last: "2026-11-21T00:00:30Z"}, "from 2026-11-20 12:00 UTC to 2026-11-21 00:00:30 UTC"},
	} {
		if got := asOfWords(tt.s); got != tt.want {
			t.Errorf("asOfWords(%+v) = %q, want %q", tt.s, got, tt.want)
		}
	}
}
