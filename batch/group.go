package batch

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

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
	over    int      // resources past the cap on a record's entries, counted and not kept
}

type groupLine struct {
	file       uint32
	line       uint64
	medRef     string
	patient    bool // the Patient resource itself
	unreadable bool // resource is an encoded unreadLine
	resource   []byte
}

// walkGroups reads the sorted records and calls emit with each patient's group. A
// group keeps at most maxLines resource lines (the cap on a record's entries): the rest
// are only counted, so that one patient of a million lines is refused, not read.
func walkGroups(ctx context.Context, it iterator, maxLines int, emit func(*group) error) error {
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
		case kindResource, kindPatient, kindUnreadable:
			if len(g.lines) >= maxLines {
				g.over++
				continue
			}
			g.lines = append(g.lines, groupLine{file: r.file, line: r.line, medRef: string(r.aux), patient: r.kind == kindPatient,
				unreadable: r.kind == kindUnreadable, resource: clone(r.payload)})
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
		anyone := s.anyone.entries()
		p.Load = func(context.Context) (*screening.Record, error) {
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("batch: input %w", err)
			}
			rec, err := reader.ReadBundle(data, g.key)
			if err != nil {
				return nil, err
			}
			rec.Unreadable = append(rec.Unreadable, anyone...)
			return rec, nil
		}
		return p, true
	}
	if g.over > 0 {
		err := &fhirbundle.TooManyEntriesError{What: "the patient's record", Count: len(g.lines) + g.over, Max: reader.MaxEntries()}
		p.Load = func(context.Context) (*screening.Record, error) { return nil, err }
		return p, true
	}
	if err := samePatient(g); err != nil {
		// Not screened, through Load, so that it is counted and reported as such.
		p.Load = func(context.Context) (*screening.Record, error) { return nil, err }
		return p, true
	}
	p.Load = func(context.Context) (*screening.Record, error) { return s.readLines(g) }
	return p, true
}

// samePatient checks that a group holds its Patient resource once: two different
// Patient resources with one id (a birth date each, say) cannot both be the patient, and
// picking one could pass an age criterion the other fails. Byte-identical copies (an
// export written twice) are the same resource.
func samePatient(g *group) error {
	var first []byte
	n, differ := 0, false
	for _, l := range g.lines {
		if !l.patient {
			continue
		}
		if n++; n == 1 {
			first = l.resource
		} else if !bytes.Equal(first, l.resource) {
			differ = true
		}
	}
	if differ {
		return fmt.Errorf("the input holds %d different Patient resources with this id; give each patient's Patient resource once", n)
	}
	return nil
}

// readLines reads one patient's NDJSON resources, with the Medications they reference.
func (s *scanner) readLines(g *group) (*screening.Record, error) {
	entries := make([]fhirbundle.Entry, 0, len(g.lines)+1)
	var unread []screening.UnreadableEntry
	hasPatient, brokenPatient := false, false
	for i, l := range g.lines {
		if l.unreadable {
			u, err := decodeUnread(l.resource)
			if err != nil {
				return nil, err
			}
			brokenPatient = brokenPatient || u.Type == screening.TypePatient
			unread = append(unread, screening.UnreadableEntry{Index: i, ResourceType: u.Type, Codes: u.Codes, Problem: u.Problem})
			continue
		}
		entries = append(entries, fhirbundle.Entry{Index: i, Resource: l.resource})
		hasPatient = hasPatient || l.patient
	}
	switch {
	case !hasPatient && brokenPatient:
		return nil, errors.New("the patient's Patient resource cannot be read")
	case !hasPatient && len(g.lines) == 1:
		return nil, errors.New("1 resource refers to a patient the input has no Patient resource for")
	case !hasPatient:
		return nil, fmt.Errorf("%d resources refer to a patient the input has no Patient resource for", len(g.lines))
	}
	added, meds := map[string]bool{}, 0
	for _, l := range g.lines {
		id, ok := fhirbundle.ReferenceID(l.medRef, "Medication")
		if !ok || added[id] {
			continue
		}
		added[id] = true
		if s.meds.ambiguous(id) {
			continue // left out: the reference is then unreadable (see below)
		}
		med, err := s.meds.get(id)
		if err != nil {
			return nil, err
		}
		if med != nil {
			entries = append(entries, fhirbundle.Entry{Index: len(g.lines) + meds, Resource: med})
			meds++
		}
	}
	rec, err := s.env.Reader.ReadResources(g.key, entries)
	if err != nil {
		return nil, err
	}
	rec.Unreadable = append(rec.Unreadable, unread...)
	slices.SortStableFunc(rec.Unreadable, func(a, b screening.UnreadableEntry) int { return cmp.Compare(a.Index, b.Index) })
	// An unreadable entry is named by its file and line: its index in the patient's
	// group would mean nothing to whoever fixes the export.
	for i := range rec.Unreadable {
		u := &rec.Unreadable[i]
		if u.Index >= 0 && u.Index < len(g.lines) {
			l := g.lines[u.Index]
			// The Medication was left out for being ambiguous, so the reader found it
			// missing; say why (other problems of the line are kept as they are).
			if id, ok := fhirbundle.ReferenceID(l.medRef, "Medication"); ok && s.meds.ambiguous(id) && !l.unreadable &&
				strings.Contains(u.Problem, "is not among the entries") {
				u.Problem = "its medicationReference names a Medication id the input gives with different content (or on a line that cannot be read): which drug it means cannot be told"
			}
			u.Problem = fmt.Sprintf("%s line %d: %s", s.files[l.file].path, l.line, u.Problem)
		}
	}
	rec.Unreadable = append(rec.Unreadable, s.anyone.entries()...)
	return rec, nil
}
