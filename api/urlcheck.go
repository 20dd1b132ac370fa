package api

import (
	"fmt"
	"net"
	"net/url"
)

// outboundURLProblem says what is wrong with a URL the service will send requests (and
// bearer tokens) to: it must be absolute https, or http on the loopback (tests, a local
// proxy), with no credentials, query or fragment. "" when it is fine. The URL is quoted
// in the message except when it carries credentials (then only its redacted form).
func outboundURLProblem(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Sprintf("%q is not a URL", raw)
	case !u.IsAbs() || u.Host == "":
		return fmt.Sprintf("%q is not an absolute URL", raw)
	case u.User != nil:
		return fmt.Sprintf("%q carries credentials", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Sprintf("%q has a query or fragment", raw)
	case u.Scheme == "https":
		return ""
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
		return ""
	case u.Scheme == "http":
		return fmt.Sprintf("%q is plain http: https is required (http only on 127.0.0.1, ::1 or localhost)", raw)
	}
	return fmt.Sprintf("%q has scheme %q, not https", raw, u.Scheme)
}

// isLoopbackHost reports whether a URL's host (without port) is this machine: the only
// place plain http may carry a token.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
