package batch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"slices"
	"strconv"

	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/screening"
)

const defaultMaxLine = 64 << 20

// scanner is the grouping pass: it reads every input file once and adds each resource
// a patient's screening needs to the external sort, keyed by the patient's id.
type scanner struct {
	env      *Env
	files    []inputFile
	sort     *sorter
	meds     *medIndex
	maxLine  int
	whole    bool  // no stubs (Files.whole)
	patients int64 // Patient resources and Bundle files kept: the patient count estimate
	// anyone's: unreadable lines whose patient cannot be told, in every record.
	anyone runUnreadable
}

// recordTypes are the types whose resources only mean something for a patient: one of
// them whose patient cannot be told is reported, any other type without a patient (an
// Organization, a Practitioner) is simply not part of any patient's record.
var recordTypes = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range fhirbundle.RecordTypes {
		if t != screening.TypePatient {
			m[t] = true
		}
	}
	return m
}()

func (s *scanner) problem(file int, line uint64, format string, args ...any) {
	s.env.Report(Problem{File: s.files[file].path, Line: line, Message: fmt.Sprintf(format, args...)})
}

// lineOut is what a worker found about one line, for the applier to do in input order.
type lineOut struct {
	problem string // reported (before act is done)
	fatal   string // the run stops with this error
	patient bool   // a Patient resource of a kept patient: counts in the estimate
	act     lineAct
	medID   string     // actMed: the Medication's id (the line is its content); actMedBad
	rec     record     // actRecord
	unread  unreadLine // actRunUnreadable
}

type lineAct byte

const (
	actNone          lineAct = iota
	actRecord                // add rec to the sort
	actMed                   // add the line to the Medication index
	actMedBad                // a Medication line with this id cannot be read
	actRunUnreadable         // add unread to every patient's record
)

// routeLine decides where one resource goes: to its patient's group (whole, or as a
// stub when its content cannot matter), to the Medication index, or nowhere. It only
// reads the scanner's immutable parts, so workers run it concurrently.
func (s *scanner) routeLine(file int, lineNo uint64, line []byte) (o lineOut) {
	info, err := scanResource(line)
	if err != nil {
		return s.unreadableLine(file, line, err.Error(), nil)
	}
	var key string
	switch rt := info.resourceType; {
	case rt == typeOutcome:
		o.fatal = outcomeProblem(line)
		return o
	case rt == "Bundle":
		return s.unreadableLine(file, line, "a Bundle, not a resource of a patient's record", nil)
	case rt == screening.TypePatient:
		if info.id == "" {
			o.problem = "Patient without an id"
			return o
		}
		key = info.id
		o.patient = s.env.Keep(key)
	case info.patientRef != "":
		id, ok := fhirbundle.ReferenceID(info.patientRef, screening.TypePatient)
		if !ok || id == "" {
			if recordTypes[rt] || s.env.Protocol.NeedsType(rt) {
				return s.unreadableLine(file, line, fmt.Sprintf("%s whose subject/patient is not a literal reference to a Patient", rt), &info)
			}
			return o
		}
		key = id
	case rt == "Medication":
		o.act, o.medID = actMed, info.id
		return o
	case recordTypes[rt] || s.env.Protocol.NeedsType(rt):
		// No subject, or one of the wrong shape ("subject":"Patient/1"), which the
		// salvage may still read.
		return s.unreadableLine(file, line, fmt.Sprintf("%s without a subject/patient reference", rt), &info)
	default:
		return o // not about a patient (Organization, Practitioner, Location, ...)
	}
	if !s.env.Keep(key) {
		return o
	}
	o.act = actRecord
	o.rec = record{key: []byte(key), file: uint32(file), line: lineNo, kind: kindResource, payload: line}
	if info.resourceType == screening.TypePatient {
		o.rec.kind = kindPatient
	}
	if isMedType(info.resourceType) && info.hasMedRef {
		o.rec.aux = []byte(info.medRef)
	}
	if s.canStub(&info) {
		o.rec.payload = stub(&info, line)
	}
	return o
}

// canStub: the screening reads nothing of this resource but that it exists (it counts
// in resources_seen) and its codes: its type is read by no criterion, or its codes are
// placed and none is one a criterion reads, it names no contained members, and
// fhirbundle would find nothing wrong with it. A stub of its type, id, patient
// reference and codes then reads exactly as the resource would (stub), and the sort
// carries a few hundred bytes instead of kilobytes (claims, encounters, vital signs).
//
// The codes are the very ones fhirbundle's peek gives (lineInfo.codes), so Relevant
// answers for the line as it does for the resource. A resource whose codes cannot be
// placed (none, an unknown system, a drug product the table does not know) is relevant:
// it may be a finding, and is kept whole.
func (s *scanner) canStub(info *lineInfo) bool {
	p := s.env.Protocol
	switch rt := info.resourceType; {
	case s.whole || rt == screening.TypePatient || !info.clean:
		return false
	case rt == "DiagnosticReport" && info.containedMembers:
		return false // its contained results are read as Observations (fhirbundle)
	case rt == "Composition":
		return false // a section may say its entries are not given (fhirbundle)
	case rt == "Encounter" && info.containedMembers:
		return false // its contained diagnoses are read as Conditions (fhirbundle)
	case !p.NeedsType(rt):
		return true
	case isMedType(rt) || info.repeated || info.containedMembers:
		return false
	default:
		return !p.Relevant(rt, info.screeningCodes())
	}
}

