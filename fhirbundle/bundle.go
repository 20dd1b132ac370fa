// Package fhirbundle reads FHIR R4 JSON into a screening.Record. It peeks at every
// resource with encoding/json and fully parses (with google/fhir/go jsonformat) only the
// resources some criterion of the protocol reads, so that a large record reads fast and
// one malformed entry never loses the rest.
package fhirbundle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
	bcrpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/bundle_and_contained_resource_go_proto"
	"github.com/trialscreen/trialscreen/screening"
)

// Errors a caller can tell apart with errors.Is; the messages say what exactly is wrong.
var (
	ErrNotJSON    = errors.New("not FHIR JSON")
	ErrNotBundle  = errors.New("not a FHIR Bundle")
	ErrPatient    = errors.New("cannot tell which patient") // none, several, or not the one asked for
	ErrIncomplete = errors.New("not a whole record")        // one page of a search
)

// inputError keeps an exact message while still matching its kind with errors.Is.
type inputError struct {
	kind error
	msg  string
}

func (e *inputError) Error() string { return e.msg }
func (e *inputError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &inputError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// RecordTypes are the resource types a Bundle given as input holds completely: ReadBundle
// marks each of them complete in Record.Sources, unless the input says otherwise
// (withheld.go).
var RecordTypes = []string{
	screening.TypePatient, screening.TypeObservation, screening.TypeCondition, screening.TypeProcedure,
	screening.TypeAllergy, screening.TypeMedRequest, screening.TypeMedStatement, screening.TypeMedAdminister,
	screening.TypeMedDispense,
}

// Reader reads bundles for one compiled protocol. It is safe for concurrent use: the
// jsonformat Unmarshaller keeps no state between calls (checked with -race in the tests).
type Reader struct {
	p          *screening.Protocol
	um         *jsonformat.Unmarshaller
	maxEntries int
}

// Option sets up a Reader.
type Option func(*Reader)

// MaxEntries caps the entries of one Bundle, and of the entries given to one
// ReadResources call, at n (DefaultMaxEntries by default).
func MaxEntries(n int) Option { return func(r *Reader) { r.maxEntries = n } }

// NewReader returns a Reader that parses what p's criteria read.
func NewReader(p *screening.Protocol, opts ...Option) (*Reader, error) {
	if p == nil {
		return nil, errors.New("fhirbundle: a compiled protocol is required")
	}
	r := &Reader{p: p, maxEntries: DefaultMaxEntries}
	for _, o := range opts {
		o(r)
	}
	if r.maxEntries <= 0 {
		return nil, fmt.Errorf("fhirbundle: MaxEntries is %d; want at least 1", r.maxEntries)
	}
	// Without extended validation: both parsers accept all the Synthea files, this one is
	// about 20% faster, and the validating one would also reject resources for missing
	// required elements and reference target types that no criterion reads.
	um, err := jsonformat.NewUnmarshallerWithoutValidation("UTC", fhirversion.R4)
	if err != nil {
		return nil, fmt.Errorf("fhirbundle: %w", err)
	}
	r.um = um
	return r, nil
}

// MaxEntries is the cap on the entries of one record that r reads.
func (r *Reader) MaxEntries() int { return r.maxEntries }

// Bundle is a FHIR Bundle split into its entries, with what a FHIR client needs to page.
type Bundle struct {
	Type    string
	Total   int // -1 when the bundle gives no total
	Links   []Link
	Entries []Entry
}

// Link is a Bundle.link.
type Link struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// Next is the URL of the next page of a searchset, or "".
func (b *Bundle) Next() string {
	for _, l := range b.Links {
		if l.Relation == "next" {
			return l.URL
		}
	}
	return ""
}

// Entry is one Bundle entry.
type Entry struct {
	Index    int             // position in its bundle, reported in UnreadableEntry
	FullURL  string          // entry.fullUrl
	Resource json.RawMessage // entry.resource; nil when the entry has none
	Problem  string          // set when the entry itself is malformed (then Resource is nil)
}

// NewRecord returns an empty record with its maps made, for AddResources.
func NewRecord() *screening.Record {
	return &screening.Record{Sources: map[string]screening.SourceStatus{}, Seen: map[string]int{}}
}

// ReadBundle reads a Bundle holding one patient's record (any Bundle type). patientID
// chooses the patient when the bundle holds several Patient resources. The bundle counts
// as the patient's full record: every type in RecordTypes is marked complete, unless
// the Bundle itself says it is not (withheld.go). A Bundle of more entries than the
// Reader's MaxEntries is refused (a TooManyEntriesError) before any entry is read.
func (r *Reader) ReadBundle(data []byte, patientID string) (*screening.Record, error) {
	return r.ReadBundleContext(context.Background(), data, patientID)
}

// ReadBundleContext is ReadBundle that stops, with ctx's error, once ctx is done.
func (r *Reader) ReadBundleContext(ctx context.Context, data []byte, patientID string) (*screening.Record, error) {
	b, err := SplitBundleMax(data, r.maxEntries)
	if err != nil {
		return nil, err
	}
	// The whole Bundle counts as the patient's full record, so one that says it is
	// not (more pages, or fewer entries than its total) cannot be screened: what is
	// missing would read as "no records".
	if b.Next() != "" {
		return nil, errorf(ErrIncomplete, "the Bundle is one page of a search (it has a next link): give the patient's whole record")
	}
	if b.Type == "searchset" && b.Total > len(b.Entries) {
		return nil, errorf(ErrIncomplete, "the Bundle says its search matched %d resources but holds %d entries: give the patient's whole record", b.Total, len(b.Entries))
	}
	rec := NewRecord()
	done, err := r.add(ctx, rec, patientID, b.Entries, true)
	if err != nil {
		return nil, err
	}
	done.markSources(rec)
	return rec, nil
}

// AddResources adds entries (e.g. a searchset page split with SplitBundle) to rec for one
// patient, with the same filtering and error handling as ReadBundle. The patient is
// rec.Patient when set, else patientID, else the one Patient among the entries. A
// Medication named by medicationReference must be among the same entries (or contained):
// search with _include=MedicationRequest:medication and the like. Resources already in
// rec (same Type/id) are skipped. AddResources leaves rec.Sources to the caller, who
// judges completeness (a searchset's total and next link, its OperationOutcome entries,
// masked resources). The caller caps the entries of a record it adds in several calls.
func (r *Reader) AddResources(rec *screening.Record, patientID string, entries []Entry) error {
	return r.AddResourcesContext(context.Background(), rec, patientID, entries)
}

// AddResourcesContext is AddResources that stops, with ctx's error, once ctx is done.
func (r *Reader) AddResourcesContext(ctx context.Context, rec *screening.Record, patientID string, entries []Entry) error {
	if rec == nil {
		return errors.New("fhirbundle: AddResources needs a record (see NewRecord)")
	}
	if rec.Seen == nil {
		rec.Seen = map[string]int{}
	}
	if rec.Sources == nil {
		rec.Sources = map[string]screening.SourceStatus{}
	}
	_, err := r.add(ctx, rec, patientID, entries, false)
	return err
}

// batch is one call's worth of entries being added to a record.
type batch struct {
	r       *Reader
	rec     *screening.Record
	entries []Entry
	peeks   []peeked
	perrs   []error
	keys    patientKeys
	others  patientKeys     // references to the other Patient entries
	meds    map[string]int  // "Medication/id", fullUrl -> entry index
	subs    map[string]int  // "Substance/id", fullUrl -> entry index: what a Medication's ingredient may name
	have    map[string]bool // refs already in the record
	firstAt map[string]int  // the entry that gave each ref first, in this call (rivals.go)
	chosen  int             // the chosen Patient entry, -1 when none
	done    completeness    // what says the input is not the whole record
}

// checkEvery is how many entries are read between two looks at the caller's context: a
// record of the largest size is read in about a second, and a request whose deadline
// has passed must stop taking the CPU from those that can still be answered.
const checkEvery = 512

func (r *Reader) add(ctx context.Context, rec *screening.Record, patientID string, entries []Entry, wholeBundle bool) (*completeness, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bt := &batch{r: r, rec: rec, entries: entries, peeks: make([]peeked, len(entries)), perrs: make([]error, len(entries)),
		keys: patientKeys{}, others: patientKeys{}, meds: map[string]int{}, subs: map[string]int{}, have: existingRefs(rec), firstAt: map[string]int{}}
	var patients []int
	for i, e := range entries {
		if i%checkEvery == checkEvery-1 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if e.Resource == nil {
			continue
		}
		bt.peeks[i], bt.perrs[i] = peekResource(e.Resource)
		switch bt.peeks[i].ResourceType {
		case screening.TypePatient:
			patients = append(patients, i)
		case "Medication":
			bt.index(bt.meds, i, e)
		case "Substance":
			bt.index(bt.subs, i, e)
		}
	}
	chosen, err := bt.choosePatient(patientID, patients, wholeBundle)
	if err != nil {
		return nil, err
	}
	bt.chosen = chosen
	for i := range entries {
		if i%checkEvery == checkEvery-1 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		bt.addEntry(i, i == chosen)
	}
	return &bt.done, nil
}

// index records entry i under its reference and its fullUrl, as references may name it.
func (bt *batch) index(m map[string]int, i int, e Entry) {
	m[resourceRef(&bt.peeks[i], e)] = i
	if e.FullURL != "" {
		m[e.FullURL] = i
		if t := refTail(e.FullURL); t != "" {
			m[t] = i
		}
	}
}

// drugCodes is what identifies the drug of Medication m: its codes, its coded ingredients,
// and the codes of the Substances its ingredients name (contained in contained, or among
// the entries). A Substance that cannot be found adds nothing: the drug is then known
// only as far as the rest says, and placing judges that.
func (bt *batch) drugCodes(m *peeked, contained []json.RawMessage) []screening.Coding {
	out := m.codes()
	for _, in := range m.Ingredient {
		if in.ItemReference == nil || in.ItemReference.Reference == "" {
			continue
		}
		ref := in.ItemReference.Reference
		if id, ok := strings.CutPrefix(ref, "#"); ok {
			for _, x := range contained {
				if c, err := peekResource(x); err == nil && c.ResourceType == "Substance" && c.ID == id {
					out = append(out, c.Code.codings()...)
				}
			}
			continue
		}
		j, ok := bt.subs[ref]
		if !ok {
			j, ok = bt.subs[refTail(ref)]
		}
		if ok && bt.perrs[j] == nil && bt.peeks[j].Meta.withheld() == "" {
			out = append(out, bt.peeks[j].Code.codings()...)
		}
	}
	return out
}

func existingRefs(rec *screening.Record) map[string]bool {
	have := map[string]bool{}
	if rec.Patient != nil {
		have[rec.Patient.Ref] = true
	}
	for _, o := range rec.Observations {
		have[o.Ref] = true
	}
	for _, c := range rec.Conditions {
		have[c.Ref] = true
	}
	for _, p := range rec.Procedures {
		have[p.Ref] = true
	}
	for _, m := range rec.Medications {
		have[m.Ref] = true
	}
	for _, a := range rec.Allergies {
		have[a.Ref] = true
	}
	return have
}

// choosePatient picks the Patient entry the record is about (-1 when it is not among the
// entries) and sets up the keys that recognise references to it.
func (bt *batch) choosePatient(patientID string, patients []int, wholeBundle bool) (int, error) {
	what := "the entries hold"
	if wholeBundle {
		what = "bundle holds"
	}
	patientID = strings.TrimPrefix(patientID, "Patient/")
	if p := bt.rec.Patient; p != nil {
		if patientID != "" && p.ID != patientID {
			return -1, errorf(ErrPatient, "the record is for %s, not Patient/%s", p.Ref, patientID)
		}
		bt.keys.add(p.Ref)
		if p.ID != "" {
			bt.keys.add("Patient/" + p.ID)
		}
		return -1, nil
	}
	chosen := -1
	switch {
	case patientID != "":
		for _, i := range patients {
			if bt.peeks[i].ID == patientID {
				chosen = i
				break
			}
		}
		if chosen < 0 && wholeBundle {
			return -1, errorf(ErrPatient, "bundle holds no Patient with id %q (it holds %d Patient resource%s)", patientID, len(patients), plural(len(patients)))
		}
		bt.keys.add("Patient/" + patientID)
	case len(patients) == 0:
		return -1, errorf(ErrPatient, "%s no Patient resource", what)
	case len(patients) > 1 && !oneID(bt.peeks, patients):
		return -1, errorf(ErrPatient, "%s %d Patient resources; choose one", what, len(patients))
	default:
		chosen = patients[0]
	}
	if chosen >= 0 {
		p := &bt.peeks[chosen]
		if p.ID != "" {
			bt.keys.add("Patient/" + p.ID)
		}
		bt.keys.add(bt.entries[chosen].FullURL)
	}
	ourID := patientID
	if chosen >= 0 {
		ourID = bt.peeks[chosen].ID
	}
	for _, i := range patients {
		if i == chosen {
			continue
		}
		if id := bt.peeks[i].ID; id != "" && id == ourID {
			// The patient given again (under another fullUrl): references to that
			// fullUrl are this patient's. addEntry checks the two copies agree.
			bt.keys.add(bt.entries[i].FullURL)
			continue
		}
		bt.others.add(bt.entries[i].FullURL)
		if id := bt.peeks[i].ID; id != "" {
			bt.others.add("Patient/" + id)
		}
	}
	return chosen, nil
}

// oneID reports whether the Patient entries all carry one id: the patient given more
// than once (addEntry checks that the copies agree).
func oneID(peeks []peeked, patients []int) bool {
	id := peeks[patients[0]].ID
	for _, i := range patients[1:] {
		if peeks[i].ID != id {
			return false
		}
	}
	return id != ""
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// resourceRef is how screening refers to a resource: Type/id, else the fullUrl, else its
// position in the bundle.
func resourceRef(p *peeked, e Entry) string {
	switch {
	case p.ID != "":
		return p.ResourceType + "/" + p.ID
	case e.FullURL != "":
		return e.FullURL
	}
	return fmt.Sprintf("%s (entry %d)", p.ResourceType, e.Index)
}

func (bt *batch) unreadable(i int, codes []screening.Coding, problem string) {
	bt.rec.Unreadable = append(bt.rec.Unreadable, screening.UnreadableEntry{
		Index:        bt.entries[i].Index,
		ResourceType: bt.peeks[i].ResourceType,
		Codes:        codeStrings(codes),
		Problem:      problem,
	})
}

func (bt *batch) addEntry(i int, chosen bool) {
	e, p, rec := bt.entries[i], &bt.peeks[i], bt.rec
	switch {
	case e.Problem != "":
		bt.unreadable(i, nil, e.Problem)
		return
	case e.Resource == nil:
		return // a request-only entry (e.g. a DELETE in a transaction) holds no data
	case p.ResourceType == "":
		bt.unreadable(i, nil, bt.perrs[i].Error())
		return
	}
	ref := resourceRef(p, e)
	if p.ResourceType == screening.TypePatient {
		if !chosen {
			if !bt.keys.ours(ref) && !bt.keys.ours(e.FullURL) {
				rec.OtherPatients++
			} else if bt.chosen >= 0 {
				bt.rival(i, bt.chosen) // the patient given twice
			} else if rec.Patient != nil {
				bt.rivalPatient(i) // the patient again, after an earlier call read it
			}
			return
		}
		bt.have[ref] = true
		noteVersion(rec, ref, p.Meta)
		rec.Seen[screening.TypePatient]++
		rec.Patient = &screening.Patient{Ref: ref, ID: p.ID}
		bt.done.noteWithheld(p)
		if bt.perrs[i] != nil {
			bt.unreadable(i, nil, bt.parseProblem(e.Resource, bt.perrs[i]))
			return
		}
		if name := repeatedMember(e.Resource); name != "" {
			bt.unreadable(i, nil, fmt.Sprintf("the member %q is given twice: which value the sender meant cannot be told", name))
			return
		}
		cr, err := bt.parse(e.Resource)
		if err != nil {
			bt.unreadable(i, nil, err.Error())
			return
		}
		rec.Patient = convertPatient(cr.GetPatient(), ref, p.ID)
		return
	}
	if p.ResourceType == "OperationOutcome" {
		bt.done.noteOutcome(p, bt.perrs[i]) // every one, before duplicates are dropped
	}
	switch bt.whose(p) {
	case otherPatient:
		rec.OtherPatients++
		return
	case unattributed:
		// Whose record this is cannot be told, so it is neither used nor dropped
		// silently: the criteria that might have needed it say so.
		if codes := p.codes(); bt.r.p.NeedsType(p.ResourceType) && (len(codes) == 0 || bt.r.p.Relevant(p.ResourceType, codes)) {
			rec.Seen[p.ResourceType]++
			problem := "no literal reference to a patient (subject/patient missing, or given only as an identifier or search): cannot tell whose record it is"
			if strings.HasPrefix(refTail(p.patientRef()), "Patient/") {
				problem = "refers to a Patient that is neither the record's patient nor another Patient of the input (another id of this patient?): cannot tell whose record it is"
			}
			bt.unreadable(i, p.codes(), problem)
			return
		}
	}
	if bt.have[ref] {
		if j, ok := bt.firstAt[ref]; ok {
			bt.rival(i, j)
		}
		return // found again (another search, an _include)
	}
	bt.have[ref] = true
	bt.firstAt[ref] = i
	noteVersion(rec, ref, p.Meta)
	rec.Seen[p.ResourceType]++
	bt.done.noteWithheld(p) // before relevance: a masked resource may have lost its code
	if p.ResourceType == "Composition" {
		bt.done.noteSections(p.Section)
	}
	if p.ResourceType == "Encounter" && p.hasContainedDiagnoses() && bt.r.p.NeedsType(screening.TypeCondition) {
		bt.addEncounterDiagnoses(i, ref)
		return
	}
	if p.ResourceType == "DiagnosticReport" && p.hasContainedMembers() && bt.r.p.NeedsType(screening.TypeObservation) {
		bt.addReportResults(i, ref)
		return
	}
	if !bt.r.p.NeedsType(p.ResourceType) {
		return
	}
	if name := repeatedMember(e.Resource); name != "" { // before relevance: the peek saw one value
		bt.unreadable(i, nil, fmt.Sprintf("the member %q is given twice: which value the sender meant cannot be told", name))
		return
	}
	codes := p.codes()
	isMed := isMedicationType(p.ResourceType)
	medText := p.MedicationCodeableConcept.text()
	if bt.perrs[i] != nil {
		bt.unreadable(i, codes, bt.parseProblem(e.Resource, bt.perrs[i]))
		return
	}
	if isMed && p.MedicationCodeableConcept == nil && p.MedicationReference != nil {
		var problem string
		codes, medText, problem = bt.resolveMedication(e.Resource, p.MedicationReference.Reference)
		if problem != "" {
			bt.unreadable(i, codes, problem)
			return
		}
	}
	if !bt.r.p.Relevant(p.ResourceType, codes) && !p.hasContainedMembers() {
		return
	}
	cr, err := bt.parse(e.Resource)
	if err != nil {
		bt.unreadable(i, codes, err.Error())
		return
	}
	switch p.ResourceType {
	case screening.TypeObservation:
		o := convertObservation(cr.GetObservation(), ref)
		rec.Observations = append(rec.Observations, o)
		if p.hasContainedMembers() {
			bt.addContainedMembers(i, &o)
		}
	case screening.TypeCondition:
		rec.Conditions = append(rec.Conditions, convertCondition(cr.GetCondition(), ref))
	case screening.TypeProcedure:
		rec.Procedures = append(rec.Procedures, convertProcedure(cr.GetProcedure(), ref))
	case screening.TypeAllergy:
		rec.Allergies = append(rec.Allergies, convertAllergy(cr.GetAllergyIntolerance(), ref))
	case screening.TypeMedRequest:
		rec.Medications = append(rec.Medications, convertMedRequest(cr.GetMedicationRequest(), ref, codes))
	case screening.TypeMedStatement:
		rec.Medications = append(rec.Medications, convertMedStatement(cr.GetMedicationStatement(), ref, codes))
	case screening.TypeMedAdminister:
		rec.Medications = append(rec.Medications, convertMedAdministration(cr.GetMedicationAdministration(), ref, codes))
	case screening.TypeMedDispense:
		rec.Medications = append(rec.Medications, convertMedDispense(cr.GetMedicationDispense(), ref, codes))
	}
	if isMed {
		rec.Medications[len(rec.Medications)-1].Text = medText
	}
}

func isMedicationType(t string) bool {
	return slices.Contains(screening.MedicationTypes, t)
}

// parse runs jsonformat on one resource.
func (bt *batch) parse(raw json.RawMessage) (*bcrpb.ContainedResource, error) {
	m, err := bt.r.um.Unmarshal(raw)
	if err != nil {
		return nil, parserProblem(err)
	}
	cr, ok := m.(*bcrpb.ContainedResource)
	if !ok {
		return nil, fmt.Errorf("unexpected parse result %T", m)
	}
	return cr, nil
}

// parseProblem explains a resource the peek could not read, in the parser's words when
// the parser rejects it too.
func (bt *batch) parseProblem(raw json.RawMessage, peekErr error) string {
	if _, err := bt.parse(raw); err != nil {
		return err.Error()
	}
	return peekErr.Error()
}

// addReportResults reads the Observations a DiagnosticReport contains and names in its
// results, as results of their own ("DiagnosticReport/cbc#plt"), with the report's status
// and time where they give none; the report itself is read by no criterion.
func (bt *batch) addReportResults(i int, ref string) {
	cr, err := bt.parse(bt.entries[i].Resource)
	if err != nil {
		bt.unreadable(i, bt.peeks[i].codes(), err.Error())
		return
	}
	dr := cr.GetDiagnosticReport()
	report := screening.Observation{Ref: ref, Status: enumCode(dr.GetStatus().GetValue()), Code: codings(dr.GetCode())}
	switch e := dr.GetEffective(); {
	case e.GetDateTime() != nil:
		report.Effective = whenDateTime(e.GetDateTime())
	case e.GetPeriod() != nil:
		report.Effective = whenPeriod(e.GetPeriod())
	}
	bt.addContainedMembers(i, &report)
}

// addEncounterDiagnoses reads the Conditions an Encounter contains and names among its
// diagnoses, as Conditions of the record ("Encounter/e1#dx1"); one about another patient
// is not this record's.
func (bt *batch) addEncounterDiagnoses(i int, ref string) {
	byID := containedByID(bt.containedOf(i), screening.TypeCondition)
	for _, d := range bt.peeks[i].Diagnosis {
		id, ok := strings.CutPrefix(d.Condition.Reference, "#")
		if !ok {
			continue // a Condition of its own elsewhere in the input
		}
		raw, ok := byID[id]
		if !ok {
			bt.unreadable(i, nil, fmt.Sprintf("diagnosis %s names no contained Condition", d.Condition.Reference))
			continue
		}
		if !bt.containedIsOurs(i, raw, "Condition", d.Condition.Reference) {
			continue
		}
		cr, err := bt.parse(raw)
		if err != nil {
			bt.unreadable(i, nil, fmt.Sprintf("contained Condition %s cannot be read: %v", d.Condition.Reference, err))
			continue
		}
		bt.rec.Conditions = append(bt.rec.Conditions, convertCondition(cr.GetCondition(), ref+d.Condition.Reference))
	}
}

// containedIsOurs reports whether a resource contained in entry i (named ref there) is
// this patient's. One with no subject is its container's; one naming a subject must be
// this patient: another patient's is not this record's (counted), and one whose patient
// cannot be told is unreadable, as a resource of its own would be.
func (bt *batch) containedIsOurs(i int, raw json.RawMessage, what, ref string) bool {
	mp, _ := peekResource(raw)
	if mp.patientRef() == "" {
		return true
	}
	switch bt.whose(&mp) {
	case otherPatient:
		bt.rec.OtherPatients++
		return false
	case unattributed:
		bt.unreadable(i, mp.codes(), fmt.Sprintf("contained %s %s names a subject that is not this patient", what, ref))
		return false
	}
	return true
}

// retracted are the Observation statuses that withdraw a result and what it reported.
var retracted = map[string]bool{"entered-in-error": true, "cancelled": true}

// addContainedMembers reads the Observations a panel names in hasMember and contains, as
// results of their own ("Observation/panel#member"). A member that gives no status or
// time takes the panel's: it was reported with it.
func (bt *batch) addContainedMembers(i int, panel *screening.Observation) {
	byID := containedByID(bt.containedOf(i), screening.TypeObservation)
	p := &bt.peeks[i]
	for _, hm := range slices.Concat(p.HasMember, p.Result) { // a panel's members, a report's results
		id, ok := strings.CutPrefix(hm.Reference, "#")
		if !ok {
			continue // a member of its own elsewhere in the input
		}
		raw, ok := byID[id]
		if !ok {
			bt.unreadable(i, panel.Code, fmt.Sprintf("hasMember %s names no contained Observation", hm.Reference))
			continue
		}
		cr, err := bt.parse(raw)
		if err != nil {
			bt.unreadable(i, panel.Code, fmt.Sprintf("contained Observation %s cannot be read: %v", hm.Reference, err))
			continue
		}
		if !bt.containedIsOurs(i, raw, "Observation", hm.Reference) {
			continue
		}
		m := convertObservation(cr.GetObservation(), panel.Ref+hm.Reference)
		if m.Status == "" || retracted[panel.Status] {
			// A member reported with no status has the panel's; a panel retracted (entered
			// in error, cancelled) retracts what it reported, whatever the member says.
			m.Status = panel.Status
		}
		if !m.Effective.Known() {
			m.Effective = panel.Effective
		}
		bt.rec.Observations = append(bt.rec.Observations, m)
	}
}

// resolveMedication finds the codes of the Medication a medication resource references,
// in the same entries or contained in the resource. A drug that cannot be identified is
// a problem: the criteria cannot tell whether it matters.
func (bt *batch) resolveMedication(raw json.RawMessage, ref string) (codes []screening.Coding, text, problem string) {
	if ref == "" {
		return nil, "", "medicationReference has no reference; the drug cannot be identified"
	}
	if id, ok := strings.CutPrefix(ref, "#"); ok {
		var c struct {
			Contained []json.RawMessage `json:"contained"`
		}
		_ = json.Unmarshal(raw, &c)
		for _, x := range c.Contained {
			m, err := peekResource(x)
			if m.ResourceType == "Medication" && m.ID == id {
				if err != nil {
					return nil, "", fmt.Sprintf("contained Medication %s cannot be read: %v", ref, err)
				}
				if l := m.Meta.withheld(); l != "" {
					// No codes: what is left visible need not be the drug.
					return nil, "", fmt.Sprintf("contained Medication %s is %s: the drug cannot be told", ref, l)
				}
				return bt.drugCodes(&m, c.Contained), m.Code.text(), ""
			}
		}
		return nil, "", fmt.Sprintf("medicationReference %s names no contained Medication", ref)
	}
	j, ok := bt.meds[ref]
	if !ok {
		if t := refTail(ref); t != "" {
			j, ok = bt.meds[t]
		}
	}
	if !ok {
		return nil, "", fmt.Sprintf("medicationReference %s is not among the entries; the drug cannot be identified", ref)
	}
	m := &bt.peeks[j]
	if bt.perrs[j] != nil {
		return bt.drugCodes(m, nil), m.Code.text(), fmt.Sprintf("Medication %s (entry %d) cannot be read: %v", ref, bt.entries[j].Index, bt.perrs[j])
	}
	if l := m.Meta.withheld(); l != "" {
		// Its hidden part may be the drug a criterion looks for, so the codes left
		// visible are not given: the entry may matter to every medication criterion.
		return nil, "", fmt.Sprintf("Medication %s (entry %d) is %s by the sender: the drug cannot be told", ref, bt.entries[j].Index, l)
	}
	return bt.drugCodes(m, bt.containedOf(j)), m.Code.text(), ""
}

// containedByID indexes the contained resources of type rt by their id.
func containedByID(contained []json.RawMessage, rt string) map[string]json.RawMessage {
	byID := map[string]json.RawMessage{}
	for _, x := range contained {
		if m, err := peekResource(x); err == nil && m.ResourceType == rt && m.ID != "" {
			byID[m.ID] = x
		}
	}
	return byID
}

// containedOf is the contained resources of entry j, read only when asked for.
func (bt *batch) containedOf(j int) []json.RawMessage {
	var c struct {
		Contained []json.RawMessage `json:"contained"`
	}
	_ = json.Unmarshal(bt.entries[j].Resource, &c) // the peek read it already
	return c.Contained
}

// parserProblem words a jsonformat error as path and problem. Its diagnostics usually
// quote the offending value (patient data) and are dropped, except where they name a
// field or resource type: an unknown field is no use reported without its name.
func parserProblem(err error) error {
	v := reflect.ValueOf(err)
	var items []reflect.Value
	switch {
	case v.Kind() == reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			items = append(items, v.Index(i))
		}
	case v.Kind() == reflect.Pointer:
		items = append(items, v)
	}
	var msgs []string
	for _, it := range items {
		if it.Kind() == reflect.Pointer && !it.IsNil() {
			it = it.Elem()
		}
		if it.Kind() != reflect.Struct {
			return err
		}
		path, details, diag := it.FieldByName("Path"), it.FieldByName("Details"), it.FieldByName("Diagnostics")
		if path.Kind() != reflect.String || details.Kind() != reflect.String || diag.Kind() != reflect.String {
			return err
		}
		m := details.String()
		if path.String() != "" {
			m = path.String() + ": " + m
		}
		if d := diag.String(); d != "" && namesField(details.String()) {
			m += " " + d
		}
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		return err
	}
	return errors.New(strings.Join(msgs, "; "))
}

func namesField(details string) bool {
	return details == "unknown field" || details == "unknown resource type" || strings.HasPrefix(details, "cannot accept multiple values")
}

// attribution is whose record a resource is.
type attribution int

const (
	ours attribution = iota
	otherPatient
	unattributed
)

// whose decides attribution from the subject/patient reference. Only a reference to a
// known Patient counts as another patient's; a missing or unresolvable one is not ours
// to use, nor safe to ignore.
func (bt *batch) whose(p *peeked) attribution {
	pr := p.patientRef()
	switch {
	case pr == "":
		if p.Subject == nil && p.Patient == nil && !subjectRequired(p.ResourceType) {
			return ours // e.g. a Medication, which belongs to no one
		}
		return unattributed
	case bt.keys.ours(pr):
		return ours
	case bt.others.ours(pr):
		return otherPatient
	}
	// A Patient the input does not hold (nor the record): it may be this patient under
	// another id (a merged record, a server's id beside a urn:uuid), so its data is not
	// safe to ignore.
	return unattributed
}

// subjectRequired lists the record types whose data only means something for a patient.
func subjectRequired(t string) bool {
	switch t {
	case screening.TypeObservation, screening.TypeCondition, screening.TypeProcedure, screening.TypeAllergy,
		screening.TypeMedRequest, screening.TypeMedStatement, screening.TypeMedAdminister, screening.TypeMedDispense:
		return true
	}
	return false
}
