package screening

import (
	"github.com/trialscreen/trialscreen/terminology"

	"fmt"
	"strconv"
	"strings"
	"time"
)

// ruleSpec finds coded records that bear on a criterion: conditions, procedures,
// coded observations, medications or allergies, optionally within a window.
type ruleSpec struct {
	Resource   string   `yaml:"resource"` // Condition, Procedure, Observation, Medication, AllergyIntolerance
	Codes      []string `yaml:"codes"`
	Values     []string `yaml:"values"` // Observation: only these coded values count
	WithinDays int      `yaml:"within_days"`
	ActiveOnly bool     `yaml:"active_only"` // Condition: only current clinical statuses count
	Outcome    string   `yaml:"outcome"`     // fail or review
	Note       string   `yaml:"note"`
	// Ignore lists codesets that never count here (e.g. the index disease itself).
	Ignore []string `yaml:"ignore"`
	// AllowedIfCured lists codesets that do not count once cured (abated or resolved),
	// and need review while they are not. A cured record that is an exception only through
	// codes tagged U (unverified) is read as if it were none, and what the rule then finds
	// is a review: a guessed code never lets a patient pass on its own.
	AllowedIfCured []string `yaml:"allowed_if_cured"`
	// RemissionYears: a cured finding whose abatement is more than this many years before
	// as-of does not count (the protocol's "complete remission of more than 5 years": exactly
	// 5 is not enough); a more recent one does; one without a date needs review.
	RemissionYears int `yaml:"remission_years"`
	// Unverified: "review" makes a fail found only through codes the protocol tags U
	// (unverified) a review instead, so that a guessed code never excludes a patient on
	// its own. Empty keeps the rule's outcome for every code.
	Unverified string `yaml:"unverified"`
	// Escalate: when this rule finds something and the escalation rule also finds
	// something, the escalation's outcome applies (e.g. autoimmune disease plus
	// immunosuppressants within 2 years is a fail, the disease alone a review).
	Escalate *ruleSpec `yaml:"escalate"`
}

// Resource kinds a rule may name. Medication covers MedicationRequest,
// MedicationStatement and MedicationAdministration.
const ruleMedication = "Medication"

// notDone are statuses that mean a procedure or medication did not happen.
var notDone = map[string]bool{"entered-in-error": true, "not-done": true, "not-taken": true, "cancelled": true, "draft": true, "declined": true}

type rule struct {
	spec     ruleSpec
	codes    *codeMatcher
	values   *codeMatcher
	ignore   *codeMatcher
	cured    *codeMatcher
	anyMask  codesetMask // codes and cured: a record sharing none of these is skipped
	outcome  Outcome
	escalate *rule
}

// hit is one record a rule found, with the outcome it leads to.
type hit struct {
	outcome Outcome
	reason  Reason
	summary string
	ev      []Evidence
	code    Coding // the coding that matched the rule's codes
	value   Coding // an Observation rule's matched value, if any
	// The record's codings (and value codings) that the rule matched against: the U guard
	// reads them all, so that the order of a record's codings cannot decide.
	codes, values []Coding
}

func compileRules(cc *compileCtx, field string, specs []ruleSpec) []*rule {
	var out []*rule
	for i := range specs {
		out = append(out, compileRule(cc, fmt.Sprintf("%s[%d]", field, i), specs[i]))
	}
	return out
}

func compileRule(cc *compileCtx, field string, s ruleSpec) *rule {
	r := &rule{spec: s}
	r.codes = cc.codes(field+".codes", s.Codes, true)
	r.values = cc.codes(field+".values", s.Values, false)
	r.ignore = cc.codes(field+".ignore", s.Ignore, false)
	r.cured = cc.codes(field+".allowed_if_cured", s.AllowedIfCured, false)
	r.outcome = cc.outcome(field+".outcome", s.Outcome)
	r.anyMask = r.codes.mask
	r.anyMask.or(r.cured.mask)
	cc.window(field+".within_days", s.WithinDays, false)
	if s.RemissionYears < 0 {
		cc.errorf(field+".remission_years", "must not be negative")
	}
	if s.Unverified != "" && s.Unverified != string(Review) {
		cc.errorf(field+".unverified", "must be review (or left out), not %q", s.Unverified)
	}
	all := newCodeMatcher()
	all.merge(r.codes)
	all.merge(r.cured)
	switch s.Resource {
	case TypeCondition, TypeProcedure, TypeObservation, TypeAllergy:
		cc.need(s.Resource, all)
	case ruleMedication:
		cc.needMedications(all)
	default:
		cc.errorf(field+".resource", "must be Condition, Procedure, Observation, Medication or AllergyIntolerance, not %q", s.Resource)
	}
	if s.Resource != TypeObservation && len(s.Values) > 0 {
		cc.errorf(field+".values", "only Observation rules take values")
	}
	if s.Resource != TypeCondition && (s.ActiveOnly || len(s.AllowedIfCured) > 0 || s.RemissionYears > 0) {
		cc.errorf(field, "active_only, allowed_if_cured and remission_years apply to Condition rules only")
	}
	if s.Escalate != nil {
		r.escalate = compileRule(cc, field+".escalate", *s.Escalate)
	}
	return r
}

