package screening

import (
	"fmt"
	"slices"
	"strings"

	"github.com/trialscreen/trialscreen/terminology"
)

// Placing a record's codes. Hospitals write the same fact in many ways: a system as an
// OID, a drug as a branded product, a pack or an NDC, a diagnosis in a national ICD-10
// edition, a test under a local code the site has mapped. Before any criterion reads a
// record, every coding is put under its canonical system, and what it stands for is
// added beside it (the drug's ingredients, the site's standard code), each derived
// coding naming in Via what the record gave. A record whose codes cannot be placed at
// all (a local code nobody mapped, a drug the tables do not know, text only) is kept, so
// that no criterion it could decide passes without a person looking at it.

// isStandard reports whether system is one in which a code, once its system is known, says what
// the record is: the protocol's codesets and value set expansions decide whether it is
// a finding, and a code in none of them is not one. Drugs are placed only through the
// drug table: a product code says nothing of its ingredients by itself.
func isStandard(t, system string) bool {
	switch t {
	case TypeObservation:
		return system == SystemLOINC || system == SystemSNOMED
	case TypeCondition:
		return system == SystemSNOMED || system == SystemICD10 || system == SystemICD10WHO
	case TypeProcedure:
		return system == SystemSNOMED || system == SystemCPT || system == SystemICD10PCS || system == terminology.HCPCS
	}
	return false
}

// isDrugType reports whether codes of a resource type name drugs (placed by ingredient).
func isDrugType(t string) bool {
	switch t { // a switch: it is asked for every coding of every record
	case TypeAllergy, TypeMedRequest, TypeMedStatement, TypeMedAdminister, TypeMedDispense:
		return true
	}
	return false
}

// placeCodes puts a resource's codings under their canonical systems and adds what they
// stand for. placed reports whether some coding says what the resource is. The input is
// never changed; it is returned as it is when nothing changes (the common case).
func (p *Protocol) placeCodes(t string, codes []Coding) (out []Coding, placed bool) {
	v := p.vocab
	if !isDrugType(t) && v.Site.Len() == 0 {
		// The common case, on the path of every coding of every record: no site map, not
		// a drug, and systems already canonical. Nothing is derived; only placed is told.
		plain := true
		for _, c := range codes {
			if v.Systems.Canonical(c.System) != c.System {
				plain = false
				break
			}
			placed = placed || isStandard(t, c.System)
		}
		if plain {
			if !placed && t != "" && p.relevant[t].matches(p.masks, codes) {
				placed = true
			}
			return codes, placed
		}
		placed = false
	}
	out = codes
	cloned := false
	own := func() {
		if !cloned {
			out = slices.Clone(codes)
			cloned = true
		}
	}
	drug := isDrugType(t)
	siteMaps := v.Site.Len() > 0
	add := func(c, recorded Coding) {
		for _, x := range out {
			if x.System == c.System && x.Code == c.Code {
				return
			}
		}
		own()
		out = append(out, withVia(c, recorded))
	}
	for i, rc := range codes {
		c := rc
		if cs := v.Systems.Canonical(rc.System); cs != rc.System {
			own()
			c = Coding{System: cs, Code: rc.Code, Via: rc.Key()}
			out[i] = c
		}
		if siteMaps {
			for _, m := range v.Site.Map(c) {
				placed = true
				add(m, rc)
			}
		}
		if drug {
			if v.Drugs.EachIngredient(c, func(in Coding) { add(in, rc) }) {
				placed = true
			}
			// "No known (drug) allergy" says what the record is, and it is no finding.
			placed = placed || (t == TypeAllergy && terminology.NoKnownAllergy(c))
			continue
		}
		if !placed && isStandard(t, c.System) {
			placed = true
		}
	}
	if !placed && t != "" && p.relevant[t].matches(p.masks, out) {
		placed = true // a code the protocol lists itself, in whatever system
	}
	return out, placed
}

