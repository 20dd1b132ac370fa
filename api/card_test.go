package api

import (
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/screening"
)

// Every demo patient's card: a summary under 140 characters that says the verdict and
// its counts, a detail that lists each failing, unknown and review criterion.
func TestCardDemoPatients(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	p := cdsProtocol(t)
	src, _ := demo.NewSource(p)
	want := map[string]string{
		"candidate":            "potentially eligible (11 to review)",
		"ineligible-labs":      "ineligible (",
		"ineligible-exclusion": "ineligible (",
		"insufficient-data":    "insufficient data (",
	}
	for _, name := range demo.Names() {
		t.Run(name, func(t *testing.T) {
			rec, err := src.Record(t.Context(), "demo-"+name)
			if err != nil {
				t.Fatal(err)
			}
			res := p.Evaluate(rec, screening.Settings{AsOf: demo.AsOf(), Location: time.UTC})
			uuid := newCardUUID()
			card := env.s.buildCard(res, uuid, env.s.reportLink(uuid, reportLinkClaims{}))
			if card.UUID != uuid {
				t.Errorf("card uuid %q, want the one given %q", card.UUID, uuid)
			}
			if n := utf8.RuneCountInString(card.Summary); n >= 140 {
				t.Errorf("summary has %d characters: %q", n, card.Summary)
			}
			if w, ok := want[name]; !ok || !strings.Contains(card.Summary, w) {
				t.Errorf("summary %q, want it to contain %q", card.Summary, w)
			}
			for _, r := range res.Criteria {
				listed := strings.Contains(card.Detail, "- **"+cardEscape(r.ID)+"**")
				if (r.Outcome != screening.Pass) != listed {
					t.Errorf("%s (%s) listed in the detail: %v", r.ID, r.Outcome, listed)
				}
			}
			if strings.Contains(card.Summary, "\n") {
				t.Errorf("summary spans lines: %q", card.Summary)
			}
		})
	}
}

func TestCardSummaryCounts(t *testing.T) {
	tests := []struct {
		name    string
		verdict screening.Verdict
		counts  screening.Counts
		want    string
	}{
		{"eligible", screening.PotentiallyEligible, screening.Counts{Pass: 35, Review: 4}, "T trial: potentially eligible (4 to review)"},
		{"one fail", screening.Ineligible, screening.Counts{Fail: 1, Unknown: 3}, "T trial: ineligible (1 criterion fails)"},
		{"fails", screening.Ineligible, screening.Counts{Fail: 2}, "T trial: ineligible (2 criteria fail)"},
		{"unknown", screening.InsufficientData, screening.Counts{Unknown: 3, Review: 2}, "T trial: insufficient data (3 criteria unknown, 2 to review)"},
		{"one unknown", screening.InsufficientData, screening.Counts{Unknown: 1}, "T trial: insufficient data (1 criterion unknown)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cardSummary(&screening.Screening{Verdict: tt.verdict, Counts: tt.counts, Protocol: screening.ProtocolRef{Title: "T"}})
			if got != tt.want {
				t.Errorf("summary %q, want %q", got, tt.want)
			}
		})
	}
}

// A protocol title of any length is shortened so the summary stays under 140
// characters and keeps the verdict.
func TestCardSummaryLongTitle(t *testing.T) {
	res := &screening.Screening{
		Verdict: screening.InsufficientData, Counts: screening.Counts{Unknown: 12, Review: 10},
		Protocol: screening.ProtocolRef{Title: strings.Repeat("Très long protocol title ", 20)},
	}
	got := cardSummary(res)
	if n := utf8.RuneCountInString(got); n >= 140 {
		t.Errorf("summary has %d characters: %q", n, got)
	}
	if !strings.HasSuffix(got, "…: insufficient data (12 criteria unknown, 10 to review)") {
		t.Errorf("summary %q", got)
	}
	if !utf8.ValidString(got) {
		t.Error("summary cut inside a character")
	}
}

// Text from the screening is literal in the Markdown detail: no link, HTML or
// emphasis can be smuggled in from a record.
func TestCardDetailEscapes(t *testing.T) {
	res := &screening.Screening{
		Verdict: screening.Ineligible, Protocol: screening.ProtocolRef{ID: "p", Version: "1", Title: "T"},
		Criteria: []screening.Result{
			{ID: "ecg", Outcome: screening.Fail, Summary: "note: <script>alert(1)</script> [click](https://evil.example) *bold*\n# heading"},
			{ID: "ecog", Outcome: screening.Unknown, Summary: "no ECOG", Obtain: "an ECOG score_within 14 days"},
			{ID: "age", Outcome: screening.Pass, Summary: "age 60"},
		},
		Counts: screening.Counts{Fail: 1, Unknown: 1, Pass: 1},
	}
	d := cardDetail(res)
	for _, bad := range []string{"<script>", "[click](", " *bold*", "\n# heading", "score_within"} {
		if strings.Contains(d, bad) {
			t.Errorf("detail holds unescaped %q:\n%s", bad, d)
		}
	}
	for _, want := range []string{`\<script\>`, `\[click\]`, `\*bold\*`, "- **ecg**:", "- **ecog**: no ECOG *To obtain:* an ECOG score\\_within", "1 of 3 criteria pass"} {
		if !strings.Contains(d, want) {
			t.Errorf("detail lacks %q:\n%s", want, d)
		}
	}
	if strings.Contains(d, "age 60") {
		t.Errorf("a passing criterion is listed:\n%s", d)
	}
}

func TestCardUUID(t *testing.T) {
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		u := newCardUUID()
		if !v4.MatchString(u) {
			t.Fatalf("%q is not a version 4 UUID", u)
		}
		if seen[u] {
			t.Fatalf("%q repeated", u)
		}
		seen[u] = true
	}
}

// Without a PublicURL the card has no link (it could not be absolute).
func TestCardWithoutPublicURL(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	env.s.cfg.PublicURL = ""
	c := env.s.buildCard(&screening.Screening{Verdict: screening.Ineligible, Counts: screening.Counts{Fail: 1}}, newCardUUID(), "/v1/x")
	if len(c.Links) != 0 || c.Source.URL != "" || c.Source.Label == "" {
		t.Errorf("card = %+v", c)
	}
}

// The indicator fits the verdict: warning where the clinician may act (consider a
// referral), info otherwise; never critical, which EHRs show as a safety alert.
func TestCardIndicator(t *testing.T) {
	tests := []struct {
		name    string
		verdict screening.Verdict
		want    string
	}{
		{"potentially eligible", screening.PotentiallyEligible, "warning"},
		{"insufficient data", screening.InsufficientData, "info"},
		{"ineligible", screening.Ineligible, "info"},
		{"unknown verdict", screening.Verdict("something-new"), "info"},
	}
	env := newCDSTestEnv(t, cdsTestConfig{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cardIndicator(tt.verdict); got != tt.want {
				t.Errorf("cardIndicator(%s) = %q, want %q", tt.verdict, got, tt.want)
			}
			c := env.s.buildCard(&screening.Screening{Verdict: tt.verdict}, newCardUUID(), "")
			if c.Indicator != tt.want {
				t.Errorf("card indicator %q, want %q", c.Indicator, tt.want)
			}
		})
	}
}