// describe renders the rule in words for the settings report.
func (r *rule) describe() string {
	d := fmt.Sprintf("%s in %s", r.spec.Resource, strings.Join(r.spec.Codes, "/"))
	if len(r.spec.Values) > 0 {
		d += " valued " + strings.Join(r.spec.Values, "/")
	}
	if r.spec.WithinDays > 0 {
		d += fmt.Sprintf(" within %d days", r.spec.WithinDays)
	}
	if r.spec.ActiveOnly {
		d += " (current)"
	}
	d += " -> " + r.spec.Outcome
	if r.spec.Unverified != "" {
		d += " (unverified codes -> " + r.spec.Unverified + ")"
	}
	if r.escalate != nil {
		d += "; with " + r.escalate.describe()
	}
	return d
}

// find returns what the rule finds in the record.
func (r *rule) find(ec *evalCtx) []hit {
	hits, _ := r.findAll(ec)
	return hits
}

// findAll returns what the rule finds, and the records an active_only rule matched but
// set aside because their clinical status says they are over, so that a result can say
// how many were set aside and which.
func (r *rule) findAll(ec *evalCtx) ([]hit, []Evidence) {
	var hits []hit
	var aside []Evidence
	switch r.spec.Resource {
	case TypeCondition:
		masks := ec.conditionMasks()
		for i := range ec.rec.Conditions {
			if !r.anyMask.intersects(&masks[i]) {
				continue
			}
			h, ok, set := r.condition(ec, &ec.rec.Conditions[i])
			if ok {
				h.codes = ec.rec.Conditions[i].Code
				hits = append(hits, h)
			}
			if set != nil {
				aside = append(aside, *set)
			}
		}
	case TypeProcedure:
		masks := ec.procedureMasks()
		for i := range ec.rec.Procedures {
			p := &ec.rec.Procedures[i]
			if !r.anyMask.intersects(&masks[i]) || notDone[p.Status] {
				continue
			}
			if c, set, ok := r.codes.match(p.Code); ok {
				if h, ok := r.dated(ec, p.Ref, c, set, p.Performed, "performed", p.Display); ok {
					h.codes = p.Code
					hits = append(hits, h)
				}
			}
		}
	case TypeObservation:
		ec.eachObservation(r.codes, func(o *Observation) {
			if !ec.statuses.observation[o.Status] {
				return
			}
			c, set, ok := r.codes.match(o.Code)
			if !ok {
				return
			}
			var value Coding
			if !r.values.empty() {
				if value, _, ok = r.values.match(o.ValueCode); !ok {
					// A value given as text, or in codes of no known system, may be one of
					// the values: a person reads it (a coded other value is no finding).
					if text := valueText(o); text != "" {
						if h, ok := r.dated(ec, o.Ref, c, set, o.Effective, "effective", o.CodeDisplay); ok {
							h.outcome, h.reason = Review, ReasonFreeText
							h.ev[0].Text = text
							h.summary = fmt.Sprintf("%s on %s has a value that cannot be read as a code (%q)", c, orNone(o.Effective.String()), text)
							hits = append(hits, h)
						}
					}
					return
				}
			}
			if h, ok := r.dated(ec, o.Ref, c, set, o.Effective, "effective", o.CodeDisplay); ok {
				h.value, h.codes = value, o.Code
				if value != (Coding{}) {
					h.values = o.ValueCode
				}
				if value != (Coding{}) {
					h.ev[0].ValueCode = value.Key()
				} else if len(o.ValueCode) > 0 {
					h.ev[0].ValueCode = o.ValueCode[0].Key()
				}
				hits = append(hits, h)
			}
		})
	case ruleMedication:
		masks := ec.medicationMasks()
		for i := range ec.rec.Medications {
			if !r.anyMask.intersects(&masks[i]) {
				continue
			}
			if h, ok := r.medication(ec, &ec.rec.Medications[i]); ok {
				h.codes = ec.rec.Medications[i].Code
				hits = append(hits, h)
			}
		}
	case TypeAllergy:
		masks := ec.allergyMasks()
		for i := range ec.rec.Allergies {
			a := &ec.rec.Allergies[i]
			if !r.anyMask.intersects(&masks[i]) || ec.statuses.discounted[a.Verification] {
				continue
			}
			if c, set, ok := r.codes.match(a.Code); ok {
				hits = append(hits, hit{outcome: r.outcome, reason: foundReason(r.outcome), code: c, codes: a.Code,
					summary: fmt.Sprintf("allergy recorded: %s", c),
					ev:      []Evidence{{Resource: a.Ref, Code: c.Key(), Codeset: set, Status: a.Verification, Note: noteOr(r.spec.Note, "criticality "+orNone(a.Criticality)), Display: a.Display}}})
			}
		}
	}
	for i := range hits {
		r.guardUnverified(&hits[i])
	}
	if r.escalate != nil && len(hits) > 0 {
		more := r.escalate.find(ec)
		for i := range hits {
			if len(more) == 0 {
				break
			}
			// The escalation's own hits decide: one placed in its window escalates, an
			// undated one (review) cannot turn the finding into a fail.
			e := worst(more)
			if severity(e.outcome) > severity(hits[i].outcome) {
				hits[i].outcome, hits[i].reason = e.outcome, e.reason
			}
			hits[i].summary += fmt.Sprintf("; with %s", e.summary)
			for _, m := range more {
				hits[i].ev = append(hits[i].ev, m.ev...)
			}
		}
	}
	return hits, aside
}

