package api

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A report link lets a clinician's browser open the report of one CDS Hooks card without
// a REST token: GET /v1/reports/{uuid}?link=TOKEN, where the token is an HMAC over the
// card's uuid and an expiry, valid for reportLinkTTL. The report is the screening the
// card was built from, kept in memory (reportCache), never a new fetch: the link shows
// exactly what the card summarised, from the EHR's data. Token: base64url(expiry as 8
// bytes big-endian || HMAC-SHA256).

const (
	reportLinkTTL   = time.Hour
	reportLinkParam = "link"
	// reportLinkLabel keeps these MACs apart from any other use of the same key, and
	// from the v1 links, which were over a patient id.
	reportLinkLabel = "trialscreen report link v2 (card uuid)"
	routeReport     = "/v1/reports/:uuid"
)

// processLinkKey signs links when Config.ReportLinkKey is nil: random, made once per
// process, so links stop working on restart (and differ between replicas).
var processLinkKey = sync.OnceValue(func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // crypto/rand.Read does not fail
	return k
})

func (s *Server) reportLinkKey() []byte {
	if len(s.cfg.ReportLinkKey) > 0 {
		return s.cfg.ReportLinkKey
	}
	return processLinkKey()
}

// reportLink returns the URL of a card's report page.
func (s *Server) reportLink(cardUUID string) string {
	return s.reportLinkAt(cardUUID, time.Now())
}

func (s *Server) reportLinkAt(cardUUID string, now time.Time) string {
	exp := now.Add(reportLinkTTL).Unix()
	tok := make([]byte, 8, 8+sha256.Size)
	binary.BigEndian.PutUint64(tok, uint64(exp))
	tok = append(tok, s.reportLinkMAC(cardUUID, exp)...)
	return strings.TrimRight(s.cfg.PublicURL, "/") + "/v1/reports/" + url.PathEscape(cardUUID) + "?" + reportLinkParam + "=" +
		base64.RawURLEncoding.EncodeToString(tok)
}

func (s *Server) reportLinkMAC(cardUUID string, exp int64) []byte {
	m := hmac.New(sha256.New, s.reportLinkKey())
	// Length-prefixed fields: no uuid can be crafted to collide with another and an expiry.
	m.Write([]byte(reportLinkLabel + "\x00" + strconv.Itoa(len(cardUUID)) + ":" + cardUUID + "\x00" + strconv.FormatInt(exp, 10)))
	return m.Sum(nil)
}

// verifyReportLinkAt reports whether token is a live report-link token for the card.
func (s *Server) verifyReportLinkAt(cardUUID, token string, now time.Time) bool {
	if cardUUID == "" || token == "" {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 8+sha256.Size {
		return false
	}
	exp := int64(binary.BigEndian.Uint64(raw[:8]))
	if !now.Before(time.Unix(exp, 0)) {
		return false
	}
	return hmac.Equal(raw[8:], s.reportLinkMAC(cardUUID, exp))
}
