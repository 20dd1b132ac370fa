package batch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/screening"
)

// group is one patient's records from the sorted stream, copied out of the sort's
// buffers so that a worker can read them while the stream moves on.
type group struct {
	key     string
	lines   []groupLine
	bundles []uint32 // files
	ids     []uint64 // lines of an id list
	first   record   // where the patient first appears (file, line)
}

type groupLine struct {
	file     uint32
	line     uint64
	medRef   string
	patient  bool // the Patient resource itself
	resource []byte
}

// walkGroups reads the sorted records and calls emit with each patient's group.
func walkGroups(ctx context.Context, it iterator, emit func(*group) error) error {
	var g *group
	for n := 0; ; n++ {
		r, err := it.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if g == nil || g.key != string(r.key) {
			if g != nil {
				if err := emit(g); err != nil {
					return err
				}
			}
			g = &group{key: string(r.key), first: record{file: r.file, line: r.line}}
		}
		switch r.kind {
		case kindResource, kindPatient:
			g.lines = append(g.lines, groupLine{file: r.file, line: r.line, medRef: string(r.aux), patient: r.kind == kindPatient, resource: clone(r.payload)})
		case kindBundle:
			g.bundles = append(g.bundles, r.file)
		case kindID:
			g.ids = append(g.ids, r.line)
		default:
			return errCorruptRun
		}
	}
	if g != nil {
		return emit(g)
	}
	return nil
}

func clone(b []byte) []byte { return append(make([]byte, 0, len(b)), b...) }

// filesPatient turns a group from exported files into a Patient.
func (s *scanner) filesPatient(g *group) (Patient, bool) {
	where := Problem{File: s.files[g.first.file].path, Line: g.first.line}
	p := Patient{ID: g.key, Where: where}
	reader := s.env.Reader
	switch {
	case len(g.bundles) > 1 || (len(g.bundles) == 1 && len(g.lines) > 0):
		s.problem(int(g.first.file), g.first.line, "this patient's record is given more than once (in %d Bundle files and %d NDJSON lines); not screened: give each patient once", len(g.bundles), len(g.lines))
		return p, false
	case len(g.bundles) == 1:
		path := s.files[g.bundles[0]].path
		p.Load = func(context.Context) (*screening.Record, error) {
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("batch: input %w", err)
			}
			return reader.ReadBundle(data, g.key)
		}
		return p, true
	}
	p.Load = func(context.Context) (*screening.Record, error) { return s.readLines(g) }
	return p, true
}

// readLines reads one patient's NDJSON resources, with the Medications they reference.
func (s *scanner) readLines(g *group) (*screening.Record, error) {
	entries := make([]fhirbundle.Entry, 0, len(g.lines)+1)
	hasPatient := false
	for i, l := range g.lines {
		entries = append(entries, fhirbundle.Entry{Index: i, Resource: l.resource})
		hasPatient = hasPatient || l.patient
	}
	if !hasPatient {
		if len(g.lines) == 1 {
			return nil, errors.New("1 resource refers to a patient the input has no Patient resource for")
		}
		return nil, fmt.Errorf("%d resources refer to a patient the input has no Patient resource for", len(g.lines))
	}
	added := map[string]bool{}
	for _, l := range g.lines {
		id, ok := fhirbundle.ReferenceID(l.medRef, "Medication")
		if !ok || added[id] {
			continue
		}
		added[id] = true
		med, err := s.meds.get(id)
		if err != nil {
			return nil, err
		}
		if med != nil {
			entries = append(entries, fhirbundle.Entry{Index: len(entries), Resource: med})
		}
	}
	rec, err := s.env.Reader.ReadResources(g.key, entries)
	if err != nil {
		return nil, err
	}
	// An unreadable entry is named by its file and line: its index in the patient's
	// group would mean nothing to whoever fixes the export.
	for i := range rec.Unreadable {
		u := &rec.Unreadable[i]
		if u.Index >= 0 && u.Index < len(g.lines) {
			l := g.lines[u.Index]
			u.Problem = fmt.Sprintf("%s line %d: %s", s.files[l.file].path, l.line, u.Problem)
		}
	}
	return rec, nil
}