// guardUnverified turns a fail found only through unverified (U) codes into a review,
// when the rule asks for it: the code itself needs checking before it can exclude. Only
// when every coding of the record that matches is unverified: a verified one beside it
// excludes, whichever comes first.
func (r *rule) guardUnverified(h *hit) {
	if r.spec.Unverified != string(Review) || h.outcome != Fail {
		return
	}
	byCode := r.codes.allUnverified(h.codes, h.code)
	byValue := h.value != (Coding{}) && r.values.allUnverified(h.values, h.value)
	if !byCode && !byValue {
		if v, ok := r.codes.verifiedBeside(h.codes, h.code); ok {
			h.summary += fmt.Sprintf(" (also coded %s, a verified code)", v)
		}
		return
	}
	which := h.code
	if !byCode {
		which = h.value
	}
	h.outcome, h.reason = Review, ReasonJudgement
	h.summary += fmt.Sprintf(" (%s is an unverified code: confirm it before it excludes)", which)
	if len(h.ev) > 0 {
		h.ev[0].Note = joinNote(h.ev[0].Note, fmt.Sprintf("%s is listed in the protocol only as unverified (source U), so it cannot exclude on its own", which))
	}
}

// foundReason is the reason a rule's own outcome carries: found for a fail, judgement
// for a review (the contract's review reasons say why a person must decide, and found is
// a pass/fail reason).
func foundReason(o Outcome) Reason {
	if o == Review {
		return ReasonJudgement
	}
	return ReasonFound
}

func noteOr(note, alt string) string {
	if note != "" {
		return note
	}
	return alt
}

func orNone(s string) string {
	if s == "" {
		return "not recorded"
	}
	return s
}

