package fhirclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/trialscreen/trialscreen/fhirbundle"
)

// SearchResult is every page of one search.
type SearchResult struct {
	Entries []fhirbundle.Entry // data entries of all pages (search mode match or include), in order; Index is within its page
	Total   int                // Bundle.total of the first page; -1 when not given
	Pages   int
	// Partial says the server left data out: it reported a warning or error in an
	// OperationOutcome entry, or masked or redacted resources. Absence in such a result
	// does not mean the patient has no such data.
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
	if !typePattern.MatchString(resourceType) {
		return nil, fmt.Errorf("fhirclient: search: %q is not a FHIR resource type name", resourceType)
	}
	op := "search " + resourceType
	q := url.Values{}
	var secrets []string
	for k, vs := range params {
		q[k] = append([]string(nil), vs...)
		if !controlParams[k] {
			secrets = append(secrets, searchSecrets(vs)...)
		}
	}
	if q.Get("_count") == "" {
		q.Set("_count", fmt.Sprint(c.cfg.PageSize))
	}
	u := c.base.JoinPath(resourceType)
	u.RawQuery = q.Encode()

	res := &SearchResult{Total: -1}
	seen := map[string]int{} // URL -> page, to tell a loop
	var reasons []string
	redacted := 0
	for page := 1; ; page++ {
		rq := &request{op: op, url: u, page: page, secrets: secrets}
		seen[u.String()] = page
		body, err := c.get(ctx, rq)
		if err != nil {
			return nil, err
		}
		res.Pages = page
		bad := func(format string, args ...any) error {
			return c.newError(rq, KindBadResponse, http.StatusOK, fmt.Errorf(format, args...))
		}
		b, err := fhirbundle.SplitBundle(body)
		if err != nil {
			if p := jsonProblem(body); p != "" {
				return nil, bad("%s", p)
			}
			e := bad("not a searchset Bundle")
			if errors.Is(err, fhirbundle.ErrNotBundle) {
				e = bad("%v", err) // SplitBundle words it without quoting data
			}
			e.(*Error).Outcome = redact(outcomeText(body), secrets)
			return nil, e
		}
		if page == 1 {
			res.Total = b.Total
		}
		kept, why, nRedacted := screenEntries(body, b.Entries, resourceType)
		res.Entries = append(res.Entries, kept...)
		redacted += nRedacted
		if why != "" {
			reasons = append(reasons, redact(why, secrets))
		}

		next := b.Next()
		if next == "" {
			break
		}
		nu, err := u.Parse(next) // as given; a relative link is taken relative to this page
		switch {
		case err != nil:
			return nil, bad("the next link is not a URL")
		case !sameOrigin(nu, c.base):
			// Not followed: it would send the patient's query (and token) elsewhere.
			return nil, bad("the next link points to another origin (%s://%s); not followed", nu.Scheme, nu.Host)
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
	if redacted > 0 {
		reasons = append(reasons, fmt.Sprintf("%d resource%s redacted or masked by the server (meta.security)", redacted, plural(redacted)))
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

// pageDetail is what SplitBundle leaves out of an entry and partial detection needs.
type pageDetail struct {
	Entry []struct {
		Search struct {
			Mode string `json:"mode"`
		} `json:"search"`
		Resource struct {
			ResourceType string    `json:"resourceType"`
			Issue        []ooIssue `json:"issue"`
			Meta         struct {
				Security []struct {
					Code string `json:"code"`
				} `json:"security"`
			} `json:"meta"`
		} `json:"resource"`
	} `json:"entry"`
}

// screenEntries drops OperationOutcome entries (they are about the search, not the
// patient) and says why the page is partial, if it is.
func screenEntries(body []byte, entries []fhirbundle.Entry, searched string) (kept []fhirbundle.Entry, why string, redacted int) {
	var d pageDetail
	// Mistyped fields are skipped and the rest decoded; SplitBundle already judged shape.
	_ = json.Unmarshal(body, &d)
	if len(d.Entry) != len(entries) {
		// The page could not be screened for outcomes and masking: never call it complete.
		return entries, "a page could not be screened for warnings or masked data", 0
	}
	var whys []string
	for i, e := range entries {
		de := &d.Entry[i]
		rt := de.Resource.ResourceType
		if de.Search.Mode == "outcome" || rt == "OperationOutcome" && searched != "OperationOutcome" {
			if t := issuesText(de.Resource.Issue, serious); t != "" {
				whys = append(whys, "the server reports "+t)
			}
			continue
		}
		for _, s := range de.Resource.Meta.Security {
			if strings.EqualFold(s.Code, "REDACTED") || strings.EqualFold(s.Code, "MASKED") {
				redacted++
				break
			}
		}
		kept = append(kept, e)
	}
	return kept, strings.Join(whys, "; "), redacted
}

// serious issues mean the server may have left matches out; information does not.
func serious(is ooIssue) bool {
	switch is.Severity {
	case "warning", "error", "fatal":
		return true
	}
	return false
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
