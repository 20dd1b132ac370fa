package api

import (
	"net/url"
	"strings"
)

// localPath returns next when it is a path on this service, and "/" otherwise: after
// sign-in the browser goes only where this service is, never to a URL a link's author
// chose (an open redirect would lend the hospital's sign-in page to a phishing site).
// "//evil.example" and "/\evil.example" are other hosts to browsers, so both are refused.
func localPath(next string) string {
	if next == "" || len(next) > 2048 || !strings.HasPrefix(next, "/") ||
		strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}
