package api

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// A card's report lives in the memory of the replica that made the card, but the
// clinician's browser opens the link through the load balancer, which may pick any
// replica (no session affinity can help: the browser never talked to the service
// before). So a replica that does not hold the report passes the request to the one
// that does, named in the sealed link (reportlink.go), and relays its answer.
//
// Only addresses inside a token this deployment sealed are ever contacted, a request
// is passed on at most once (a passed request carries headerForwardedFor and is never
// passed again), and the holder's address never reaches the browser. The holder audits
// the view under the browser's address, which the passing replica vouches for with a
// MAC under the shared link key over a fresh nonce: a browser cannot set its own, nor
// replay one. The holder answers with headerHolder, a MAC over that nonce: a pod
// IP is reused once its pod is gone, and whatever answers there now is not relayed
// unless it holds the key.

const (
	headerForwardedFor = "Trialscreen-Report-Forwarded-For" // "address;nonce;mac"
	headerHolder       = "Trialscreen-Report-Holder"        // MAC over the card's uuid and the nonce
	forwardedForLabel  = "trialscreen report forwarded-for v2"
	holderLabel        = "trialscreen report holder v1"
	forwardTimeout     = 5 * time.Second
	// maxForwardedReport bounds what is relayed: a report of 39 criteria is tens of KB.
	maxForwardedReport = 8 << 20
)

// Outcomes of trialscreen_report_forwards_total.
const (
	forwardServed      = "served"      // the holder served the report
	forwardGone        = "gone"        // the holder no longer has it (expired, evicted, restarted)
	forwardUnreachable = "unreachable" // no answer, or not one a holder gives
)

// errForwardBroken marks a holder that did not answer as a holder answers.
var errForwardBroken = errors.New("report holder did not answer")

// ValidReplicaAddr checks a replica address: an IP literal and a port, so that passing
// a report on needs no name lookup and can reach nothing a token did not name.
func ValidReplicaAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not IP:port", addr)
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return fmt.Errorf("%q: %q is not an IP address", addr, host)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: %q is not a port", addr, port)
	}
	if len(addr) > maxHolderLen {
		return fmt.Errorf("%q is longer than %d bytes", addr, maxHolderLen)
	}
	return nil
}

// newPeerClient is the HTTP client for replicas: no proxy (peers are reached directly,
// whatever HTTP_PROXY says), no redirects, a short timeout.
func newPeerClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       forwardTimeout,
	}
}

// peerMAC is a MAC for one purpose (label) over a card's uuid and further fields, with
// a key derived from the shared link key.
func (s *Server) peerMAC(label, cardUUID string, fields ...string) string {
	m := hmac.New(sha256.New, s.derivedKey(label))
	m.Write([]byte(strconv.Itoa(len(cardUUID)) + ":" + cardUUID))
	for _, f := range fields {
		m.Write([]byte("\x00" + strconv.Itoa(len(f)) + ":" + f))
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// forwardedFor returns the browser's address a peer vouched for, and the nonce of its
// request, if the request was passed on by one.
func (s *Server) forwardedFor(r *http.Request, cardUUID string) (addr, nonce string, ok bool) {
	addr, rest, _ := strings.Cut(r.Header.Get(headerForwardedFor), ";")
	nonce, mac, _ := strings.Cut(rest, ";")
	if addr == "" || nonce == "" || mac == "" {
		return "", "", false
	}
	return addr, nonce, hmac.Equal([]byte(mac), []byte(s.peerMAC(forwardedForLabel, cardUUID, addr, nonce)))
}

// mayForward reports whether a report this replica does not hold may be asked of holder.
func (s *Server) mayForward(r *http.Request, holder string) bool {
	return s.cfg.ReplicaAddr != "" && holder != "" && holder != s.cfg.ReplicaAddr &&
		r.Header.Get(headerForwardedFor) == "" && ValidReplicaAddr(holder) == nil
}

// forwardReport asks holder for the card's report and relays its answer. Whatever goes
// wrong, the browser gets the same answer as for a report no longer held: the remedy
// (reopen the chart) is the same.
func (h *cdsHandler) forwardReport(c echo.Context, cardUUID, token, holder string) error {
	s := h.s
	start := time.Now()
	defer func() { addUpstream(c.Request().Context(), time.Since(start)) }()
	ctx, cancel := context.WithTimeout(c.Request().Context(), forwardTimeout)
	defer cancel()
	target := "http://" + holder + "/v1/reports/" + url.PathEscape(cardUUID) + "?" + reportLinkParam + "=" + url.QueryEscape(token)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return h.forwardFailed(err)
	}
	if accept := c.Request().Header.Get(echo.HeaderAccept); accept != "" {
		req.Header.Set(echo.HeaderAccept, accept)
	}
	addr := remoteAddr(c.Request())
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	n := base64.RawURLEncoding.EncodeToString(nonce)
	req.Header.Set(headerForwardedFor, addr+";"+n+";"+s.peerMAC(forwardedForLabel, cardUUID, addr, n))
	resp, err := h.peers.Do(req)
	if err != nil {
		return h.forwardFailed(err)
	}
	defer func() {
		// Read what is left (bounded) so that the connection is kept for the next one.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}()
	if !hmac.Equal([]byte(resp.Header.Get(headerHolder)), []byte(s.peerMAC(holderLabel, cardUUID, n))) {
		// Not a replica of this deployment: the holder's pod is gone and its IP taken.
		return h.forwardFailed(fmt.Errorf("%w: the answer does not prove the link key", errForwardBroken))
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		s.cfg.Metrics.reportForwards.WithLabelValues(forwardGone).Inc()
		s.log.Info("report link refused", "reason", "report no longer held by its replica", "uuid", cardUUID)
		return errReportGone()
	case resp.StatusCode != http.StatusOK:
		return h.forwardFailed(fmt.Errorf("%w: status %d", errForwardBroken, resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxForwardedReport+1))
	if err != nil {
		return h.forwardFailed(err)
	}
	if len(body) > maxForwardedReport {
		return h.forwardFailed(fmt.Errorf("%w: more than %d bytes", errForwardBroken, maxForwardedReport))
	}
	ct := resp.Header.Get(echo.HeaderContentType)
	if !strings.HasPrefix(ct, echo.MIMETextHTML) && !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return h.forwardFailed(fmt.Errorf("%w: content type %q", errForwardBroken, ct))
	}
	if strings.HasPrefix(ct, echo.MIMETextHTML) {
		setReportPageHeaders(c.Response().Header()) // this replica's own, not the peer's
	}
	s.cfg.Metrics.reportForwards.WithLabelValues(forwardServed).Inc()
	return c.Blob(http.StatusOK, ct, body)
}

// forwardFailed logs why a holder could not serve (no address or token: the error of an
// http.Client names the URL, so only its kind is logged) and answers as for a gone report.
func (h *cdsHandler) forwardFailed(err error) error {
	h.s.cfg.Metrics.reportForwards.WithLabelValues(forwardUnreachable).Inc()
	reason := "report holder did not answer"
	var ue *url.Error
	switch {
	case errors.As(err, &ue) && ue.Timeout():
		reason = "report holder timed out"
	case errors.Is(err, errForwardBroken):
		reason = err.Error()
	}
	h.s.log.Warn("report link refused", "reason", reason)
	return errReportGone()
}
