package store

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// ErrBadCursor is what ListByPatient gives for a cursor it did not make.
var ErrBadCursor = errors.New("store: the cursor is not one a previous page gave")

// cursorPos is where a page ended: keyset paging on (created, id), so that screenings
// stored while a caller pages never shift what the next page holds.
type cursorPos struct {
	createdUS int64
	id        string
}

// String is the opaque, URL-safe form a caller passes back.
func (c cursorPos) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.createdUS, 10) + ":" + c.id))
}

func parseCursor(s string) (cursorPos, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursorPos{}, ErrBadCursor
	}
	us, id, ok := strings.Cut(string(raw), ":")
	if !ok || id == "" {
		return cursorPos{}, ErrBadCursor
	}
	n, err := strconv.ParseInt(us, 10, 64)
	if err != nil {
		return cursorPos{}, ErrBadCursor
	}
	return cursorPos{createdUS: n, id: id}, nil
}
