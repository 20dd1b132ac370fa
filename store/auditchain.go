package store

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// genesisHash is the prev_hash of the first audit row: nothing comes before it.
var genesisHash = strings.Repeat("0", 2*sha256.Size)

// chainHash is an audit row's hash: hex SHA-256 of the previous row's hash (its 32
// bytes) followed by the row's canonical bytes. The canonical bytes are
// "<seq>\n<created_us>\n<event_id>\n<event JSON>": every stored column but the hashes, in
// a form both backends give back exactly (integers as decimals, the event as stored
// text), so that changing any of them, or the order of rows, changes the hash.
func chainHash(prevHash string, seq, createdUS int64, eventID string, event []byte) string {
	prev, err := hex.DecodeString(prevHash)
	if err != nil || len(prev) != sha256.Size {
		// A prev_hash that is not 32 bytes of hex is itself a broken link; hash its text so
		// that verify reports a mismatch rather than failing.
		prev = []byte(prevHash)
	}
	h := sha256.New()
	h.Write(prev)
	h.Write([]byte(strconv.FormatInt(seq, 10) + "\n" + strconv.FormatInt(createdUS, 10) + "\n" + eventID + "\n"))
	h.Write(event)
	return hex.EncodeToString(h.Sum(nil))
}
