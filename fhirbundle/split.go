package fhirbundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/trialscreen/trialscreen/internal/jsonscan"
)

// Splitting a Bundle is the first thing done to every input, trusted or not, so it
// must cost little per entry: an entry of two bytes ("{}") must not cost hundreds. The
// entries are counted by a scan of the bytes before anything is made of them, so that
// a Bundle over the cap is refused for the price of reading it once, and the entries'
// resources are slices of the input, not copies (the input is kept as long as they are).

// DefaultMaxEntries is how many entries one patient's record may hold, unless a caller
// chooses otherwise (Reader's MaxEntries, SplitBundleMax): a Bundle, a CDS prefetch with
// all its searches together, or all the pages of the searches of one record fetched
// from a FHIR server. A real record of many years (a myeloma patient's labs, every
// panel member on its own) holds tens of thousands of entries; padding a Bundle with
// empty entries ("{}", two bytes each) must still not be able to exhaust the memory.
const DefaultMaxEntries = 100_000

// ErrTooManyEntries matches a TooManyEntriesError with errors.Is.
var ErrTooManyEntries = errors.New("too many entries")

// TooManyEntriesError is input refused for holding more entries than the cap. Count is
// how many it holds (all of them, counted without reading them).
type TooManyEntriesError struct {
	What  string // "the Bundle", "the prefetch", "the search"
	Count int
	Max   int
}

func (e *TooManyEntriesError) Error() string {
	return fmt.Sprintf("%s holds %d entries, more than the %d one patient's record may hold", e.What, e.Count, e.Max)
}

func (e *TooManyEntriesError) Unwrap() error { return ErrTooManyEntries }

// CountEntries counts the entries of a Bundle without reading them (a scan of the
// bytes). ok is false when data is not valid JSON or not an object; a Bundle without
// entries, or whose entry is not an array, counts 0.
func CountEntries(data []byte) (n int, ok bool) {
	if !json.Valid(data) || !isObject(data) {
		return 0, false
	}
	return countElements(bundleMembersOf(data).entry), true
}

// SplitBundle splits a Bundle into entries without parsing the resources, refusing one
// of more than DefaultMaxEntries entries (SplitBundleMax).
func SplitBundle(data []byte) (*Bundle, error) { return SplitBundleMax(data, DefaultMaxEntries) }

// SplitBundleMax splits a Bundle into entries without parsing the resources. It fails
// when data is not JSON, not a Bundle, or holds more than maxEntries entries (a
// TooManyEntriesError; 0: no cap); a malformed entry is returned with its Problem. The
// entries' resources are slices of data.
func SplitBundleMax(data []byte, maxEntries int) (*Bundle, error) {
	if !json.Valid(data) {
		var v struct{}
		err := json.Unmarshal(data, &v) // for the syntax error's words and offset
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, errorf(ErrNotJSON, "not FHIR JSON: %v at offset %d", se, se.Offset)
		}
		return nil, errorf(ErrNotJSON, "not FHIR JSON: %v", err)
	}
	if !isObject(data) {
		return nil, errorf(ErrNotBundle, "not a FHIR Bundle: the input is a JSON %s, not an object", jsonKind(data))
	}
	m := bundleMembersOf(data)
	var rt string
	if len(m.resourceType) == 0 {
		return nil, errorf(ErrNotBundle, "not a FHIR Bundle: there is no resourceType")
	}
	if err := json.Unmarshal(m.resourceType, &rt); err != nil {
		return nil, errorf(ErrNotBundle, "not a FHIR Bundle: resourceType is JSON %s, not a string", jsonKind(m.resourceType))
	}
	if rt != "Bundle" {
		return nil, errorf(ErrNotBundle, "not a FHIR Bundle: resourceType is %q", rt)
	}
	b := &Bundle{Total: -1}
	_ = json.Unmarshal(m.typ, &b.Type)
	if len(m.total) > 0 {
		_ = json.Unmarshal(m.total, &b.Total)
	}
	if len(m.link) > 0 {
		var links []json.RawMessage
		_ = json.Unmarshal(m.link, &links)
		for _, l := range links {
			var x Link
			if json.Unmarshal(l, &x) == nil {
				b.Links = append(b.Links, x)
			}
		}
	}
	switch {
	case len(m.entry) == 0 || string(m.entry) == "null":
		return b, nil
	case m.entry[0] != '[':
		return nil, errorf(ErrNotBundle, "not a FHIR Bundle: entry is JSON %s, not an array", jsonKind(m.entry))
	}
	n := countElements(m.entry)
	if maxEntries > 0 && n > maxEntries {
		return nil, &TooManyEntriesError{What: "the Bundle", Count: n, Max: maxEntries}
	}
	b.Entries = splitEntries(m.entry, n)
	return b, nil
}

