package screening

import (
	"github.com/trialscreen/trialscreen/terminology"

	"fmt"
	"slices"
	"time"
)

// Protocol is a compiled protocol: loaded once, evaluated per patient.
type Protocol struct {
	Info     ProtocolInfo
	vocab    *terminology.Vocabulary
	criteria []*criterion
	statuses statusSets
	relevant map[string]*relevance // resource type -> the codesets any criterion reads in it
	masks    *maskIndex            // coding -> the codesets it belongs to
	units    map[string]*unitGroup // by name: read by the test that checks them against UCUM
	// Parts of every result that depend only on the protocol, computed once.
	obsStatuses []string
	terminology *TerminologyReport
}

type criterion struct {
	spec      CriterionSpec
	eval      evaluator
	needs     map[string]*codeMatcher // resource types read, with the codes that matter
	needTypes []string                // the keys of needs, sorted
	sourceKey map[string]string       // type -> "Type#criterion", for per-criterion fetch states
	rule      string                  // the rule in words, for evidence and the settings report
	threshold *Threshold              // the numeric limit, when the kind has one
	// lookbackDays is how far back the criterion reads (its longest window); 0 means
	// without limit. A record whose code cannot be placed matters only inside it.
	lookbackDays int
}

// evaluator decides one criterion for one patient.
type evaluator func(ec *evalCtx) Result

type statusSets struct {
	observation map[string]bool
	discounted  map[string]bool
	active      map[string]bool
	resolved    map[string]bool
}

func setOf(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func compileStatusSets(s StatusRules) statusSets {
	return statusSets{setOf(s.Observation), setOf(s.Discounted), setOf(s.Active), setOf(s.Resolved)}
}

// Settings are the inputs of an evaluation besides the record; with the same settings
// and record an evaluation always gives the same result.
type Settings struct {
	AsOf time.Time
	// LymphodepletionDate, when set, anchors the therapy washout.
	LymphodepletionDate time.Time
	// Location reads calendar dates (birthdays, date-only results); UTC when nil.
	Location *time.Location
}

// CriterionIDs lists the criteria in protocol order.
func (p *Protocol) CriterionIDs() []string {
	ids := make([]string, len(p.criteria))
	for i, c := range p.criteria {
		ids[i] = c.spec.ID
	}
	return ids
}

// Relevant reports whether a resource of type t with these codes can matter to any
// criterion. Readers use it to skip parsing what no criterion reads.
func (p *Protocol) Relevant(t string, codes []Coding) bool {
	if t == TypePatient {
		return true
	}
	if _, reads := p.relevant[t]; !reads {
		return false
	}
	placed, ok := p.placeCodes(t, codes)
	// A record whose codes cannot be placed is kept: it may be a finding (guardUnplaced).
	return !ok || p.relevant[t].matches(p.masks, placed)
}

// NeedsType reports whether any criterion reads resources of type t.
func (p *Protocol) NeedsType(t string) bool {
	_, ok := p.relevant[t]
	return ok || t == TypePatient
}

// evalCtx is what an evaluator reads: the record, the settings and the protocol's rules.
type evalCtx struct {
	rec      *Record
	placed   placedRecord // rec is placed.rec
	asOf     time.Time
	ld       time.Time
	loc      *time.Location
	statuses *statusSets
	masks    *maskIndex
	// The codesets each record carries, by resource kind, computed on first use.
	obsMasks, condMasks, procMasks, medMasks, allergyMaskCache []codesetMask
	obsByCodeset                                               [][]int // codeset id -> observation positions
	scratch                                                    []int
}

// start is the earliest instant a FHIR date can mean. Calendar dates (day, month or year
// precision) are read in the configured time zone: readers store them at UTC midnight.
func (ec *evalCtx) start(w When) time.Time {
	if w.Precision == PrecisionTime || w.Precision == PrecisionNone || ec.loc == time.UTC {
		return w.Time
	}
	y, m, d := w.Time.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, ec.loc)
}

// end is the instant just after the last one a FHIR date can mean.
func (ec *evalCtx) end(w When) time.Time {
	return When{Time: ec.start(w), Precision: w.Precision}.Latest()
}