func isMedType(t string) bool { return slices.Contains(screening.MedicationTypes, t) }

func (info *lineInfo) screeningCodes() []screening.Coding {
	codes := make([]screening.Coding, len(info.codes))
	for i, c := range info.codes {
		codes[i] = screening.Coding{System: c.system, Code: c.code}
	}
	return codes
}

// stub is what the sort carries for a resource canStub lets go: every member fhirbundle
// reads of a resource it then finds irrelevant, as one JSON object
//
//	{"resourceType":…,"id":…,"subject":{"reference":…},"code":{"coding":[…]},"digest":…}
//
// The codes are given in code, in the order the peek gives them, so that the stub's
// peek gives the very same codes. Digest stands for the rest: when a resource is given
// again (same Type/id) with other content, fhirbundle makes the second copy an
// unreadable entry with the codes of both (rivals.go), and two stubs must then differ
// exactly when the lines do. It is written by hand: encoding/json was a sixth of the
// grouping pass's time.
func stub(info *lineInfo, line []byte) []byte {
	n := 96 + len(info.resourceType) + len(info.id) + len(info.patientRef)
	for _, c := range info.codes {
		n += 32 + len(c.system) + len(c.code)
	}
	b := make([]byte, 0, n)
	b = append(b, `{"resourceType":`...)
	b = appendJSONString(b, info.resourceType)
	if info.id != "" {
		b = append(b, `,"id":`...)
		b = appendJSONString(b, info.id)
	}
	b = append(b, `,"subject":{"reference":`...)
	b = appendJSONString(b, info.patientRef)
	b = append(b, '}')
	if len(info.codes) > 0 {
		b = append(b, `,"code":{"coding":[`...)
		for i, c := range info.codes {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"system":`...)
			b = appendJSONString(b, c.system)
			b = append(b, `,"code":`...)
			b = appendJSONString(b, c.code)
			b = append(b, '}')
		}
		b = append(b, "]}"...)
	}
	b = append(b, `,"digest":"`...)
	b = strconv.AppendUint(b, lineDigest(line, info.spaced), 16)
	return append(b, `"}`...)
}

// appendJSONString appends s as a JSON string. s is valid UTF-8 (scanResource decodes
// it so), so only quotes, backslashes and control characters need escapes.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// stubSeed keys the digests of one process's run: stubs never outlive it (a resumed run
// groups its input again).
var stubSeed = maphash.MakeSeed()

// lineDigest hashes a valid JSON line as fhirbundle compares two resources (sameJSON):
// whitespace outside strings does not count.
func lineDigest(line []byte, spaced bool) uint64 {
	if spaced {
		var buf bytes.Buffer
		_ = json.Compact(&buf, line) // the line is valid JSON
		return maphash.Bytes(stubSeed, buf.Bytes())
	}
	return maphash.Bytes(stubSeed, bytes.Trim(line, " \t\r\n"))
}

// scanBundle adds a Bundle file under its patient's id. The file is read again when the
// patient is screened: holding every Bundle until then would not be bounded.
func (s *scanner) scanBundle(idx int) error {
	f := s.files[idx]
	data, err := os.ReadFile(f.path)
	if err != nil {
		return fmt.Errorf("batch: input %w", err)
	}
	s.env.Progress.addBytes(int64(len(data)))
	b, err := fhirbundle.SplitBundleMax(data, s.env.Reader.MaxEntries())
	if err != nil {
		s.problem(idx, 0, "%v", err)
		return nil
	}
	var ids []string
	for _, e := range b.Entries {
		if e.Resource == nil || !bytes.Contains(e.Resource, []byte(`"Patient"`)) {
			continue
		}
		if info, err := scanResource(e.Resource); err == nil && info.resourceType == screening.TypePatient {
			ids = append(ids, info.id)
		}
	}
	switch {
	case len(ids) == 0:
		s.problem(idx, 0, "the Bundle holds no Patient resource")
		return nil
	case len(ids) > 1 && slices.ContainsFunc(ids, func(id string) bool { return id != ids[0] }):
		// One patient given twice is read as ReadBundle reads it (the copies must agree).
		s.problem(idx, 0, "the Bundle holds %d Patient resources; a Bundle file must hold one patient's record", len(ids))
		return nil
	case ids[0] == "":
		s.problem(idx, 0, "the Bundle's Patient has no id")
		return nil
	}
	if !s.env.Keep(ids[0]) {
		return nil
	}
	s.patients++
	return s.sort.Add(&record{key: []byte(ids[0]), file: uint32(idx), kind: kindBundle})
}

// countingReader counts the bytes read into the progress.
type countingReader struct {
	r io.Reader
	p *Progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.addBytes(int64(n))
	return n, err
}