// Unplaced reports whether a resource of type t coded so cannot be placed: none of its
// codes says what it is (an unknown system, a drug code the drug table does not know, a
// local code no site map maps, or no code at all). It is the judgement screening makes
// of every record (placeCodes), for tools that show a site what to map before go-live.
// Types the protocol does not read are never unplaced.
func (p *Protocol) Unplaced(t string, codes []Coding) bool {
	if _, reads := p.relevant[t]; !reads || t == TypePatient {
		return false
	}
	_, placed := p.placeCodes(t, codes)
	return !placed
}

// UnplacedWhy says, for one coding of a record that cannot be placed (an empty coding
// for a record with no code), what would place it: the advice a site's informaticist
// acts on. It reads the vocabulary as placeCodes does.
func (p *Protocol) UnplacedWhy(t string, c Coding) string {
	if c.System == "" && c.Code == "" {
		return "no code, text only: have the sender code it, or review such records by hand"
	}
	sys := p.vocab.Systems.Canonical(c.System)
	switch {
	case c.System == "":
		return "no code system: have the sender name it"
	case isDrugType(t) && (sys == SystemRxNorm || sys == SystemNDC || sys == SystemSNOMED):
		return "drug code the drug table does not know: import RxNorm (terminology import-rxnorm) or map it"
	case terminology.Known(sys):
		return "a " + terminology.SystemName(sys) + " code does not say what a " + t + " is: map it to a code system the protocol reads"
	}
	return "unknown code system (a local code, or a standard system under a URI not known): alias the system or map the code"
}

// UnplacedRecord is a record the protocol reads whose codes cannot be placed.
type UnplacedRecord struct {
	Type  string   // the FHIR resource type
	Ref   string   // "MedicationRequest/123"
	Codes []Coding // as the record gave them
	Text  string   // what the sender called it
}

// UnplacedRecords lists the records of rec whose codes cannot be placed, exactly those a
// screening of rec would hold against its criteria (review/unplaced-code): the records
// that count (an Observation of a counted status, a procedure or medication not recorded
// as not done, an allergy that may be to a drug and is not refuted), panel components
// as results of their own.
func (p *Protocol) UnplacedRecords(rec *Record) []UnplacedRecord {
	pr := p.placeRecord(rec)
	out := make([]UnplacedRecord, len(pr.unplaced))
	for i, u := range pr.unplaced {
		out[i] = UnplacedRecord{Type: u.typ, Ref: u.ref, Codes: u.codes, Text: u.text}
		if isDrugType(u.typ) {
			// Medications of every kind are read as one; the reference names the kind.
			for _, t := range []string{TypeMedRequest, TypeMedStatement, TypeMedAdminister} {
				if strings.HasPrefix(u.ref, t+"/") || strings.HasPrefix(u.ref, t+" (") {
					out[i].Type = t
				}
			}
		}
	}
	return out
}

func withVia(c, recorded Coding) Coding {
	c.Via = recorded.Key()
	return c
}

// unplaced is a record the protocol reads whose codes cannot be placed.
type unplaced struct {
	typ, ref string
	codes    []Coding // as the record gave them
	text     string   // what the sender called it
	start    When     // when it began (or happened); unknown when undated
	end      When     // when it ended, for exposures; unknown when not recorded
	ongoing  bool
}

// describe names the record for a person: its reference, its codes as given and its text.
func (u unplaced) describe() string {
	var b strings.Builder
	b.WriteString(u.ref)
	if len(u.codes) == 0 {
		b.WriteString(" (no code)")
	} else {
		b.WriteString(" coded ")
		for i, c := range u.codes {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(c.Key())
		}
	}
	if u.text != "" {
		b.WriteString(" \"" + u.text + "\"")
	}
	return b.String()
}

// placedRecord is a record with its codes placed, and what could not be placed.
type placedRecord struct {
	rec      *Record
	unplaced []unplaced
	// derived lists each derived coding of a resource with what the record gave:
	// evidence names both. A list: records derive few codings, and it costs one
	// allocation where maps cost several on every screening.
	derived []derivation
}

type derivation struct{ ref, key, via string }

// noteVia remembers the derived codings of one resource.
func (pr *placedRecord) noteVia(ref string, codes []Coding) {
	for _, c := range codes {
		if c.Via != "" {
			pr.derived = append(pr.derived, derivation{ref, c.Key(), c.Via})
		}
	}
}

