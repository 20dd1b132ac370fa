package screening

import (
	"errors"
	"fmt"
)

// measurementParams checks the most recent numeric (or scored) result against a
// threshold, optionally a multiple of the upper limit of normal.
type measurementParams struct {
	Label        string       `yaml:"label"`
	Codes        []string     `yaml:"codes"`
	WindowDays   int          `yaml:"window_days"`
	Units        string       `yaml:"units"`
	Comparator   string       `yaml:"comparator"`
	Threshold    float64      `yaml:"threshold"`
	ULN          *ulnSpec     `yaml:"uln"`
	Answers      []answerSpec `yaml:"answers"`
	MethodReview []string     `yaml:"method_review"`
	RoomAir      *roomAirSpec `yaml:"room_air"`
}

// ulnSpec makes the threshold a multiple of the result's own reference range high, or of
// the default when the result has none (the evidence says so).
type ulnSpec struct {
	Multiple float64 `yaml:"multiple"`
	Default  float64 `yaml:"default"`
}

// answerSpec scores a coded answer (e.g. ECOG LA9623-5 = 1).
type answerSpec struct {
	System  string  `yaml:"system"`
	Code    string  `yaml:"code"`
	Display string  `yaml:"display"`
	Value   float64 `yaml:"value"`
}

// roomAirSpec says how a reading shows it was taken on room air.
type roomAirSpec struct {
	Codes []string       `yaml:"codes"` // result codes that themselves mean "on room air"
	Flow  *componentSpec `yaml:"flow"`  // inhaled O2 flow: 0 means room air
	FiO2  *componentSpec `yaml:"fio2"`  // inhaled O2 concentration: room_air value means room air
	// Oxygen given at the time of the reading means it was not on room air, whatever the
	// reading's code says: oxygen therapy procedures, and oxygen devices (as a procedure
	// code or as a coded value of the reading, a component or an inhaled-oxygen result).
	Therapy []string `yaml:"therapy"`
	Devices []string `yaml:"devices"`
}

type componentSpec struct {
	Codes   []string `yaml:"codes"`
	Units   string   `yaml:"units"`
	RoomAir float64  `yaml:"room_air"`
}

type measurement struct {
	p       measurementParams
	codes   *codeMatcher
	units   *unitGroup
	answers map[Coding]float64
	method  *codeMatcher
	roomAir *codeMatcher
	flow    *componentRule
	fio2    *componentRule
	therapy *codeMatcher // oxygen therapy procedures
	devices *codeMatcher // oxygen delivery devices
}

type componentRule struct {
	codes   *codeMatcher
	units   *unitGroup
	roomAir float64
}

