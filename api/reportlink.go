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
// the screening the card was built from, kept in memory (reportCache) on the replica
// that made the card, never a new fetch: the link shows exactly what the card
// summarised, from the EHR's data.
//
// The token says until when the link is good and which replica holds the report (its
// address as peers reach it, Config.ReplicaAddr; "" for a lone replica), so that any
// replica can pass the request to the holder (reportforward.go). It is sealed with
// AES-256-GCM, the card's uuid as additional data: a token cannot be altered, moved to
// another card or made to name another address, and the browser's URL does not show
// the holder's pod address. Token: base64url(nonce || seal(expiry as 8 bytes
// big-endian || holder)).

const (
	reportLinkTTL   = time.Hour
	reportLinkParam = "link"
	// reportLinkLabel derives the sealing key from the configured key, keeping it apart
	// from any other use of that key (the forwarded-for MAC) and from older links.
	reportLinkLabel = "trialscreen report link v3 (card uuid, holder)"
	routeReport     = "/v1/reports/:uuid"
	// maxHolderLen bounds the holder in a token: an IPv6 address in brackets and a port.
	maxHolderLen = 64
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

// derivedKey is a 32-byte key for one purpose, made from the report-link key.
func (s *Server) derivedKey(purpose string) []byte {
	m := hmac.New(sha256.New, s.reportLinkKey())
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

func (s *Server) reportLinkAEAD() cipher.AEAD {
	block, err := aes.NewCipher(s.derivedKey(reportLinkLabel))
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

// reportLink returns the URL of a card's report page, held by this replica.
func (s *Server) reportLink(cardUUID string) string {
	return s.reportLinkAt(cardUUID, s.cfg.Now())
}

func (s *Server) reportLinkAt(cardUUID string, now time.Time) string {
	aead := s.reportLinkAEAD()
	holder := s.cfg.ReplicaAddr
	plain := make([]byte, 8, 8+len(holder))
	binary.BigEndian.PutUint64(plain, uint64(now.Add(reportLinkTTL).Unix()))
	plain = append(plain, holder...)
	tok := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	_, _ = rand.Read(tok)
	tok = aead.Seal(tok, tok, plain, reportLinkAAD(cardUUID))
	return strings.TrimRight(s.cfg.PublicURL, "/") + "/v1/reports/" + url.PathEscape(cardUUID) + "?" + reportLinkParam + "=" +
		base64.RawURLEncoding.EncodeToString(tok)
}

// openReportLinkAt returns the replica holding the card's report ("" for a lone
// replica) when token is a live report-link token for the card.
func (s *Server) openReportLinkAt(cardUUID, token string, now time.Time) (holder string, ok bool) {
	if cardUUID == "" || token == "" {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	aead := s.reportLinkAEAD()
	shortest := aead.NonceSize() + 8 + aead.Overhead()
	if err != nil || len(raw) < shortest || len(raw) > shortest+maxHolderLen {
		return "", false
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], reportLinkAAD(cardUUID))
	if err != nil {
		return "", false
	}
	if exp := int64(binary.BigEndian.Uint64(plain[:8])); !now.Before(time.Unix(exp, 0)) {
		return "", false
	}
	return string(plain[8:]), true
}

// verifyReportLinkAt reports whether token is a live report-link token for the card.
func (s *Server) verifyReportLinkAt(cardUUID, token string, now time.Time) bool {
	_, ok := s.openReportLinkAt(cardUUID, token, now)
	return ok
}
