package batch

import "github.com/trialscreen/trialscreen/internal/jsonscan"

// validJSON reports whether b is one valid JSON value, exactly as json.Valid does (the
// same grammar, the same nesting limit, bytes of any value in strings), in one tight
// loop: json.Valid steps a state function per byte and was half of the grouping pass.
// FuzzValidJSON holds it to json.Valid.
func validJSON(b []byte) bool {
	valid, _ := checkJSON(b)
	return valid
}

// checkJSON is validJSON that also reports whether the value holds whitespace outside
// its strings, i.e. whether json.Compact would change it once the space around it is
// trimmed.
func checkJSON(b []byte) (valid, spaced bool) {
	var stackBuf [64]byte
	stack := stackBuf[:0] // '{' or '[' per open container
	// Space before the value (and after it) is not in it: it does not make b spaced.
	i := jsonscan.Space(b, 0)
	for {
		// A value starts at b[i].
		if i >= len(b) {
			return false, spaced
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			if len(stack) >= maxJSONDepth {
				return false, spaced
			}
			stack = append(stack, c)
			i = space(b, i+1, &spaced)
			if c == '{' {
				if i < len(b) && b[i] == '}' {
					stack = stack[:len(stack)-1]
					i++
					break
				}
				var ok bool
				if i, ok = objectKey(b, i, &spaced); !ok {
					return false, spaced
				}
				continue
			}
			if i < len(b) && b[i] == ']' {
				stack = stack[:len(stack)-1]
				i++
				break
			}
			continue
		case c == '"':
			var ok bool
			if i, ok = scanJSONString(b, i); !ok {
				return false, spaced
			}
		case c == '-' || (c >= '0' && c <= '9'):
			var ok bool
			if i, ok = scanJSONNumber(b, i); !ok {
				return false, spaced
			}
		case c == 't':
			if !hasLiteral(b, i, "true") {
				return false, spaced
			}
			i += 4
		case c == 'f':
			if !hasLiteral(b, i, "false") {
				return false, spaced
			}
			i += 5
		case c == 'n':
			if !hasLiteral(b, i, "null") {
				return false, spaced
			}
			i += 4
		default:
			return false, spaced
		}
		// A value ended before b[i]: close containers, or go on to the next value.
		for {
			if len(stack) == 0 {
				return jsonscan.Space(b, i) == len(b), spaced
			}
			i = space(b, i, &spaced)
			if i >= len(b) {
				return false, spaced
			}
			top := stack[len(stack)-1]
			if b[i] == ',' {
				i = space(b, i+1, &spaced)
				if top == '{' {
					var ok bool
					if i, ok = objectKey(b, i, &spaced); !ok {
						return false, spaced
					}
				}
				break
			}
			if (top == '{' && b[i] != '}') || (top == '[' && b[i] != ']') {
				return false, spaced
			}
			stack = stack[:len(stack)-1]
			i++
		}
	}
}

// maxJSONDepth is encoding/json's nesting limit.
const maxJSONDepth = 10000

// objectKey reads `"name" :` at b[i] and returns where the value starts.
func objectKey(b []byte, i int, spaced *bool) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	i, ok := scanJSONString(b, i)
	if !ok {
		return i, false
	}
	i = space(b, i, spaced)
	if i >= len(b) || b[i] != ':' {
		return i, false
	}
	return space(b, i+1, spaced), true
}

// space is jsonscan.Space noting in *spaced whether it skipped any whitespace.
func space(b []byte, i int, spaced *bool) int {
	j := jsonscan.Space(b, i)
	if j != i {
		*spaced = true
	}
	return j
}

// scanJSONString checks the string at b[i] == '"' and returns the index past it.
func scanJSONString(b []byte, i int) (int, bool) {
	for i++; i < len(b); i++ {
		c := b[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		switch c {
		case '"':
			return i + 1, true
		case '\\':
			i++
			if i >= len(b) {
				return i, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return i, false
				}
				for _, h := range b[i+1 : i+5] {
					if !isHex(h) {
						return i, false
					}
				}
				i += 4
			default:
				return i, false
			}
		default: // a control character
			return i, false
		}
	}
	return i, false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// scanJSONNumber checks the number at b[i] and returns the index past it.
func scanJSONNumber(b []byte, i int) (int, bool) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return i, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return i, false
		}
		i = j
	}
	return i, true
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

func hasLiteral(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}
