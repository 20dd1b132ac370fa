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

	"github.com/labstack/echo/v4"
)

// A report link lets a clinician's browser open one patient's report from a CDS Hooks
// card without a REST token: its token is an HMAC over the patient id and an expiry,
// valid for reportLinkTTL. Token: base64url(expiry as 8 bytes big-endian || HMAC-SHA256).

const (
	reportLinkTTL   = time.Hour
	reportLinkParam = "link"
	// reportLinkLabel keeps these MACs apart from any other use of the same key.
	reportLinkLabel = "trialscreen report link v1"
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

// reportLink returns the URL of a patient's report page for a CDS Hooks card.
func (s *Server) reportLink(patientID string) string {
	return s.reportLinkAt(patientID, time.Now())
}

func (s *Server) reportLinkAt(patientID string, now time.Time) string {
	exp := now.Add(reportLinkTTL).Unix()
	tok := make([]byte, 8, 8+sha256.Size)
	binary.BigEndian.PutUint64(tok, uint64(exp))
	tok = append(tok, s.reportLinkMAC(patientID, exp)...)
	return strings.TrimRight(s.cfg.PublicURL, "/") + "/v1/patients/" + url.PathEscape(patientID) + "/screening?" + reportLinkParam + "=" +
		base64.RawURLEncoding.EncodeToString(tok)
}

func (s *Server) reportLinkMAC(patientID string, exp int64) []byte {
	m := hmac.New(sha256.New, s.reportLinkKey())
	// Length-prefixed fields: no id can be crafted to collide with another id and expiry.
	m.Write([]byte(reportLinkLabel + "\x00" + strconv.Itoa(len(patientID)) + ":" + patientID + "\x00" + strconv.FormatInt(exp, 10)))
	return m.Sum(nil)
}

// verifyReportLink reports whether the request carries a valid report-link token for
// the patient in its path.
func (s *Server) verifyReportLink(c echo.Context) bool {
	return s.verifyReportLinkAt(c.Param("id"), c.QueryParam(reportLinkParam), time.Now())
}

func (s *Server) verifyReportLinkAt(patientID, token string, now time.Time) bool {
	if patientID == "" || token == "" {
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
	return hmac.Equal(raw[8:], s.reportLinkMAC(patientID, exp))
}
