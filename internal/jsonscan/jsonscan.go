// Package jsonscan walks JSON that is already known to be valid, by byte offsets, without
// decoding it: the grouping pass of a batch and the FHIR Bundle reader use it to look at
// a resource's top-level members far faster than encoding/json could. On input that is
// not valid JSON the functions stay within the slice but their answers mean nothing.
package jsonscan

import "bytes"

// Space returns the index of the first byte at or after i that is not JSON whitespace.
func Space(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// StringEnd returns the index just past the string that starts at b[i] == '"'.
func StringEnd(b []byte, i int) int { return orEnd(b, CompleteStringEnd(b, i)) }

// ValueEnd returns the index just past the value that starts at b[i].
func ValueEnd(b []byte, i int) int { return orEnd(b, CompleteValueEnd(b, i)) }

// orEnd reads "not complete" (-1) as the end of b: valid JSON is never cut short.
func orEnd(b []byte, end int) int {
	if end < 0 {
		return len(b)
	}
	return end
}

// CompleteStringEnd is StringEnd for input that may be cut short (a salvaged line):
// -1 when the string is not closed. It jumps from quote to quote (bytes.IndexByte is
// many times faster than a loop over the bytes of a long string) and counts the
// backslashes before each: an odd number escapes it.
func CompleteStringEnd(b []byte, i int) int {
	for i++; i < len(b); {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return -1
		}
		q += i
		n := 0
		for j := q - 1; j >= i && b[j] == '\\'; j-- {
			n++
		}
		if n%2 == 0 {
			return q + 1
		}
		i = q + 1
	}
	return -1
}

// CompleteValueEnd is ValueEnd for input that may be cut short: -1 when the value is not
// complete (cut short, unbalanced). A number or literal must be followed by something.
func CompleteValueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return CompleteStringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				e := CompleteStringEnd(b, i)
				if e < 0 {
					return -1
				}
				i = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i
		}
	}
	return -1
}

// Members calls f with each member of the object b (its name as written, without the
// quotes, and its value) until f returns false. ok is false when b is not an object or f
// stopped the walk. Input that is not valid JSON ends the walk, never the program.
func Members(b []byte, f func(name, val []byte) bool) (ok bool) {
	i := Space(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	for i = Space(b, i+1); i < len(b) && b[i] == '"'; {
		end := StringEnd(b, i)
		if end-1 <= i {
			return false
		}
		name := b[i+1 : end-1]
		if i = Space(b, Space(b, end)+1); i >= len(b) { // past the colon
			return false
		}
		valEnd := ValueEnd(b, i)
		if !f(name, b[i:valEnd]) {
			return false
		}
		if i = Space(b, valEnd); i < len(b) && b[i] == ',' {
			i = Space(b, i+1)
		}
	}
	return true
}

// Elements calls f with each element of the array b until f returns false. ok is false
// when b is not an array or f stopped the walk.
func Elements(b []byte, f func(val []byte) bool) (ok bool) {
	i := Space(b, 0)
	if i >= len(b) || b[i] != '[' {
		return false
	}
	for i = Space(b, i+1); i < len(b) && b[i] != ']'; {
		valEnd := ValueEnd(b, i)
		if valEnd <= i || !f(b[i:valEnd]) {
			return false
		}
		if i = Space(b, valEnd); i < len(b) && b[i] == ',' {
			i = Space(b, i+1)
		}
	}
	return true
}