// span is the first and last instant a FHIR date can mean (a time is one instant).
func (ec *evalCtx) span(w When) (time.Time, time.Time) {
	if w.Precision == PrecisionTime {
		return w.Time, w.Time
	}
	return ec.start(w), ec.end(w)
}

// masksOf computes the codeset masks of n records once per screening.
func masksOf(ix *maskIndex, cache *[]codesetMask, n int, codes func(i int) []Coding) []codesetMask {
	if *cache == nil {
		*cache = make([]codesetMask, n)
		for i := range *cache {
			(*cache)[i] = ix.of(codes(i))
		}
	}
	return *cache
}

func (ec *evalCtx) observationMasks() []codesetMask {
	return masksOf(ec.masks, &ec.obsMasks, len(ec.rec.Observations), func(i int) []Coding { return ec.rec.Observations[i].Code })
}

func (ec *evalCtx) conditionMasks() []codesetMask {
	return masksOf(ec.masks, &ec.condMasks, len(ec.rec.Conditions), func(i int) []Coding { return ec.rec.Conditions[i].Code })
}

func (ec *evalCtx) procedureMasks() []codesetMask {
	return masksOf(ec.masks, &ec.procMasks, len(ec.rec.Procedures), func(i int) []Coding { return ec.rec.Procedures[i].Code })
}

func (ec *evalCtx) medicationMasks() []codesetMask {
	return masksOf(ec.masks, &ec.medMasks, len(ec.rec.Medications), func(i int) []Coding { return ec.rec.Medications[i].Code })
}

func (ec *evalCtx) allergyMasks() []codesetMask {
	return masksOf(ec.masks, &ec.allergyMaskCache, len(ec.rec.Allergies), func(i int) []Coding { return ec.rec.Allergies[i].Code })
}

// eachObservation calls fn, in record order, for every observation with a coding m
// matches. Observations are the bulk of a record: the codeset masks rule out most of
// them without looking at their codings.
//
// Sharing a codeset with the matcher is matching it: a matcher is a union of codesets
// and a mask is exactly the codesets a record's codings belong to.
func (ec *evalCtx) eachObservation(m *codeMatcher, fn func(o *Observation)) {
	obs := ec.rec.Observations
	if m.all {
		for i := range obs {
			fn(&obs[i])
		}
		return
	}
	if ec.obsByCodeset == nil {
		ec.groupObservations()
	}
	if len(m.ids) == 1 { // the common case: already in record order
		for _, i := range ec.obsByCodeset[m.ids[0]] {
			fn(&obs[i])
		}
		return
	}
	idx := ec.scratch[:0]
	ec.scratch = nil // a nested call gets its own
	for _, id := range m.ids {
		idx = append(idx, ec.obsByCodeset[id]...)
	}
	slices.Sort(idx)
	for k, i := range idx {
		if k == 0 || idx[k-1] != i { // an observation in two of the codesets comes once
			fn(&obs[i])
		}
	}
	ec.scratch = idx
}

// Evaluate screens one patient record against every criterion.
func (p *Protocol) Evaluate(rec *Record, s Settings) *Screening {
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	placed := p.placeRecord(rec)
	ec := &evalCtx{rec: placed.rec, placed: placed, asOf: s.AsOf, ld: s.LymphodepletionDate, loc: loc, statuses: &p.statuses, masks: p.masks}
	out := &Screening{
		AsOf:     s.AsOf,
		Protocol: ProtocolRef{ID: p.Info.ID, Version: p.Info.Version, Title: p.Info.Title},
		Settings: SettingsReport{
			AsOf:                s.AsOf,
			TimeZone:            loc.String(),
			ObservationStatuses: append([]string(nil), p.obsStatuses...),
			Terminology:         p.terminology,
		},
		Criteria:    make([]Result, 0, len(p.criteria)),
		ToObtain:    []Item{},
		ReviewItems: []Item{},
		Data: DataReport{
			Seen:          rec.Seen,
			Sources:       rec.Sources,
			Unreadable:    rec.Unreadable,
			OtherPatients: rec.OtherPatients,
		},
	}
	if out.Data.Unreadable == nil {
		out.Data.Unreadable = []UnreadableEntry{}
	}
	if !s.LymphodepletionDate.IsZero() {
		out.Settings.LymphodepletionDate = s.LymphodepletionDate.Format("2006-01-02")
	}
	if rec.Patient != nil {
		out.Patient = PatientRef{ID: rec.Patient.ID, Reference: rec.Patient.Ref,
			Name: rec.Patient.Name, Gender: rec.Patient.Gender, BirthDate: rec.Patient.BirthDate.String()}
	}
	for _, c := range p.criteria {
		r := p.evaluateOne(c, ec)
		stampVersions(r.Evidence, rec)
		switch r.Outcome {
		case Unknown:
			out.ToObtain = append(out.ToObtain, Item{Criterion: r.ID, Reason: r.Reason, What: r.Obtain})
		case Review:
			out.ReviewItems = append(out.ReviewItems, Item{Criterion: r.ID, Reason: r.Reason, What: r.Summary})
		}
		out.Criteria = append(out.Criteria, r)
	}
	out.Verdict, out.Counts = decideVerdict(out.Criteria)
	return out
}