// bundleMembers are the raw values of the Bundle members the splitter reads.
type bundleMembers struct {
	resourceType, typ, total, link, entry []byte
}

// bundleMembersOf finds the members of a valid JSON object as encoding/json would fill
// a struct with them: names compared without regard to case, the last one given wins.
func bundleMembersOf(data []byte) bundleMembers {
	var m bundleMembers
	jsonscan.Members(data, func(name, val []byte) bool {
		switch {
		case nameIs(name, "entry"):
			m.entry = val
		case nameIs(name, "resourceType"):
			m.resourceType = val
		case nameIs(name, "type"):
			m.typ = val
		case nameIs(name, "total"):
			m.total = val
		case nameIs(name, "link"):
			m.link = val
		}
		return true
	})
	return m
}

// splitEntries reads the n elements of the entry array raw. An element that is not an
// object, or a fullUrl that is not a string, is that entry's Problem and the others are
// kept. Such an entry also makes a null element a Problem, where otherwise it is an
// entry without a resource (as the Bundle's decoding into entries has always read it).
func splitEntries(raw []byte, n int) []Entry {
	const nullEntry = "entry is JSON null, not an object"
	out := make([]Entry, 0, n)
	strict, nulls := false, false
	jsonscan.Elements(raw, func(it []byte) bool {
		e := Entry{Index: len(out)}
		switch it[0] {
		case '{':
			var fullURL, res []byte
			jsonscan.Members(it, func(name, val []byte) bool {
				switch {
				case nameIs(name, "fullUrl"):
					fullURL = val
				case nameIs(name, "resource"):
					res = val
				}
				return true
			})
			switch {
			case len(fullURL) == 0 || string(fullURL) == "null":
			case fullURL[0] == '"':
				e.FullURL = jsonString(fullURL)
			default:
				e.Problem = fmt.Sprintf("fullUrl is JSON %s, not a string", jsonKind(fullURL))
				strict = true
			}
			if e.Problem == "" {
				e.Resource = nullAsNil(res)
			}
		case 'n':
			e.Problem, nulls = nullEntry, true
		default:
			e.Problem = fmt.Sprintf("entry is JSON %s, not an object", jsonKind(it))
			strict = true
		}
		out = append(out, e)
		return true
	})
	if nulls && !strict {
		for i := range out {
			if out[i].Problem == nullEntry {
				out[i].Problem = ""
			}
		}
	}
	return out
}

// countElements counts the elements of a valid JSON array (0 for anything else).
func countElements(raw []byte) int {
	n := 0
	jsonscan.Elements(raw, func([]byte) bool { n++; return true })
	return n
}

// nameIs reports whether a member name, as written between its quotes, names the field
// want the way encoding/json matches it: escapes decoded, case folded.
func nameIs(name []byte, want string) bool {
	if string(name) == want {
		return true
	}
	if bytes.IndexByte(name, '\\') >= 0 {
		var s string
		if json.Unmarshal(append(append([]byte{'"'}, name...), '"'), &s) != nil {
			return false
		}
		name = []byte(s)
	}
	return bytes.EqualFold(name, []byte(want))
}

// jsonString decodes a valid JSON string; only one with escapes or other than ASCII
// takes the decoder (which also replaces invalid UTF-8, as every other string read is).
func jsonString(v []byte) string {
	plain := true
	for _, c := range v {
		if c == '\\' || c >= 0x80 {
			plain = false
			break
		}
	}
	if plain {
		return string(v[1 : len(v)-1])
	}
	var s string
	_ = json.Unmarshal(v, &s)
	return s
}

func nullAsNil(r json.RawMessage) json.RawMessage {
	if len(r) == 0 || string(r) == "null" {
		return nil
	}
	return r
}
