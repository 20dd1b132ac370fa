package batch

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/trialscreen/trialscreen/screening"
)

// A line that cannot be read is never just dropped: what it held might have made a
// criterion fail, so dropping it could turn a fail into a pass. It is reported, and it
// becomes an unreadable entry (screening.UnreadableEntry) in the record of the patient
// it belongs to, or, when whose it is cannot be told, in every patient's record, so
// that each criterion that might have needed it is unknown (reason unreadable) exactly
// as for a broken entry of a Bundle.

// unreadLine is an unreadable line as the sort carries it to its patient's group.
type unreadLine struct {
	Type    string   `json:"t,omitempty"` // "" when the type cannot be told
	Codes   []string `json:"c,omitempty"` // nil when the codes cannot be told
	Problem string   `json:"p"`
}

func (u *unreadLine) encode() []byte {
	b, _ := json.Marshal(u)
	return b
}

func decodeUnread(b []byte) (unreadLine, error) {
	var u unreadLine
	if err := json.Unmarshal(b, &u); err != nil {
		return u, errCorruptRun
	}
	return u, nil
}

// unreadableLine decides what becomes of a line that cannot be read as a resource of a
// known patient. problem says why; info is the line's reading when it is valid JSON.
func (s *scanner) unreadableLine(file int, line []byte, problem string, info *lineInfo) lineOut {
	var o lineOut
	sv := salvage(line)
	rt, id := sv.resourceType, sv.id
	var codes []screening.Coding
	if info != nil {
		rt, id = info.resourceType, info.id
		if info.clean {
			// The codes of a resource that is valid JSON can be trusted; those of a
			// broken line cannot (the break may be in them).
			codes = make([]screening.Coding, len(info.codes))
			for i, c := range info.codes {
				codes[i] = screening.Coding{System: c.system, Code: c.code}
			}
		}
	}
	if rt == "" {
		rt = typeFromFileName(s.files[file].path)
	}
	u := unreadLine{Type: rt, Problem: problem}
	for _, c := range codes {
		u.Codes = append(u.Codes, c.Key())
	}
	p := s.env.Protocol
	switch {
	case rt == typeOutcome:
		o.fatal = "an OperationOutcome that cannot be read (" + problem + "): the export reports a problem of unknown severity, so it may be incomplete; not screening from it (fix or re-run the export)"
		return o
	case rt == "Bundle":
		// Its entries may be anyone's and of any type.
		u.Type = ""
		o.problem = problem + "; a Bundle in NDJSON input is not read, so it counts as unreadable in every patient's record"
		o.act, o.unread = actRunUnreadable, u
		return o
	case rt == "Medication":
		if id == "" {
			o.problem = problem + "; skipped (a medicationReference to its id will find no Medication and be unreadable)"
			return o
		}
		o.problem = problem + "; every medicationReference to its id counts as unreadable"
		o.act, o.medID = actMedBad, id
		return o
	case rt == screening.TypePatient:
		if id == "" {
			// Only the group keyed by its own id ever reads a Patient, and a patient
			// whose Patient resource is missing is not screened.
			o.problem = problem + "; skipped"
			return o
		}
		o.problem = problem + "; it counts as unreadable in its patient's record"
		if s.env.Keep(id) {
			o.act = actRecord
			o.rec = record{key: []byte(id), kind: kindUnreadable, payload: u.encode()}
		}
		return o
	case rt != "" && !p.NeedsType(rt), rt != "" && len(codes) > 0 && !p.Relevant(rt, codes):
		// As fhirbundle does with such an entry: it cannot change any criterion.
		o.problem = problem + "; skipped (no criterion reads it)"
		return o
	case sv.patientID != "":
		o.problem = problem + "; it counts as unreadable in its patient's record"
		if s.env.Keep(sv.patientID) {
			o.act = actRecord
			o.rec = record{key: []byte(sv.patientID), kind: kindUnreadable, payload: u.encode()}
		}
		return o
	}
	o.problem = problem + "; whose record it is cannot be told, so it counts as unreadable in every patient's record"
	o.act, o.unread = actRunUnreadable, u
	return o
}

// runUnreadable is the run's list of unreadable lines whose patient cannot be told:
// every patient's record gets them. Beyond maxRunUnreadable lines, one entry per type
// (without codes, so that it covers all of them) stands for them all: a big export with
// a broken file must not put thousands of entries into every verdict.
type runUnreadable struct {
	first  []screening.UnreadableEntry
	total  int
	byType map[string]*typeTally
}

type typeTally struct {
	n     int
	where string // the first line's file and line
}

const maxRunUnreadable = 32

func (r *runUnreadable) add(where string, u unreadLine) {
	r.total++
	if r.byType == nil {
		r.byType = map[string]*typeTally{}
	}
	t := r.byType[u.Type]
	if t == nil {
		t = &typeTally{where: where}
		r.byType[u.Type] = t
	}
	t.n++
	if len(r.first) < maxRunUnreadable {
		r.first = append(r.first, screening.UnreadableEntry{Index: -1, ResourceType: u.Type, Codes: u.Codes,
			Problem: fmt.Sprintf("%s: %s (whose record it is cannot be told)", where, u.Problem)})
	}
}

// entries is what every record gets, in a fixed order.
func (r *runUnreadable) entries() []screening.UnreadableEntry {
	if r.total <= maxRunUnreadable {
		return r.first
	}
	types := make([]string, 0, len(r.byType))
	for t := range r.byType {
		types = append(types, t)
	}
	slices.Sort(types)
	out := make([]screening.UnreadableEntry, 0, len(types))
	for _, t := range types {
		tt := r.byType[t]
		what := t
		if what == "" {
			what = "unknown type"
		}
		out = append(out, screening.UnreadableEntry{Index: -1, ResourceType: t,
			Problem: fmt.Sprintf("%d unreadable lines (%s) whose record cannot be told, the first at %s", tt.n, what, tt.where)})
	}
	return out
}
