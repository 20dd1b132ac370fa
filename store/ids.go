package store

import (
	"crypto/rand"
	"encoding/base64"
)

// NewID is a random screening id: 128 bits, URL-safe base64 (22 characters). Random, not
// sequential: an id in a link must not let anyone guess another patient's screening.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}
