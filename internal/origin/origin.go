// Package origin compares URL origins, for clients that must talk to one configured
// server only (a redirect elsewhere is refused).
package origin

import (
	"net/url"
	"strings"
)

// Same reports whether a and b have the same scheme, host and port, with default ports
// made explicit.
func Same(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}
