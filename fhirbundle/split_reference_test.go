package fhirbundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/trialscreen/trialscreen/internal/jsonscan"
)

// FuzzSplitMatchesDecode: splitting by a scan of the bytes gives what decoding the Bundle
// with encoding/json gave, for any input: the same error or the same entries, with names
// in any case or escaped, members given twice, and malformed entries. One exception:
// two entry arrays in one Bundle, which the decode merged element by element (a member
// the second's entry lacks kept the first's value); the scan takes the last, as for
// every other member given twice.
func FuzzSplitMatchesDecode(f *testing.F) {
	for _, s := range []string{
		`{"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient"}}, {}, null]}`,
		`{"resourceType": "Bundle", "entry": [null, 7, {"fullUrl": 3, "resource": {}}, {"resource": null}]}`,
		`{"resourceType": "Bundle", "ENTRY": [{"FullURL": "a\u00e9", "Resource": 1}], "entry": [{"fullUrl": "b"}]}`,
		`{"resourceType": "Bundle", "entr\u0079": [{"fullUrl": "x"}], "type": 5, "total": "3", "link": [{"relation": "next", "url": "u"}, 4]}`,
		`{"resourceType": "Bundle", "entry": {"resource": {}}}`,
		`{"resourceType": "Bundle", "entry": null, "total": 2}`,
		`{"resourceType": "Patient"}`, `{"resourceType": 1}`, `{}`, `[]`, `not json`, ``, `{"resourceType": "Bundle", "entry": [{"fullUrl": "\ud800"}]}`,
		"{\"resourceType\": \"Bundle\", \"entry\": [{\"fullUrl\": \"\xff\"}]}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entryArrays := 0
		jsonscan.Members(data, func(name, _ []byte) bool {
			if nameIs(name, "entry") {
				entryArrays++
			}
			return true
		})
		if entryArrays > 1 && json.Valid(data) {
			t.Skip("two entry members")
		}
		got, gotErr := SplitBundleMax(data, 0)
		want, wantErr := referenceSplit(data)
		if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
			t.Fatalf("error %v; the decode gave %v", gotErr, wantErr)
		}
		if gotErr != nil {
			return
		}
		if len(got.Entries) == 0 {
			got.Entries = nil
		}
		if len(want.Entries) == 0 {
			want.Entries = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("split\n got %+v\nwant %+v", got, want)
		}
	})
}

// referenceSplit is SplitBundle as it was before it split by a scan of the bytes (one
// encoding/json decode, entry by entry where an entry is malformed): the fuzz test holds
// the scan to what the decode gave.
func referenceSplit(data []byte) (*Bundle, error) {
	// Fast path: one decode of the whole bundle. Any type mismatch (an entry that is not an
	// object, a fullUrl that is not a string) falls back to splitting entry by entry.
	var fast struct {
		ResourceType json.RawMessage `json:"resourceType"`
		Type         json.RawMessage `json:"type"`
		Total        json.RawMessage `json:"total"`
		Link         json.RawMessage `json:"link"`
		Entry        []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	err := json.Unmarshal(data, &fast)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return nil, errorf(ErrNotJSON, "not FHIR JSON: %v at offset %d", se, se.Offset)
	}
	if !isObject(data) {
		return nil, errorf(ErrNotBundle, "not a FHIR Bundle: the input is a JSON %s, not an object", jsonKind(data))
	}
	b := &Bundle{Total: -1}
	var entryRaw json.RawMessage
	if err == nil {
		b.Entries = make([]Entry, len(fast.Entry))
		for i, e := range fast.Entry {
			b.Entries[i] = Entry{Index: i, FullURL: e.FullURL, Resource: nullAsNil(e.Resource)}
		}
	} else {
		var slow struct {
			ResourceType json.RawMessage `json:"resourceType"`
			Type         json.RawMessage `json:"type"`
			Total        json.RawMessage `json:"total"`
			Link         json.RawMessage `json:"link"`
			Entry        json.RawMessage `json:"entry"`
		}
		if err := json.Unmarshal(data, &slow); err != nil {
			return nil, errorf(ErrNotBundle, "not a FHIR Bundle: %v", describeJSONError(err))
		}
		fast.ResourceType, fast.Type, fast.Total, fast.Link = slow.ResourceType, slow.Type, slow.Total, slow.Link
		entryRaw = slow.Entry
	}
	var rt string
	if len(fast.ResourceType) == 0 {
		return nil, errorf(ErrNotBundle, "not a FHIR Bundle: there is no resourceType")
	}
	if err := json.Unmarshal(fast.ResourceType, &rt); err != nil {
		return nil, errorf(ErrNotBundle, "not a FHIR Bundle: resourceType is JSON %s, not a string", jsonKind(fast.ResourceType))
	}
	if rt != "Bundle" {
		return nil, errorf(ErrNotBundle, "not a FHIR Bundle: resourceType is %q", rt)
	}
	_ = json.Unmarshal(fast.Type, &b.Type)
	if len(fast.Total) > 0 {
		_ = json.Unmarshal(fast.Total, &b.Total)
	}
	if len(fast.Link) > 0 {
		var links []json.RawMessage
		_ = json.Unmarshal(fast.Link, &links)
		for _, l := range links {
			var x Link
			if json.Unmarshal(l, &x) == nil {
				b.Links = append(b.Links, x)
			}
		}
	}
	if entryRaw != nil {
		entries, err := referenceSplitEntries(entryRaw)
		if err != nil {
			return nil, err
		}
		b.Entries = entries
	}
	return b, nil
}

// splitEntries is the careful path: each entry on its own, so one bad entry is reported
// and the others are kept.
func referenceSplitEntries(raw json.RawMessage) ([]Entry, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, errorf(ErrNotBundle, "not a FHIR Bundle: entry is JSON %s, not an array", jsonKind(raw))
	}
	out := make([]Entry, len(items))
	for i, it := range items {
		out[i].Index = i
		if !isObject(it) {
			out[i].Problem = fmt.Sprintf("entry is JSON %s, not an object", jsonKind(it))
			continue
		}
		var e struct {
			FullURL  json.RawMessage `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
		}
		_ = json.Unmarshal(it, &e) // cannot fail: it is a valid object and the fields are raw
		if len(e.FullURL) > 0 && string(e.FullURL) != "null" {
			if err := json.Unmarshal(e.FullURL, &out[i].FullURL); err != nil {
				out[i].Problem = fmt.Sprintf("fullUrl is JSON %s, not a string", jsonKind(e.FullURL))
				continue
			}
		}
		out[i].Resource = nullAsNil(e.Resource)
	}
	return out, nil
}