// nameRecorded sets, on each piece of evidence whose code or value code was derived,
// what the record gave (RecordedAs, ValueRecordedAs).
func (pr *placedRecord) nameRecorded(evs []Evidence) {
	if len(pr.derived) == 0 {
		return
	}
	for i := range evs {
		ev := &evs[i]
		for _, d := range pr.derived {
			if d.ref != ev.Resource {
				continue
			}
			switch d.key {
			case ev.Code:
				ev.RecordedAs = d.via
			case ev.ValueCode:
				ev.ValueRecordedAs = d.via
			}
		}
	}
}

// placeRecord places every coding of a record. The caller's record is not changed (it
// may be screened concurrently): the result shares what did not change.
func (p *Protocol) placeRecord(in *Record) placedRecord {
	out := *in
	var pr placedRecord
	miss := func(u unplaced) { pr.unplaced = append(pr.unplaced, u) }

	obs := p.liftResults(in.Observations)
	out.Observations = obs
	copied := len(obs) != len(in.Observations)
	for i := range obs {
		o := &obs[i]
		given := o.Code
		code, ok := p.placeCodes(TypeObservation, o.Code)
		vcode, interp := o.ValueCode, o.Interpretation
		if len(vcode) > 0 {
			vcode, _ = p.placeCodes("", vcode)
		}
		if len(interp) > 0 {
			interp, _ = p.placeCodes("", interp)
		}
		word := standardWord(o, vcode)
		if !sameSlices(code, o.Code) || !sameSlices(vcode, o.ValueCode) || !sameSlices(interp, o.Interpretation) || word != nil {
			if !copied {
				obs = slices.Clone(obs)
				out.Observations = obs
				o = &obs[i]
				copied = true
			}
			o.Code, o.ValueCode, o.Interpretation = code, vcode, interp
			if word != nil {
				o.ValueCode, o.ValueText = append(o.ValueCode, *word), ""
			}
			pr.noteVia(o.Ref, o.Code)
			pr.noteVia(o.Ref, o.ValueCode)
			pr.noteVia(o.Ref, o.Interpretation)
		}
		if !ok && p.statuses.observation[o.Status] {
			miss(unplaced{typ: TypeObservation, ref: o.Ref, codes: given, text: o.CodeText, start: o.Effective, end: o.Effective})
		}
	}
	out.Conditions = placeAll(p, &pr, TypeCondition, in.Conditions, func(c *Condition) (string, *[]Coding) { return c.Ref, &c.Code },
		func(c *Condition) {
			if !p.statuses.discounted[c.Verification] {
				miss(unplaced{typ: TypeCondition, ref: c.Ref, codes: c.Code, text: c.Text, start: c.Onset})
			}
		})
	out.Procedures = placeAll(p, &pr, TypeProcedure, in.Procedures, func(c *Procedure) (string, *[]Coding) { return c.Ref, &c.Code },
		func(c *Procedure) {
			if notDone[c.Status] {
				return
			}
			miss(unplaced{typ: TypeProcedure, ref: c.Ref, codes: c.Code, text: c.Text, start: c.PerformedStart, end: c.Performed, ongoing: c.Status == "in-progress"})
		})
	out.Medications = placeAll(p, &pr, TypeMedStatement, in.Medications, func(m *MedicationUse) (string, *[]Coding) { return m.Ref, &m.Code },
		func(m *MedicationUse) {
			if notDone[m.Status] {
				return
			}
			miss(unplaced{typ: TypeMedStatement, ref: m.Ref, codes: m.Code, text: m.Text, start: m.Start, end: m.End, ongoing: isOngoing(m.Status)})
		})
	out.Allergies = placeAll(p, &pr, TypeAllergy, in.Allergies, func(a *Allergy) (string, *[]Coding) { return a.Ref, &a.Code },
		func(a *Allergy) {
			if a.mayBeDrug() && !p.statuses.discounted[a.Verification] {
				miss(unplaced{typ: TypeAllergy, ref: a.Ref, codes: a.Code, text: a.Text})
			}
		})
	pr.rec = in // nothing changed: no copy of the record
	if !sameSlices(out.Observations, in.Observations) || !sameSlices(out.Conditions, in.Conditions) || !sameSlices(out.Procedures, in.Procedures) ||
		!sameSlices(out.Medications, in.Medications) || !sameSlices(out.Allergies, in.Allergies) {
		placed := out
		pr.rec = &placed
	}
	return pr
}