func compileMeasurement(cc *compileCtx) evaluator {
	var p measurementParams
	if !cc.params(&p) {
		return nil
	}
	m := &measurement{p: p, answers: map[Coding]float64{}}
	m.codes = cc.codes("codes", p.Codes, true)
	m.units = cc.units("units", p.Units)
	cc.window("window_days", p.WindowDays, true)
	cc.comparator("comparator", p.Comparator)
	if p.Label == "" {
		cc.errorf("label", "a short label for summaries is required")
	}
	if p.ULN != nil {
		if p.Comparator != "<=" {
			cc.errorf("comparator", "with uln the rule is value <= multiple x ULN, so the comparator must be <=")
		}
		if p.ULN.Multiple <= 0 || p.ULN.Default <= 0 {
			cc.errorf("uln", "multiple and default must both be above 0")
		}
		if p.Threshold != 0 {
			cc.errorf("threshold", "give threshold or uln, not both")
		}
	}
	for i, a := range p.Answers {
		sys, ok := cc.st.systems[a.System]
		if !ok || a.Code == "" {
			cc.errorf(fmt.Sprintf("answers[%d]", i), "needs a known system and a code")
			continue
		}
		m.answers[Coding{System: sys, Code: a.Code}] = a.Value
	}
	m.method = cc.codes("method_review", p.MethodReview, false)
	if ra := p.RoomAir; ra != nil {
		m.roomAir = cc.codes("room_air.codes", ra.Codes, false)
		if ra.Flow != nil {
			m.flow = &componentRule{cc.codes("room_air.flow.codes", ra.Flow.Codes, true), cc.units("room_air.flow.units", ra.Flow.Units), ra.Flow.RoomAir}
		}
		if ra.FiO2 != nil {
			m.fio2 = &componentRule{cc.codes("room_air.fio2.codes", ra.FiO2.Codes, true), cc.units("room_air.fio2.units", ra.FiO2.Units), ra.FiO2.RoomAir}
		}
		// Inhaled-oxygen results recorded as observations of their own are read too.
		for _, rule := range []*componentRule{m.flow, m.fio2} {
			if rule != nil {
				cc.need(TypeObservation, rule.codes)
			}
		}
		m.therapy = cc.codes("room_air.therapy", ra.Therapy, false)
		m.devices = cc.codes("room_air.devices", ra.Devices, false)
		for _, pm := range []*codeMatcher{m.therapy, m.devices} {
			if !pm.empty() {
				cc.need(TypeProcedure, pm)
			}
		}
	}
	cc.need(TypeObservation, m.codes)
	limit := fmt.Sprintf("%s %s %s", p.Comparator, num(p.Threshold), m.units.canonical)
	if p.ULN != nil {
		limit = fmt.Sprintf("<= %s x ULN (reference range high; default %s %s)", num(p.ULN.Multiple), num(p.ULN.Default), m.units.canonical)
	}
	cc.threshold = &Threshold{Label: p.Label, Comparator: p.Comparator, Value: p.Threshold, Unit: m.units.canonical, WindowDays: p.WindowDays}
	if p.ULN != nil {
		cc.threshold.ULNMultiple, cc.threshold.ULNDefault = p.ULN.Multiple, p.ULN.Default
	}
	cc.rule = fmt.Sprintf("%s %s; most recent qualifying result within %d days", p.Label, limit, p.WindowDays)
	if p.RoomAir != nil {
		cc.rule += "; on room air"
	}
	return m.evaluate
}

func (m *measurement) evaluate(ec *evalCtx) Result {
	sel := ec.selectLatest(m.codes, m.p.WindowDays)
	if len(sel.latest) == 0 {
		return sel.missing(m.p.Label, m.p.WindowDays, m.codes)
	}
	js := make([]judged, len(sel.latest))
	for i, o := range sel.latest {
		js[i] = m.judge(ec, o)
	}
	late := ec.laterImprecise(sel, func(o *Observation) judged { return m.judge(ec, o) })
	return weighImprecise(combineSameInstant(js), m.p.WindowDays, late)
}

