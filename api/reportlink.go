package api

import (
	"crypto/aes"
	"crypto/cipher"
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
// a REST token: GET /v1/reports/{uuid}?link=TOKEN, valid for reportLinkTTL. The report is
// the screening the card was built from, never a new fetch: the link shows exactly what
// the card summarised, from the EHR's data. It is read from the store by its screening
// id, so any replica serves it, before or after a restart; a screening that could not be
// stored (no store, or the store down when the card was made) is kept in memory
// (reportCache) and its link works on the replica that made the card only.
//
// The token carries what the report needs beyond the stored screening: its id ("" for
// one kept in memory), the EHR's user (for the audit record of each view) and the FHIR
// server the record came from (evidence links to it; "" for the prefetch). It is sealed
// with AES-256-GCM, the card's uuid as additional data: a token cannot be made without
// the key, altered or moved to another card, and the browser's URL shows neither the
// screening id (ids cannot be enumerated through links) nor the user. Token:
// base64url(nonce || seal(expiry as 8 bytes big-endian || id || user || server)), each
// field preceded by its length in 2 bytes.

const (
	reportLinkTTL   = time.Hour
	reportLinkParam = "link"
	// reportLinkLabel derives the sealing key from the configured key, keeping it apart
	// from any other use of that key and from older links (v3 named a holder replica).
	reportLinkLabel = "trialscreen report link v4 (card uuid; screening id, user, fhir server)"
	routeReport     = "/v1/reports/:uuid"
	// maxLinkField bounds each field sealed in a token: a screening id is 64 bytes at
	// most and an EHR's userId 256 (decodeHookRequest); a longer FHIR server is left out
	// (its evidence references are then shown as plain text).
	maxLinkField = 512
)

// reportLinkClaims is what a report-link token carries besides its expiry.
type reportLinkClaims struct {
	ScreeningID string // the stored screening; "" when it is kept in memory
	User        string // the EHR's context.userId
	FHIRBase    string // the FHIR server the record came from; "" for the prefetch
}

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

// derivedKey is a 32-byte key for one purpose, made from the report-link key.
func (s *Server) derivedKey(purpose string) []byte {
	m := hmac.New(sha256.New, s.reportLinkKey())
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// sealer is AES-256-GCM under the key derived for purpose: report links and the
// sign-in flow cookie each seal with their own.
func (s *Server) sealer(purpose string) cipher.AEAD {
	block, err := aes.NewCipher(s.derivedKey(purpose))
	if err != nil {
		panic(err) // a 32-byte key is always valid
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// reportLinkAAD binds a token to one card: length-prefixed, so no uuid can be crafted to
// read as another.
func reportLinkAAD(cardUUID string) []byte {
	return []byte(strconv.Itoa(len(cardUUID)) + ":" + cardUUID)
}

// reportLink returns the URL of a card's report page.
func (s *Server) reportLink(cardUUID string, cl reportLinkClaims) string {
	return s.reportLinkAt(cardUUID, cl, s.cfg.Now())
}

func (s *Server) reportLinkAt(cardUUID string, cl reportLinkClaims, now time.Time) string {
	if len(cl.FHIRBase) > maxLinkField {
		cl.FHIRBase = ""
	}
	aead := s.sealer(reportLinkLabel)
	plain := make([]byte, 8, 8+6+len(cl.ScreeningID)+len(cl.User)+len(cl.FHIRBase))
	binary.BigEndian.PutUint64(plain, uint64(now.Add(reportLinkTTL).Unix()))
	for _, f := range []string{cl.ScreeningID, cl.User, cl.FHIRBase} {
		f = f[:min(len(f), maxLinkField)]
		plain = binary.BigEndian.AppendUint16(plain, uint16(len(f)))
		plain = append(plain, f...)
	}
	tok := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	_, _ = rand.Read(tok)
	tok = aead.Seal(tok, tok, plain, reportLinkAAD(cardUUID))
	return strings.TrimRight(s.cfg.PublicURL, "/") + "/v1/reports/" + url.PathEscape(cardUUID) + "?" + reportLinkParam + "=" +
		base64.RawURLEncoding.EncodeToString(tok)
}

// openReportLinkAt returns what token carries when it is a live report-link token for
// the card.
func (s *Server) openReportLinkAt(cardUUID, token string, now time.Time) (reportLinkClaims, bool) {
	if cardUUID == "" || token == "" {
		return reportLinkClaims{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	aead := s.sealer(reportLinkLabel)
	shortest := aead.NonceSize() + 8 + 6 + aead.Overhead()
	if err != nil || len(raw) < shortest || len(raw) > shortest+3*maxLinkField {
		return reportLinkClaims{}, false
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], reportLinkAAD(cardUUID))
	if err != nil {
		return reportLinkClaims{}, false
	}
	if exp := int64(binary.BigEndian.Uint64(plain[:8])); !now.Before(time.Unix(exp, 0)) {
		return reportLinkClaims{}, false
	}
	var fields [3]string
	rest := plain[8:]
	for i := range fields {
		if len(rest) < 2 || len(rest) < 2+int(binary.BigEndian.Uint16(rest)) {
			return reportLinkClaims{}, false // sealed by this key, so never; but never trusted blindly
		}
		n := int(binary.BigEndian.Uint16(rest))
		fields[i], rest = string(rest[2:2+n]), rest[2+n:]
	}
	if len(rest) != 0 {
		return reportLinkClaims{}, false
	}
	return reportLinkClaims{ScreeningID: fields[0], User: fields[1], FHIRBase: fields[2]}, true
}

// verifyReportLinkAt reports whether token is a live report-link token for the card.
func (s *Server) verifyReportLinkAt(cardUUID, token string, now time.Time) bool {
	_, ok := s.openReportLinkAt(cardUUID, token, now)
	return ok
}