// placeAll places the codes of each resource of a kind, copying the slice only when a
// coding changes, and reports each resource that cannot be placed.
func placeAll[T any](p *Protocol, pr *placedRecord, t string, in []T, codes func(*T) (string, *[]Coding), unplacedFn func(*T)) []T {
	out := in
	copied := false
	for i := range in {
		ref, given := codes(&in[i])
		got, ok := p.placeCodes(t, *given)
		if !sameSlices(got, *given) {
			if !copied {
				out = slices.Clone(in)
				copied = true
			}
			_, dst := codes(&out[i])
			*dst = got
			pr.noteVia(ref, got)
		}
		if !ok {
			unplacedFn(&in[i])
		}
	}
	return out
}

// sameSlices reports whether a and b are the same slice (not merely equal).
func sameSlices[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// mayBeDrug: an allergy whose categories are all food, environment or biologic is no
// drug allergy whatever its code; one with no category, or medication, may be.
func (a *Allergy) mayBeDrug() bool {
	if len(a.Category) == 0 {
		return true
	}
	return slices.Contains(a.Category, "medication")
}

// guardUnplaced turns a pass into review when a record the criterion reads could be its
// finding but its codes cannot be placed: a drug the tables do not know given within the
// criterion's window, a test under a local code nobody mapped, a diagnosis in an unknown
// system. What is read as "nothing found" or "newest result passes" does not hold while
// such a record may be the finding. A criterion that does not apply to the patient
// (not-applicable) is left alone: no record changes that.
//
// A fail for want of a finding (no myeloma diagnosis on record) turns into review the same
// way: the finding may be the record that cannot be placed.
func (p *Protocol) guardUnplaced(c *criterion, ec *evalCtx, r *Result) {
	if len(ec.placed.unplaced) == 0 || r.Reason == ReasonNotApplicable ||
		!(r.Outcome == Pass || (r.Outcome == Fail && r.Reason == ReasonNotFound)) {
		return
	}
	var hits []unplaced
	for _, u := range ec.placed.unplaced {
		if _, reads := c.needs[u.typ]; reads && ec.inLookback(c, u) {
			hits = append(hits, u)
		}
	}
	if len(hits) == 0 {
		return
	}
	prior := r.Summary
	r.Outcome, r.Reason = Review, ReasonUnplaced
	r.Summary = fmt.Sprintf("%s cannot be placed by its codes and may be what decides this criterion (map it, or have a person read it); the result would otherwise have been: %s", hits[0].describe(), prior)
	if len(hits) > 1 {
		r.Summary = fmt.Sprintf("%d records cannot be placed by their codes and may decide this criterion, e.g. %s; the result would otherwise have been: %s", len(hits), hits[0].describe(), prior)
	}
	for _, u := range hits {
		ev := Evidence{Resource: u.ref, Text: u.text, Note: "codes cannot be placed: " + u.describe()}
		if len(u.codes) > 0 {
			ev.Code = u.codes[0].Key()
		}
		if u.start.Known() {
			ev.Date = u.start.String()
		}
		r.Evidence = append(r.Evidence, ev)
	}
}

// inLookback reports whether an unplaced record may fall in the span the criterion reads:
// undated or ongoing records may; records dated wholly after as-of are ignored, as
// results are.
func (ec *evalCtx) inLookback(c *criterion, u unplaced) bool {
	if u.ongoing || (!u.start.Known() && !u.end.Known()) {
		return true
	}
	first, last := u.start, u.end
	if !first.Known() {
		first = last
	}
	if !last.Known() {
		// An exposure with no end recorded: one still going on was caught above; one that
		// is over (completed, stopped) is placed at its start.
		last = first
	}
	if ec.start(first).After(ec.asOf) {
		return false
	}
	if c.lookbackDays == 0 {
		return true
	}
	return !ec.end(last).Before(ec.windowStart(c.lookbackDays))
}