// dated applies the rule's window to a record's date. An undated record under a window
// cannot be placed, so it needs review rather than being dropped.
func (r *rule) dated(ec *evalCtx, ref string, c Coding, set string, when When, what, display string) (hit, bool) {
	ev := Evidence{Resource: ref, Code: c.Key(), Codeset: set, Date: when.String(), Note: r.spec.Note, Display: display}
	if when.Known() && ec.start(when).After(ec.asOf) {
		return hit{}, false
	}
	if r.spec.WithinDays > 0 {
		if !when.Known() {
			return hit{outcome: Review, reason: ReasonUndated, ev: []Evidence{ev}, code: c,
				summary: fmt.Sprintf("%s has no %s date, so the %d-day window cannot be checked", c, what, r.spec.WithinDays)}, true
		}
		if ec.end(when).Before(ec.windowStart(r.spec.WithinDays)) {
			return hit{}, false
		}
		if straddles(ec, when, ec.windowStart(r.spec.WithinDays)) {
			return hit{outcome: Review, reason: ReasonUndated, ev: []Evidence{ev}, code: c,
				summary: fmt.Sprintf("%s %s is dated only to %s, which may fall inside the %d-day window or before it", c, what, when, r.spec.WithinDays)}, true
		}
	}
	return hit{outcome: r.outcome, reason: foundReason(r.outcome), ev: []Evidence{ev}, code: c,
		summary: c.String() + " " + what + " " + orNone(when.String())}, true
}

// valueText is what an observation's value says when it cannot be matched as a code: its
// text, or the codes of unknown systems it gives; "" when it is coded (or absent).
func valueText(o *Observation) string {
	if o.ValueText != "" {
		return o.ValueText
	}
	for _, c := range o.ValueCode {
		if terminology.Known(c.System) {
			return ""
		}
	}
	if len(o.ValueCode) > 0 {
		if o.ValueCodeText != "" {
			return o.ValueCodeText
		}
		return o.ValueCode[0].Key()
	}
	return ""
}

// straddles reports whether a date known only to the month or year may lie on either
// side of limit: whether the event was inside a window or long enough ago cannot be told,
// so a person reads it (a day or an instant is precise enough to decide).
func straddles(ec *evalCtx, w When, limit time.Time) bool {
	return (w.Precision == PrecisionMonth || w.Precision == PrecisionYear) &&
		ec.start(w).Before(limit) && !ec.end(w).Before(limit)
}

// condition decides one Condition. On an active_only rule a clinical status that says the
// condition is over sets it aside (returned as evidence, never silently dropped); one that
// is not a known code, or missing where the onset cannot place it, needs a person.
func (r *rule) condition(ec *evalCtx, cd *Condition) (hit, bool, *Evidence) {
	if !r.codes.matches(cd.Code) && !r.cured.matches(cd.Code) {
		return hit{}, false, nil // the common case: checked first, before any status lookup
	}
	if ec.statuses.discounted[cd.Verification] || r.ignore.matches(cd.Code) {
		return hit{}, false, nil
	}
	cured := ec.isCured(cd)
	if c, set, ok := r.cured.match(cd.Code); ok {
		if cured && r.cured.allUnverified(cd.Code, c) {
			return r.unverifiedException(ec, cd, c, set)
		}
		if cured {
			return hit{}, false, nil
		}
		return hit{outcome: Review, reason: ReasonJudgement,
			summary: fmt.Sprintf("%s is an allowed exception only once cured; it is %s", c, orNone(cd.Clinical)),
			ev:      []Evidence{condEvidence(cd, c, set, r.spec.Note)}}, true, nil
	}
	return r.conditionCodes(ec, cd)
}

// unverifiedException decides a cured condition that is an allowed exception only through
// codes listed as U (unverified). A guessed code must not let a patient pass on its own:
// the condition is read as if it were not an exception, and whatever it would then find
// (a fail, say, for a remission of less than the required years) is a review that names
// the unverified code. What it would not find (a remission long enough) is still set aside.
func (r *rule) unverifiedException(ec *evalCtx, cd *Condition, c Coding, set string) (hit, bool, *Evidence) {
	h, ok, aside := r.conditionCodes(ec, cd)
	if !ok {
		return h, ok, aside
	}
	if h.outcome == Fail {
		h.outcome, h.reason = Review, ReasonJudgement
	}
	h.summary += fmt.Sprintf("; cured, it would be an allowed exception, but %s is an unverified code: confirm it before it lets the patient pass", c)
	note := fmt.Sprintf("%s is listed in the protocol's exceptions (%s) only as unverified (source U), so it cannot allow the patient on its own", c, set)
	if len(h.ev) > 0 {
		h.ev[0].Note = joinNote(h.ev[0].Note, note)
	} else {
		h.ev = append(h.ev, condEvidence(cd, c, set, note))
	}
	return h, true, aside
}

