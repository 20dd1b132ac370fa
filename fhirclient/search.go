package fhirclient

import (
	"github.com/trialscreen/trialscreen/internal/origin"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/trialscreen/trialscreen/fhirbundle"
)

// SearchResult is every page of one search.
type SearchResult struct {
	Entries []fhirbundle.Entry // data entries of all pages (search mode match or include), in order; Index is within its page
	Total   int                // Bundle.total of the first page; -1 when not given
	Pages   int
	// Partial says the server left data out: it reported a warning or error in an
	// OperationOutcome entry, masked, redacted or subsetted resources, returned fewer matches than
	// its Bundle.total with no next page, or sent a page that could not be screened for
	// these. Absence in such a result does not mean the patient has no such data.
	Partial       bool
	PartialReason string
}

// controlParams carry no patient data, so their values need no redaction.
var controlParams = map[string]bool{
	"_count": true, "_sort": true, "_include": true, "_revinclude": true, "_elements": true,
	"_summary": true, "_total": true, "_format": true, "_pretty": true, "_contained": true,
	"_containedType": true,
}

// Search runs a search (GET [base]/[type]?params) and follows its next links: as
// given, on the configured origin only, up to Config.MaxPages pages, never twice to the
// same URL. _count is Config.PageSize unless params sets it.
func (c *Client) Search(ctx context.Context, resourceType string, params url.Values) (*SearchResult, error) {
	u, sec, err := c.searchURL(resourceType, params)
	if err != nil {
		return nil, err
	}
	return c.collect(ctx, resourceType, u, sec, nil)
}

// searchURL is the first page's URL of a search, with the secrets of its values.
func (c *Client) searchURL(resourceType string, params url.Values) (*url.URL, *secrets, error) {
	if !typePattern.MatchString(resourceType) {
		return nil, nil, fmt.Errorf("fhirclient: search: %q is not a FHIR resource type name", resourceType)
	}
	q := url.Values{}
	var values []string
	for k, vs := range params {
		q[k] = append([]string(nil), vs...)
		if !controlParams[k] {
			values = append(values, searchSecrets(vs)...)
		}
	}
	// One set for every page: server text on page 2 may repeat a token sent for page 1.
	sec := newSecrets(values...)
	if q.Get("_count") == "" {
		q.Set("_count", fmt.Sprint(c.cfg.PageSize))
	}
	u := c.resourceURL(resourceType)
	u.RawQuery = q.Encode()
	return u, sec, nil
}

