package batch

import (
	"bytes"
	"unicode/utf8"

	"github.com/trialscreen/trialscreen/internal/jsonscan"
)

// Fast paths for the few members scanResource decodes. The line was checked by
// json.Valid already, so a value can be walked without checking its syntax again.
// Each path takes only the plain shapes Synthea and most exporters write (exact member
// names, strings without escapes, valid UTF-8) and reports ok=false for anything else,
// which encoding/json then decodes as before: the result is the same either way.

// plainString decodes a JSON string without escapes; ok is false for any other value.
func plainString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' {
		return "", false
	}
	in := b[1 : len(b)-1]
	if bytes.IndexByte(in, '\\') >= 0 || !utf8.Valid(in) {
		return "", false
	}
	return string(in), true
}

// members calls f with each member of the object b (name unquoted only if plain); it
// stops when f returns false. ok is false when b is not an object or a name has an
// escape.
func members(b []byte, f func(name, val []byte) bool) bool {
	return jsonscan.Members(b, func(name, val []byte) bool {
		return bytes.IndexByte(name, '\\') < 0 && f(name, val)
	})
}

// plainField reads a string member named exactly want: null leaves *dst as it is (as
// encoding/json does), a string without escapes is stored; a member whose name only
// matches want ignoring case, or any other value, makes the walk fall back (false).
func plainField(name, val []byte, want string, dst *string) bool {
	if string(name) != want {
		return len(name) != len(want) || !bytes.EqualFold(name, []byte(want))
	}
	if isNull(val) {
		return true
	}
	s, ok := plainString(val)
	if ok {
		*dst = s
	}
	return ok
}

// plainRef decodes {"reference": "..."} as ref does.
func plainRef(b []byte) (string, bool) {
	var r string
	ok := members(b, func(name, val []byte) bool { return plainField(name, val, "reference", &r) })
	return r, ok
}

// plainConcept decodes a CodeableConcept's codings as concept does, and checks its text
// is a string (the peek decodes it too).
func plainConcept(b []byte) ([]codingKV, bool) {
	var out []codingKV
	ok := members(b, func(name, val []byte) bool {
		if string(name) == "text" {
			return val[0] == '"' || isNull(val)
		}
		if string(name) != "coding" {
			return !foldsTo(name, "coding") && !foldsTo(name, "text")
		}
		if isNull(val) {
			out = nil // encoding/json sets a slice to nil for null
			return true
		}
		if val[0] != '[' {
			return false
		}
		out = out[:0] // a repeated member replaces the earlier one
		i := jsonscan.Space(val, 1)
		for i < len(val) && val[i] != ']' {
			end := jsonscan.ValueEnd(val, i)
			var c codingKV
			if !members(val[i:end], func(n, v []byte) bool {
				return plainField(n, v, "system", &c.system) && plainField(n, v, "code", &c.code)
			}) {
				return false
			}
			out = append(out, c)
			i = jsonscan.Space(val, end)
			if i < len(val) && val[i] == ',' {
				i = jsonscan.Space(val, i+1)
			}
		}
		return true
	})
	if out == nil {
		out = []codingKV{}
	}
	return out, ok
}

// foldsTo reports whether name is want in another case: encoding/json would take it
// for want, so only encoding/json can say what it reads.
func foldsTo(name []byte, want string) bool {
	return len(name) == len(want) && bytes.EqualFold(name, []byte(want))
}

// plainComponents appends the codes of component[].code to out as components does; ok
// is false for any shape but an array of objects each giving code at most once.
func plainComponents(b []byte, out []codingKV) ([]codingKV, bool) {
	ok := jsonscan.Elements(b, func(el []byte) bool {
		var code []byte
		if !members(el, func(name, val []byte) bool {
			if string(name) == "code" {
				if code != nil {
					return false // given twice: encoding/json merges the two
				}
				code = val
				return true
			}
			return !foldsTo(name, "code")
		}) {
			return false
		}
		if code == nil || isNull(code) {
			return true
		}
		cs, ok := plainConcept(code)
		out = append(out, cs...)
		return ok
	})
	return out, ok
}