// conditionCodes decides a Condition that is not an allowed exception by the rule's codes.
func (r *rule) conditionCodes(ec *evalCtx, cd *Condition) (hit, bool, *Evidence) {
	c, set, ok := r.codes.match(cd.Code)
	if !ok {
		return hit{}, false, nil
	}
	cured := ec.isCured(cd)
	if r.spec.ActiveOnly && cd.Clinical != "" && !ec.statuses.active[cd.Clinical] {
		if ec.statuses.resolved[cd.Clinical] {
			ev := condEvidence(cd, c, set, "")
			ev.Note = fmt.Sprintf("set aside: clinical status %s means it is not current", cd.Clinical)
			return hit{}, false, &ev
		}
		// FHIR codes are case-sensitive: "Active" is not "active", and a person must read
		// what the record meant rather than the record vanishing.
		ev := condEvidence(cd, c, set, r.spec.Note)
		ev.Note = joinNote(r.spec.Note, fmt.Sprintf("clinical status %q could not be read: it is not one of the codes %s (codes are case-sensitive), so whether it is current is not known",
			cd.Clinical, ec.statuses.clinicalCodes()))
		return hit{outcome: Review, reason: ReasonJudgement, ev: []Evidence{ev},
			summary: fmt.Sprintf("%s has clinical status %q, which could not be read", c, cd.Clinical)}, true, nil
	}
	if r.spec.RemissionYears > 0 && cured {
		ev := condEvidence(cd, c, set, r.spec.Note)
		if !cd.Abatement.Known() {
			return hit{outcome: Review, reason: ReasonUndated, ev: []Evidence{ev},
				summary: fmt.Sprintf("%s is in remission with no date; remission must exceed %d years", c, r.spec.RemissionYears)}, true, nil
		}
		// More than N years: an abatement exactly N years before as-of is not enough; one
		// dated only to a month or year ("2021-11") that may lie on either side is review.
		if ec.end(cd.Abatement).Before(ec.asOf.AddDate(-r.spec.RemissionYears, 0, 0)) {
			return hit{}, false, nil
		}
		if straddles(ec, cd.Abatement, ec.asOf.AddDate(-r.spec.RemissionYears, 0, 0)) {
			return hit{outcome: Review, reason: ReasonUndated, ev: []Evidence{ev}, code: c,
				summary: fmt.Sprintf("%s is in remission since %s, which may be more or less than %d years before as-of", c, cd.Abatement, r.spec.RemissionYears)}, true, nil
		}
		return hit{outcome: r.outcome, reason: foundReason(r.outcome), ev: []Evidence{ev}, code: c,
			summary: fmt.Sprintf("%s in remission only since %s (not more than %d years)", c, cd.Abatement, r.spec.RemissionYears)}, true, nil
	}
	if r.spec.ActiveOnly && ec.statuses.active[cd.Clinical] {
		// Current at as-of: the window is about when it began, and a current condition
		// (an infection still active, say) counts however long ago that was.
		h := hit{outcome: r.outcome, reason: foundReason(r.outcome), ev: []Evidence{condEvidence(cd, c, set, r.spec.Note)}, code: c,
			summary: c.String() + " is " + cd.Clinical + " (onset " + orNone(cd.Onset.String()) + ")"}
		return h, true, nil
	}
	// Only the onset places the event in a window: the recorded date is when someone
	// wrote it down, so a condition without onset is undated (review).
	h, ok := r.dated(ec, cd.Ref, c, set, cd.Onset, "onset", cd.Display)
	if ok {
		h.ev[0].Status = strings.Trim(cd.Clinical+"/"+cd.Verification, "/")
		if r.spec.ActiveOnly && cd.Clinical == "" {
			h.ev[0].Note = joinNote(h.ev[0].Note, "no clinical status recorded, so it is counted as possibly current")
		}
		return h, true, nil
	}
	if r.spec.ActiveOnly && cd.Clinical == "" && r.spec.WithinDays > 0 && cd.Onset.Known() && !ec.start(cd.Onset).After(ec.asOf) {
		// Began before the window with no clinical status: it may still be current, which
		// only the status could have said.
		ev := condEvidence(cd, c, set, "")
		if cd.Abated {
			ev.Note = "set aside: no clinical status, but an abatement is recorded, so it is not current"
			return hit{}, false, &ev
		}
		ev.Note = joinNote(r.spec.Note, fmt.Sprintf("no clinical status recorded and onset %s is before the %d-day window, so whether it is still current is not known", cd.Onset, r.spec.WithinDays))
		return hit{outcome: Review, reason: ReasonJudgement, ev: []Evidence{ev},
			summary: fmt.Sprintf("%s has no clinical status (onset %s), so whether it is current could not be read", c, cd.Onset)}, true, nil
	}
	return hit{}, false, nil
}

