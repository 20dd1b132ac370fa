// Package synthgen makes large FHIR Bulk Data exports (NDJSON) from a few patient
// Bundles by repeating them with new ids, for load tests and benchmarks of the batch
// screening: every resource id, and every reference to one, gets a copy's suffix, so
// each copy is a distinct set of patients with the same clinical shape.
package synthgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/trialscreen/trialscreen/fhirbundle"
)

// Template is one Bundle prepared for copying.
type Template struct {
	lines []line
}

// line is one resource as NDJSON, cut where a copy's suffix goes (after each id).
type line struct {
	typ  string
	segs [][]byte
}

// Prepare reads a Bundle holding one patient's record. References to its entries given
// by fullUrl (urn:uuid in Synthea's transaction bundles) become Type/id, as in an export.
func Prepare(bundle []byte) (*Template, error) {
	b, err := fhirbundle.SplitBundle(bundle)
	if err != nil {
		return nil, err
	}
	type head struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	heads := make([]head, len(b.Entries))
	var lines [][]byte
	refs := map[string]string{}
	var ids []string
	for i, e := range b.Entries {
		var buf bytes.Buffer
		if err := json.Compact(&buf, e.Resource); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		lines = append(lines, buf.Bytes())
		if err := json.Unmarshal(e.Resource, &heads[i]); err != nil || heads[i].ResourceType == "" || heads[i].ID == "" {
			return nil, fmt.Errorf("entry %d: a resource with a type and an id is needed", i)
		}
		ids = append(ids, heads[i].ID)
		if strings.HasPrefix(e.FullURL, "urn:") {
			refs[`"`+e.FullURL+`"`] = `"` + heads[i].ResourceType + "/" + heads[i].ID + `"`
		}
	}
	t := &Template{}
	for i, l := range lines {
		s := string(l)
		for from, to := range refs {
			s = strings.ReplaceAll(s, from, to)
		}
		t.lines = append(t.lines, line{typ: heads[i].ResourceType, segs: cut(s, ids)})
	}
	return t, nil
}

// cut splits s after every occurrence of an id as a whole JSON string ("id") or as the
// end of a reference (/id").
func cut(s string, ids []string) [][]byte {
	var at []int
	for _, id := range ids {
		for _, pat := range []string{`"` + id + `"`, `/` + id + `"`} {
			for off := 0; ; {
				i := strings.Index(s[off:], pat)
				if i < 0 {
					break
				}
				at = append(at, off+i+len(pat)-1) // before the closing quote
				off += i + len(pat) - 1
			}
		}
	}
	slices.Sort(at)
	at = slices.Compact(at)
	var segs [][]byte
	prev := 0
	for _, i := range at {
		segs = append(segs, []byte(s[prev:i]))
		prev = i
	}
	return append(segs, []byte(s[prev:]))
}

// Write writes copy k of the template, each resource as a line to out(its type), and
// returns the bytes written.
func (t *Template) Write(k int, out func(resourceType string) io.Writer) (int64, error) {
	suffix := []byte("-g" + strconv.Itoa(k))
	var n int64
	var buf []byte
	for _, l := range t.lines {
		buf = buf[:0]
		for i, seg := range l.segs {
			if i > 0 {
				buf = append(buf, suffix...)
			}
			buf = append(buf, seg...)
		}
		buf = append(buf, '\n')
		m, err := out(l.typ).Write(buf)
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
