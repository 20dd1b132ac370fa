package terminology

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// ValueSet is a published value set's expansion, shipped with where it came from. The
// protocol's codesets name the value sets that expand the concepts they mean "with
// descendants".
type ValueSet struct {
	ID      string   `json:"id"`
	Title   string   `json:"title"`
	OID     string   `json:"oid"`
	URL     string   `json:"url"`
	Version string   `json:"version"`
	Source  string   `json:"source"`
	Covers  []Member `json:"covers"` // the concepts the expansion stands for
	Codes   []Member `json:"codes"`
}

// Member is one code of a value set, with its display for people.
type Member struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// Coding is the member as a coding.
func (m Member) Coding() Coding { return Coding{System: m.System, Code: m.Code} }

// ReadValueSets reads every *.json value set file in dir of fsys, strictly: an unknown
// field, a missing id, source or code, or an unknown system is a problem.
func ReadValueSets(fsys fs.FS, dir string) (map[string]*ValueSet, error) {
	files, err := fs.Glob(fsys, path.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	out := map[string]*ValueSet{}
	var probs []string
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		vs, p := parseValueSet(data, f)
		probs = append(probs, p...)
		if vs == nil {
			continue
		}
		if _, dup := out[vs.ID]; dup {
			probs = append(probs, fmt.Sprintf("%s: value set id %q is given by another file too", f, vs.ID))
			continue
		}
		out[vs.ID] = vs
	}
	if len(probs) > 0 {
		return nil, &TableError{Problems: probs}
	}
	return out, nil
}

func parseValueSet(data []byte, name string) (*ValueSet, []string) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var vs ValueSet
	if err := dec.Decode(&vs); err != nil {
		return nil, []string{fmt.Sprintf("%s: %v", name, err)}
	}
	var probs []string
	if vs.ID == "" {
		probs = append(probs, name+": id is required")
	}
	if vs.Source == "" {
		probs = append(probs, name+": source is required (where the expansion was read)")
	}
	if len(vs.Codes) == 0 {
		probs = append(probs, name+": codes is empty")
	}
	for i, m := range vs.Codes {
		if m.Code == "" || strings.TrimSpace(m.Code) != m.Code {
			probs = append(probs, fmt.Sprintf("%s: codes[%d]: code %q is empty or padded", name, i, m.Code))
		}
		switch m.System {
		case SNOMED, ICD10CM, ICD10, LOINC, RxNorm:
		default:
			probs = append(probs, fmt.Sprintf("%s: codes[%d]: system %q is not one an expansion may use", name, i, m.System))
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return &vs, nil
}