// isCured: abated or resolved counts as cured unless the clinical status says it is
// current again (active, recurrence, relapse): a recurrence is not a remission.
func (ec *evalCtx) isCured(cd *Condition) bool {
	return (cd.Abated || ec.statuses.resolved[cd.Clinical]) && !ec.statuses.active[cd.Clinical]
}

// clinicalCodes lists the clinical statuses the protocol reads, for evidence that one
// could not be read.
func (st *statusSets) clinicalCodes() string {
	return fmt.Sprintf("%s (current) or %s (over)", strings.Join(sortedKeys(st.active), ", "), strings.Join(sortedKeys(st.resolved), ", "))
}

// joinNote adds a sentence to a rule's own note.
func joinNote(note, more string) string {
	if note == "" {
		return more
	}
	return note + "; " + more
}

func condEvidence(cd *Condition, c Coding, set, note string) Evidence {
	return Evidence{Resource: cd.Ref, Code: c.Key(), Codeset: set, Date: cd.Onset.String(),
		Status: strings.Trim(cd.Clinical+"/"+cd.Verification, "/"), Note: note, Display: cd.Display}
}

// medication applies the window to an exposure: it counts when it overlaps the window.
func (r *rule) medication(ec *evalCtx, m *MedicationUse) (hit, bool) {
	if notDone[m.Status] {
		return hit{}, false
	}
	c, set, ok := r.codes.match(m.Code)
	if !ok {
		return hit{}, false
	}
	started := m.Start.String()
	ev := Evidence{Resource: m.Ref, Code: c.Key(), Codeset: set, Date: started, Status: m.Status, Note: r.spec.Note, Display: m.Display}
	if r.spec.WithinDays > 0 {
		start := ec.windowStart(r.spec.WithinDays)
		last := m.End
		if !last.Known() {
			last = m.Start
		}
		if !last.Known() {
			return hit{outcome: Review, reason: ReasonUndated, ev: []Evidence{ev},
				summary: fmt.Sprintf("%s has no date, so the %d-day window cannot be checked", c, r.spec.WithinDays)}, true
		}
		// A status that says the drug is still taken wins over any end date recorded.
		if !isOngoing(m.Status) && ec.end(last).Before(start) {
			return hit{}, false
		}
	}
	return hit{outcome: r.outcome, reason: foundReason(r.outcome), ev: []Evidence{ev}, code: c,
		summary: "medication " + c.String() + " (" + orNone(m.Status) + ") from " + orNone(started)}, true
}

// isOngoing reports whether a medication status means it is still being taken.
func isOngoing(status string) bool {
	return status == "active" || status == "on-hold" || status == "in-progress" || status == "intended"
}

// worst picks the most severe hit (fail over review); ties keep the first found.
func worst(hits []hit) hit {
	best := hits[0]
	for _, h := range hits[1:] {
		if severity(h.outcome) > severity(best.outcome) {
			best = h
		}
	}
	return best
}

// searched says how many records of each type were looked at, for a "nothing found" pass.
func searched(rec *Record, types []string) string {
	var parts []string
	for _, t := range types {
		n, ok := rec.Seen[t]
		if !ok {
			n = countOf(rec, t)
		}
		parts = append(parts, strconv.Itoa(n)+" "+t)
	}
	return strings.Join(parts, ", ")
}

func countOf(rec *Record, t string) int {
	switch t {
	case TypeMedRequest, TypeMedStatement, TypeMedAdminister, TypeMedDispense:
		n := 0
		for _, m := range rec.Medications {
			if strings.HasPrefix(m.Ref, t+"/") {
				n++
			}
		}
		return n
	case TypeCondition:
		return len(rec.Conditions)
	case TypeProcedure:
		return len(rec.Procedures)
	case TypeObservation:
		return len(rec.Observations)
	case TypeAllergy:
		return len(rec.Allergies)
	}
	return 0
}
