// Package bigrecord makes large patient records for tests, benchmarks and measurements
// of the service's memory: a real record grown with copies of its own resources (a
// record of many years looks like that: the same panels, again and again), and a
// Bundle padded with one entry repeated (what an attacker sends).
package bigrecord

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Grow appends to bundle copies of its entries whose resource type keep selects, each
// with a new id ("<id>-c<n>") and a fullUrl naming it, until the Bundle holds entries
// entries or would grow past maxBytes (0: no byte limit). It returns the Bundle as
// compact JSON and how many entries it holds.
func Grow(bundle []byte, keep func(resourceType string) bool, entries, maxBytes int) ([]byte, int, error) {
	var b struct {
		Entry []json.RawMessage `json:"entry"`
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(bundle, &top); err != nil {
		return nil, 0, fmt.Errorf("bigrecord: %w", err)
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		return nil, 0, fmt.Errorf("bigrecord: %w", err)
	}
	type resource = map[string]any
	var models []resource
	for _, e := range b.Entry {
		var x struct {
			Resource resource `json:"resource"`
		}
		if json.Unmarshal(e, &x) == nil && x.Resource != nil {
			if t, _ := x.Resource["resourceType"].(string); keep(t) {
				models = append(models, x.Resource)
			}
		}
	}
	if len(models) == 0 {
		return nil, 0, errors.New("bigrecord: the Bundle has no entry to copy")
	}
	var out bytes.Buffer
	writeHead(&out, top)
	n := 0
	for _, e := range b.Entry {
		out.WriteString(sep(n))
		n++
		compact(&out, e)
	}
	for i := 0; n < entries; i++ {
		m := models[i%len(models)]
		id, _ := m["id"].(string)
		cp := make(resource, len(m))
		for k, v := range m {
			cp[k] = v
		}
		cp["id"] = id + "-c" + strconv.Itoa(i)
		e, err := json.Marshal(map[string]any{"fullUrl": cp["resourceType"].(string) + "/" + cp["id"].(string), "resource": cp})
		if err != nil {
			return nil, 0, fmt.Errorf("bigrecord: %w", err)
		}
		if maxBytes > 0 && out.Len()+len(e)+3 > maxBytes {
			break
		}
		out.WriteString(sep(n))
		out.Write(e)
		n++
	}
	out.WriteString("]}")
	return out.Bytes(), n, nil
}

// Pad appends n copies of entry (e.g. "{}") to bundle's entries, as compact JSON.
func Pad(bundle []byte, entry string, n int) ([]byte, error) {
	var top map[string]json.RawMessage
	var b struct {
		Entry []json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(bundle, &top); err != nil {
		return nil, fmt.Errorf("bigrecord: %w", err)
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		return nil, fmt.Errorf("bigrecord: %w", err)
	}
	var out bytes.Buffer
	out.Grow(len(bundle) + n*(len(entry)+1))
	writeHead(&out, top)
	for i, e := range b.Entry {
		out.WriteString(sep(i))
		compact(&out, e)
	}
	for i := range n {
		out.WriteString(sep(len(b.Entry) + i))
		out.WriteString(entry)
	}
	out.WriteString("]}")
	return out.Bytes(), nil
}

// PadTo is Pad with as many copies of entry as fit in size bytes.
func PadTo(bundle []byte, entry string, size int) ([]byte, error) {
	base, err := Pad(bundle, entry, 0)
	if err != nil {
		return nil, err
	}
	return Pad(bundle, entry, max(0, (size-len(base))/(len(entry)+1)))
}

// writeHead writes the Bundle's members other than entry, then opens entry.
func writeHead(out *bytes.Buffer, top map[string]json.RawMessage) {
	out.WriteByte('{')
	for k, v := range top {
		if k == "entry" {
			continue
		}
		name, _ := json.Marshal(k)
		out.Write(name)
		out.WriteByte(':')
		compact(out, v)
		out.WriteByte(',')
	}
	out.WriteString(`"entry":[`)
}

func compact(out *bytes.Buffer, v []byte) {
	if err := json.Compact(out, v); err != nil {
		out.Write(v) // valid JSON: cannot happen
	}
}

func sep(i int) string {
	if i == 0 {
		return ""
	}
	return ","
}
