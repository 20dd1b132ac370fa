package api

import (
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"golang.org/x/net/html"
)

// postForms lists the POST forms of a page, each with the values of its CSRFField
// inputs.
func postForms(t *testing.T, page string) (actions []string, tokens [][]string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	attr := func(n *html.Node, name string) string {
		for _, a := range n.Attr {
			if a.Key == name {
				return a.Val
			}
		}
		return ""
	}
	var inputs func(n *html.Node, into *[]string)
	inputs = func(n *html.Node, into *[]string) {
		if n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") == CSRFField && attr(n, "type") == "hidden" {
			*into = append(*into, attr(n, "value"))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			inputs(c, into)
		}
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "form" && strings.EqualFold(attr(n, "method"), "post") {
			var got []string
			inputs(n, &got)
			actions, tokens = append(actions, attr(n, "action")), append(tokens, got)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return actions, tokens
}

// Every POST form on every page a signed-in coordinator opens carries the session's
// CSRF token, once, in the field the csrf middleware checks.
func TestEveryFormCarriesTheCSRFToken(t *testing.T) {
	env, doc := decidingEnv(t)
	ck := env.signIn(t, coordinatorClaims)
	want := env.s.csrfFor(ck.Value)
	for _, tc := range []struct {
		name, path string
		minForms   int // at least this many POST forms: the page is the one with forms
	}{
		{"worklist", "/", 1},
		{"stored report", "/v1/screenings/" + doc.ScreeningID, 2},
		{"fresh report", reportPath, 1},
		{"sign-out confirmation", "/signout", 1},
		{"error page", "/v1/screenings/no-such-screening", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := env.page(t, tc.path, ck)
			if !strings.HasPrefix(rec.Header().Get(echo.HeaderContentType), "text/html") {
				t.Fatalf("%s: %d %s, not a page", tc.path, rec.Code, rec.Header().Get(echo.HeaderContentType))
			}
			actions, tokens := postForms(t, rec.Body.String())
			if len(actions) < tc.minForms {
				t.Errorf("%d POST forms, want at least %d", len(actions), tc.minForms)
			}
			for i, got := range tokens {
				if len(got) != 1 || got[0] != want {
					t.Errorf("the form to %s carries %d %s fields %q, want the session's token once", actions[i], len(got), CSRFField, got)
				}
			}
		})
	}
}

// The check itself finds a form without the token.
func TestPostFormsFindsAFormWithoutTheToken(t *testing.T) {
	actions, tokens := postForms(t, `<form method="POST" action="/x"><input type="hidden" name="csrf" value="t"></form><form method="get"></form>`)
	if len(actions) != 1 || len(tokens[0]) != 0 {
		t.Errorf("actions %q tokens %q; want one POST form with no %s", actions, tokens, CSRFField)
	}
}