// evaluateOne runs one criterion and then applies the rules that hold for every kind:
// a criterion that concerns only one sex, and data that was not fully obtained or read
// never yields pass or review.
func (p *Protocol) evaluateOne(c *criterion, ec *evalCtx) Result {
	var r Result
	switch {
	case ec.rec.Patient == nil && len(c.needs) > 0:
		r = Result{Outcome: Unknown, Reason: ReasonNoData, Summary: "no Patient resource was found"}
	case c.spec.AppliesTo != "" && ec.rec.Patient != nil && isOtherSex(ec.rec.Patient.Gender, c.spec.AppliesTo):
		r = Result{Outcome: Pass, Reason: ReasonNotApplicable,
			Summary:  fmt.Sprintf("applies only to %s patients; the patient is %s", c.spec.AppliesTo, ec.rec.Patient.Gender),
			Evidence: []Evidence{{Resource: ec.rec.Patient.Ref, Text: "gender " + ec.rec.Patient.Gender}}}
		sexNotShown(c, ec.rec, &r)
	default:
		r = c.eval(ec)
	}
	r.ID, r.Kind, r.Text, r.Rule, r.Threshold = c.spec.ID, c.spec.Type, c.spec.Text, c.rule, c.threshold
	if r.Evidence == nil {
		r.Evidence = []Evidence{}
	}
	// A fail because nothing was found (a required diagnosis) rests on the record being
	// complete, so it too becomes unknown when the record is not. So does an unknown that
	// says what the record holds (nothing, only old or only preliminary results): with a
	// type not fully obtained, that is not known, and the remedy is to read the record
	// again, not to order a new test.
	if r.Outcome == Pass || r.Outcome == Review || (r.Outcome == Fail && r.Reason == ReasonNotFound) ||
		(r.Outcome == Unknown && (r.Reason == ReasonNoData || r.Reason == ReasonStale || r.Reason == ReasonNotFinal)) {
		p.downgradeForData(c, ec.rec, &r)
	}
	p.guardUnplaced(c, ec, &r)
	ec.placed.nameRecorded(r.Evidence)
	if r.Outcome == Unknown {
		r.Obtain = c.spec.Obtain
	}
	return r
}

func isOtherSex(gender, appliesTo string) bool {
	return (appliesTo == "female" && gender == "male") || (appliesTo == "male" && gender == "female")
}

// sexNotShown turns "does not apply to this sex" into unknown unless the sex was read from
// a Patient source obtained in full with no unreadable entry that may be a Patient beside
// it: a masked or partial Patient, or a second copy that could not be read (it may give
// another gender), does not show the sex. Other resource types do not matter to it.
func sexNotShown(c *criterion, rec *Record, r *Result) {
	st, ok := rec.sourceStatus(TypePatient, c.sourceKey[TypePatient])
	if !ok {
		st = SourceStatus{State: FetchFailed, Detail: "not fetched"}
	}
	if st.State != FetchComplete {
		r.Outcome, r.Reason = Unknown, ReasonSourceError
		r.Summary = fmt.Sprintf("the Patient record is %s (%s), so its sex is not shown; the result would otherwise have been: %s", st.State, st.Detail, r.Summary)
		return
	}
	n, notes := unreadableEvidence(rec.Unreadable, func(u UnreadableEntry) bool {
		return u.ResourceType == TypePatient || u.ResourceType == ""
	}, orNone)
	if n == 0 {
		return
	}
	r.Outcome, r.Reason = Unknown, ReasonUnreadable
	r.Summary = fmt.Sprintf("%d unreadable entr%s may be a Patient giving another sex; the result would otherwise have been: %s", n, plural(n, "y", "ies"), r.Summary)
	r.Evidence = append(r.Evidence, notes...)
}