// judge decides one result.
func (m *measurement) judge(ec *evalCtx, o *Observation) judged {
	ev := obsEvidence(o, m.codes)
	j := judged{evidence: []Evidence{ev}}
	value, bound := 0.0, ""
	switch {
	case o.Value != nil:
		v, err := m.units.convert(o.Value)
		if err != nil {
			j.outcome, j.reason = Unknown, ReasonUnit
			j.summary = fmt.Sprintf("%s on %s: %v", m.p.Label, o.Effective, err)
			return j
		}
		value = v
	case o.ValueBound != nil:
		// "<0.5": decided when every value the bound allows falls on one side.
		v, err := m.units.convert(&o.ValueBound.Limit)
		if err != nil {
			j.outcome, j.reason = Unknown, ReasonUnit
			j.summary = fmt.Sprintf("%s on %s: %v", m.p.Label, o.Effective, err)
			return j
		}
		value, bound = v, o.ValueBound.Comparator
	case len(o.ValueCode) > 0:
		ok := false
		for _, c := range o.ValueCode {
			if v, found := m.answers[c.Bare()]; found {
				value, ok = v, true
				break
			}
		}
		if !ok {
			j.outcome, j.reason = Review, ReasonFreeText
			j.summary = fmt.Sprintf("%s on %s is a coded value that does not map to a number (%s)", m.p.Label, o.Effective, o.ValueCode[0])
			return j
		}
	case o.ValueText != "":
		j.outcome, j.reason = Review, ReasonFreeText
		j.summary = fmt.Sprintf("%s on %s is free text: %q", m.p.Label, o.Effective, o.ValueText)
		return j
	default:
		j.outcome, j.reason = Unknown, ReasonNoData
		j.summary = fmt.Sprintf("%s on %s has no value", m.p.Label, o.Effective)
		return j
	}
	j.evidence[0].Value, j.evidence[0].Unit = ptr(value), m.units.canonical
	shown := num(value)
	if bound != "" {
		shown = bound + " " + shown
		j.evidence[0].Note = "the result gives only a bound: " + shown + " " + m.units.canonical
	}

	// The limits to hold the value against: the threshold, or one per ULN that may apply.
	type limit struct {
		value float64
		text  string
	}
	limits := []limit{{value: m.p.Threshold}}
	op := m.p.Comparator
	if m.p.ULN != nil {
		ulns, err := m.ulns(ec, o)
		var textRange errRangeText
		if errors.As(err, &textRange) {
			j.outcome, j.reason = Review, ReasonFreeText
			j.summary = fmt.Sprintf("%s on %s: %v", m.p.Label, o.Effective, err)
			return j
		}
		if err != nil {
			j.outcome, j.reason = Unknown, ReasonUnit
			j.summary = fmt.Sprintf("%s on %s: %v", m.p.Label, o.Effective, err)
			return j
		}
		limits, op = nil, "<="
		for _, u := range ulns {
			// Rounded like converted values, so that exactly 1.5 x 1.2 mg/dL (1.8) is at the limit.
			l := roundSig(m.p.ULN.Multiple * u.value)
			limits = append(limits, limit{value: l, text: fmt.Sprintf(" (%s x ULN %s = %s)", num(m.p.ULN.Multiple), num(u.value), num(l))})
			j.evidence = append(j.evidence, Evidence{Role: "uln", Value: ptr(u.value), Unit: m.units.canonical, Note: u.note})
		}
	}
	results := make([]meets, len(limits))
	for i, l := range limits {
		results[i] = meetsLimit(value, bound, op, l.value)
	}
	first := results[0]
	for i, r := range results {
		if r == first {
			continue
		}
		j.outcome, j.reason = Unknown, ReasonConflict
		j.summary = fmt.Sprintf("%s %s %s on %s: the result's reference ranges that may apply to this patient lead to different outcomes (limits %s and %s)",
			m.p.Label, shown, m.units.canonical, o.Effective, num(limits[0].value), num(limits[i].value))
		return j
	}
	l := limits[0]
	switch first {
	case meetsAll:
		j.outcome, j.reason = Pass, ReasonMet
		j.summary = m.p.Label + " " + shown + " " + m.units.canonical + " on " + o.Effective.String() + " meets " + op + " " + num(l.value) + l.text
	case meetsNone:
		j.outcome, j.reason = Fail, ReasonNotMet
		j.summary = m.p.Label + " " + shown + " " + m.units.canonical + " on " + o.Effective.String() + " does not meet " + op + " " + num(l.value) + l.text
	default:
		j.outcome, j.reason = Unknown, ReasonInconclusive
		j.summary = fmt.Sprintf("%s %s %s on %s may or may not meet %s %s%s: the result gives only a bound", m.p.Label, shown, m.units.canonical, o.Effective, op, num(l.value), l.text)
		return j
	}
	if len(limits) > 1 {
		j.summary += "; the same with every reference range that may apply to this patient"
	}
	if !m.method.empty() && m.method.matches(o.Code) {
		j.outcome, j.reason = Review, ReasonMethod
		j.summary += "; the result's code does not confirm the required method"
		return j
	}
	if j.outcome == Pass && m.p.RoomAir != nil {
		m.checkRoomAir(ec, o, &j)
	}
	return j
}
