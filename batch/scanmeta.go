package batch

import (
	"bytes"

	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/internal/jsonscan"
)

// A resource its sender masked, redacted or cut to a subset (meta.security, meta.tag)
// makes its type partial in fhirbundle, and a masked resource may have lost the very
// code that would make it relevant. So such a line must reach fhirbundle whole, never as
// a stub. Nearly every exported resource has a meta (Synthea tags each one; servers
// write versionId and lastUpdated), so the usual case is settled on the bytes, without
// decoding: decoding every meta would cost more than the rest of the line's scan.

// withheldWords are the codes fhirbundle looks for, in lower case.
var withheldWords = [][]byte{[]byte("masked"), []byte("redacted"), []byte("subsetted")}

// metaIsPlain reports that a meta value (valid JSON) says nothing was withheld and that
// fhirbundle's peek decodes it without error, so a stub without it reads alike. When it
// cannot be told from the bytes, the meta is decoded as fhirbundle decodes it.
func metaIsPlain(meta []byte) bool {
	if isNull(meta) {
		return true
	}
	if !bytes.ContainsRune(meta, '\\') && !containsAnyFold(meta, withheldWords) && codingsArePlain(meta) {
		return true
	}
	withheld, err := fhirbundle.MetaWithholds(meta)
	return err == nil && !withheld
}

// codingsArePlain: meta is an object whose members named (in any case) security or
// tag are arrays of objects with only string values, as peekMeta expects.
func codingsArePlain(meta []byte) bool {
	return jsonscan.Members(meta, func(name, val []byte) bool {
		if !bytes.EqualFold(name, []byte("security")) && !bytes.EqualFold(name, []byte("tag")) {
			return true
		}
		return isNull(val) || jsonscan.Elements(val, func(coding []byte) bool {
			return jsonscan.Members(coding, func(_, v []byte) bool { return len(v) > 0 && v[0] == '"' })
		})
	})
}

// containsAnyFold reports whether b holds one of the lower-case words in any case.
func containsAnyFold(b []byte, words [][]byte) bool {
	for i, c := range b {
		for _, w := range words {
			if c|0x20 == w[0] && len(b)-i >= len(w) && bytes.EqualFold(b[i:i+len(w)], w) {
				return true
			}
		}
	}
	return false
}