// downgradeForData turns a pass, a review or a fail for want of a finding into unknown when
// a resource type the criterion reads was not fully obtained, or when an entry that might
// have mattered was unreadable.
func (p *Protocol) downgradeForData(c *criterion, rec *Record, r *Result) {
	if r.Reason == ReasonNotApplicable {
		return // sexNotShown has checked what it rests on: the Patient alone
	}
	for _, t := range c.needTypes {
		st, ok := rec.sourceStatus(t, c.sourceKey[t])
		if !ok {
			st = SourceStatus{State: FetchFailed, Detail: "not fetched"}
		}
		if st.State != FetchComplete {
			r.Outcome, r.Reason = Unknown, ReasonSourceError
			r.Summary = fmt.Sprintf("%s records are %s (%s); the result would otherwise have been: %s", t, st.State, st.Detail, r.Summary)
			return
		}
	}
	n, notes := unreadableEvidence(rec.Unreadable, func(u UnreadableEntry) bool { return p.mayNeed(c, u) },
		func(t string) string { return t })
	if n > 0 {
		r.Outcome, r.Reason = Unknown, ReasonUnreadable
		r.Summary = fmt.Sprintf("%d unreadable entr%s might hold data for this criterion; the result would otherwise have been: %s", n, plural(n, "y", "ies"), r.Summary)
		r.Evidence = append(r.Evidence, notes...)
	}
}

// mayNeed reports whether an unreadable entry could have held data for this criterion:
// its codes, once placed, are ones it reads, or they cannot be placed at all.
func (p *Protocol) mayNeed(c *criterion, u UnreadableEntry) bool {
	if u.ResourceType == "" {
		return len(c.needs) > 0 // type unknown: it could be anything
	}
	m, ok := c.needs[u.ResourceType]
	if !ok {
		return false
	}
	if len(u.Codes) == 0 {
		return true // codes unknown: it could be any of them
	}
	codes := make([]Coding, 0, len(u.Codes))
	for _, s := range u.Codes {
		codes = append(codes, parseCodingString(s))
	}
	placed, ok := p.placeCodes(u.ResourceType, codes)
	return !ok || m.matches(placed)
}

// parseCodingString reads the "system|code" form of Coding.Key.
func parseCodingString(s string) Coding {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '|' {
			return Coding{System: s[:i], Code: s[i+1:]}
		}
	}
	return Coding{Code: s}
}

// sourceStatus looks up how completely a resource type was obtained. A source may report
// per criterion ("Observation#alt") when it searched per criterion.
func (rec *Record) sourceStatus(t, perCriterionKey string) (SourceStatus, bool) {
	if st, ok := rec.Sources[perCriterionKey]; ok {
		return st, true
	}
	st, ok := rec.Sources[t]
	return st, ok
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// groupObservations lists, for every codeset, the observations that carry one of its
// codes, in record order, in one backing array.
func (ec *evalCtx) groupObservations() {
	masks := ec.observationMasks()
	counts := make([]int, ec.masks.n)
	total := 0
	for i := range masks {
		masks[i].each(func(id int) { counts[id]++; total++ })
	}
	flat := make([]int, total)
	ec.obsByCodeset = make([][]int, ec.masks.n)
	off := 0
	for id, n := range counts {
		ec.obsByCodeset[id] = flat[off : off : off+n]
		off += n
	}
	for i := range masks {
		masks[i].each(func(id int) { ec.obsByCodeset[id] = append(ec.obsByCodeset[id], i) })
	}
}

// NeededTypes lists the FHIR resource types some criterion reads, besides Patient, for a
// source to fetch. The protocol drives what is fetched; sources keep no list of their own.
func (p *Protocol) NeededTypes() []string {
	var out []string
	for _, t := range sortedKeys(p.relevant) {
		if t != TypePatient {
			out = append(out, t)
		}
	}
	return out
}