// collect gathers the pages of a search from its first page's URL u. first, when not
// nil, is that page's body, already fetched (by a batch); later pages are GETs.
func (c *Client) collect(ctx context.Context, resourceType string, u *url.URL, sec *secrets, first []byte) (*SearchResult, error) {
	op := "search " + resourceType
	res := &SearchResult{Total: -1}
	seen := map[string]int{} // URL -> page, to tell a loop
	var reasons []string
	redacted, matches, lastMatches := 0, 0, 0
	budget := c.budgetFor(ctx)
	for page := 1; ; page++ {
		rq := &request{op: op, url: u, page: page, secrets: sec}
		seen[u.String()] = page
		body := first
		if page > 1 || first == nil {
			var err error
			if body, err = c.get(ctx, rq); err != nil {
				return nil, err
			}
		}
		res.Pages = page
		bad := func(format string, args ...any) error {
			return c.newError(rq, KindBadResponse, http.StatusOK, fmt.Errorf(format, args...))
		}
		if n, ok := fhirbundle.CountEntries(body); ok {
			if err := budget.take(n); err != nil {
				return nil, bad("%v", err)
			}
		}
		b, err := fhirbundle.SplitBundleMax(body, 0) // counted above
		if err != nil {
			if p := jsonProblem(body); p != "" {
				return nil, bad("%s", p)
			}
			e := bad("not a searchset Bundle")
			if errors.Is(err, fhirbundle.ErrNotBundle) {
				// Not the splitter's message: it may quote the body's resourceType, which is
				// server text, and an Error's message is logged.
				var head struct {
					ResourceType any `json:"resourceType"`
				}
				_ = json.Unmarshal(body, &head)
				rt, _ := head.ResourceType.(string)
				e = bad("not a FHIR Bundle: the body is %s", describeType(rt))
			}
			e.(*Error).Outcome = sec.clean(outcomeText(body))
			return nil, e
		}
		if page == 1 {
			res.Total = b.Total
		}
		ps := screenEntries(body, b.Entries, resourceType)
		res.Entries = append(res.Entries, ps.kept...)
		redacted += ps.redacted
		matches += ps.matches
		lastMatches = ps.matches
		if ps.why != "" {
			reasons = append(reasons, sec.clean(ps.why))
		}

		next := b.Next()
		if next == "" {
			break
		}
		nu, err := u.Parse(next) // as given; a relative link is taken relative to this page
		switch {
		case err != nil:
			return nil, bad("the next link is not a URL")
		case !origin.Same(nu, c.base):
			// Not followed: it would send the patient's query (and token) elsewhere.
			return nil, bad("the next link points to another origin (%s://%s); not followed", sec.clean(nu.Scheme), sec.clean(nu.Host))
		}
		nu.Fragment, nu.RawFragment = "", ""
		if p, ok := seen[nu.String()]; ok {
			return nil, bad("the next link loops back to page %d", p)
		}
		if page >= c.cfg.MaxPages {
			return nil, bad("the search has more than %d pages (MaxPages); stopped", c.cfg.MaxPages)
		}
		u = nu
	}
	// The last page is reached with no next link. Fewer matches than the server counted
	// means it cut the result short without saying so.
	if res.Total >= 0 && matches < res.Total {
		reasons = append(reasons, fmt.Sprintf("the server reported %d match%s but returned %d with no next page", res.Total, pluralES(res.Total), matches))
	}
	// Without a total, a last page filled to _count with no next link may have been
	// cut short: a server that does not page a batch's searches answers so.
	if res.Total < 0 && lastMatches > 0 && lastMatches >= pageSize(u, c.cfg.PageSize) {
		reasons = append(reasons, fmt.Sprintf("the last page is full (%d matches), gives no total and no next page: more may exist", lastMatches))
	}
	if redacted > 0 {
		reasons = append(reasons, fmt.Sprintf("%d resource%s masked, redacted or subsetted by the server (meta)", redacted, plural(redacted)))
	}
	if len(reasons) > 0 {
		res.Partial = true
		res.PartialReason = clip(strings.Join(reasons, "; "), maxOutcome)
	}
	return res, nil
}

// searchSecrets are the values of a search parameter as they may show in server text:
// the id or code after a "Type/" or "system|" first (so "Patient/" stays readable), then
// each item of a list, then the whole value.
func searchSecrets(vs []string) []string {
	var out []string
	for _, v := range vs {
		items := strings.Split(v, ",")
		for _, item := range items {
			if i := strings.LastIndexAny(item, "/|"); i >= 0 {
				out = append(out, item[i+1:])
			}
		}
		out = append(out, items...)
		out = append(out, v)
	}
	return out
}

// pageScreen is what screenEntries makes of one page.
type pageScreen struct {
	kept     []fhirbundle.Entry // the data entries
	why      string             // why the page is partial; "" when it is not
	redacted int                // entries the server redacted or masked
	matches  int                // entries of search mode match (or no mode), to hold against Bundle.total
}

// screenEntries drops OperationOutcome entries (they are about the search, not the
// patient), counts the matches and says why the page is partial, if it is.
func screenEntries(body []byte, entries []fhirbundle.Entry, searched string) pageScreen {
	details, ok := fhirbundle.EntryDetails(body, len(entries))
	if !ok {
		// The page could not be screened for outcomes and masking: never call it complete.
		return pageScreen{kept: entries, why: "a page could not be screened for warnings or masked data", matches: len(entries)}
	}
	var ps pageScreen
	var whys []string
	for i, e := range entries {
		de := &details[i]
		if de.Mode == "outcome" || de.ResourceType == "OperationOutcome" && searched != "OperationOutcome" {
			if t := issuesText(de.Issues, fhirbundle.OutcomeIssue.Serious); t != "" {
				whys = append(whys, "the server reports "+t)
			} else if len(de.Issues) == 0 {
				whys = append(whys, "the server sent an OperationOutcome without issues")
			}
			continue
		}
		if de.Mode == "" || de.Mode == "match" {
			ps.matches++ // Bundle.total counts matches only, not include entries
		}
		if de.Withheld {
			ps.redacted++
		}
		ps.kept = append(ps.kept, e)
	}
	ps.why = strings.Join(whys, "; ")
	return ps
}

func pluralES(n int) string {
	if n == 1 {
		return ""
	}
	return "es"
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// pageSize is the _count a page URL asks for, or def.
func pageSize(u *url.URL, def int) int {
	if n, err := strconv.Atoi(u.Query().Get("_count")); err == nil && n > 0 {
		return n
	}
	return def
}
