package screening

import (
	"fmt"
	"time"
)

// oxygenMargin is how close to an SpO2 reading a sign of supplemental oxygen (a separate
// inhaled-oxygen result, an oxygen therapy procedure) must be to count as "at the same
// time". Recording times of one bedside round differ by minutes, and a sign of oxygen
// can only stop a pass, so it is read generously. A sign of room air must share the
// reading's time exactly.
const oxygenMargin = time.Hour

// discarded statuses: a record with one of them says nothing about the patient.
var discarded = map[string]bool{"entered-in-error": true, "cancelled": true}

// checkRoomAir keeps a passing SpO2 only when the reading is shown to be on room air.
// A failing reading fails whatever the air: supplemental oxygen only raises SpO2.
// Every sign is read, even when the code says "on room air": one showing supplemental
// oxygen outweighs any sign of room air, and one that cannot be read outweighs a
// room-air one.
func (m *measurement) checkRoomAir(ec *evalCtx, o *Observation, j *judged) {
	roomAir, unitErr := m.roomAir.matches(o.Code), ""
	var unread *Evidence // the first inhaled-oxygen result whose value cannot be read
	var unreadWhat string
	cannotRead := func(what string, ev Evidence) {
		if unread == nil {
			unread, unreadWhat = &ev, what
		}
	}
	oxygen := func(what string, ev Evidence) {
		j.evidence = append(j.evidence, ev)
		j.outcome, j.reason = Unknown, ReasonNotRoomAir
		j.summary += "; taken on supplemental oxygen (" + what + ")"
	}
	if m.devices.matches(o.ValueCode) {
		oxygen("the reading's value names an oxygen device", Evidence{Resource: o.Ref, Role: "oxygen-device"})
		return
	}

	// Inhaled-oxygen components of the reading itself.
	for _, c := range o.Components {
		if m.devices.matches(c.ValueCode) {
			oxygen("a component names an oxygen device", Evidence{Resource: o.Ref, Role: "oxygen-device", ValueCode: c.ValueCode[0].Key()})
			return
		}
		for _, rule := range []*componentRule{m.flow, m.fio2} {
			if rule == nil || !rule.codes.matches(c.Code) {
				continue
			}
			if c.Value == nil {
				// No value, or one given as a bound ("<5"), which a component cannot keep.
				cannotRead("a component has no numeric value", Evidence{Resource: o.Ref, Role: "inhaled-oxygen", Note: "inhaled-oxygen component without a numeric value"})
				continue
			}
			v, err := rule.units.convert(c.Value)
			if err != nil {
				if unitErr == "" {
					unitErr = err.Error()
				}
				continue
			}
			ev := Evidence{Resource: o.Ref, Role: "inhaled-oxygen", Value: ptr(v), Unit: rule.units.canonical}
			if v > rule.roomAir {
				oxygen(num(v)+" "+rule.units.canonical, ev)
				return
			}
			j.evidence = append(j.evidence, ev)
			roomAir = true
		}
	}

	// Inhaled-oxygen results recorded as observations of their own at the same time.
	for _, rule := range []*componentRule{m.flow, m.fio2} {
		if rule == nil {
			continue
		}
		var found *Evidence
		var foundWhat string
		ec.eachObservation(rule.codes, func(s *Observation) {
			if found != nil || s == o || discarded[s.Status] {
				return
			}
			// A result with no date cannot be placed away from the reading: a sign of
			// oxygen in it (or one that cannot be read) may have been at the reading, as
			// an undated oxygen therapy may (covers). A room-air value in it is no sign of
			// room air, since it may have been at any other time.
			undated := !s.Effective.Known()
			if !undated && !ec.near(s.Effective, o.Effective, oxygenMargin) {
				return
			}
			ev := obsEvidence(s, rule.codes)
			ev.Role = "inhaled-oxygen"
			when := ""
			if undated {
				when = ", with no date, so it may have been at the time of the reading"
				ev.Note = addNote(ev.Note, "no effective date: it cannot be placed away from the reading")
			}
			if m.devices.matches(s.ValueCode) {
				found, foundWhat = &ev, fmt.Sprintf("%s names an oxygen device%s", s.Ref, when)
				return
			}
			if s.Value == nil {
				// Text, a bound or nothing: how much oxygen cannot be read.
				what := "no value"
				switch {
				case s.ValueBound != nil:
					what = "only a bound " + s.ValueBound.Comparator + num(s.ValueBound.Limit.Value) + " " + orNone(s.ValueBound.Limit.Code)
				case s.ValueText != "":
					what = fmt.Sprintf("text %q", s.ValueText)
				case len(s.ValueCode) > 0:
					what = "a coded value " + s.ValueCode[0].Key()
				}
				ev.Note = addNote(ev.Note, "inhaled oxygen given as "+what+": it cannot be read")
				cannotRead(fmt.Sprintf("%s gives %s%s", s.Ref, what, when), ev)
				return
			}
			v, err := rule.units.convert(s.Value)
			if err != nil && undated {
				// Neither its time nor its amount can be read: it may be oxygen at the reading.
				ev.Note = addNote(ev.Note, fmt.Sprintf("its value cannot be read (%v)", err))
				cannotRead(fmt.Sprintf("%s: %v%s", s.Ref, err, when), ev)
				return
			}
			if err != nil {
				if unitErr == "" {
					unitErr = fmt.Sprintf("%s: %v", s.Ref, err)
				}
				return
			}
			ev.Value, ev.Unit = ptr(v), rule.units.canonical
			if v > rule.roomAir {
				on := " on " + s.Effective.String()
				if undated {
					on = when
				}
				found, foundWhat = &ev, fmt.Sprintf("%s %s %s%s", s.Ref, num(v), rule.units.canonical, on)
				return
			}
			if ec.statuses.observation[s.Status] && sameInstant(s.Effective, o.Effective) {
				j.evidence = append(j.evidence, ev)
				roomAir = true
			}
		})
		if found != nil {
			oxygen(foundWhat, *found)
			return
		}
	}

	// Oxygen therapy, or an oxygen device, recorded as a procedure covering the reading.
	for i := range ec.rec.Procedures {
		pr := &ec.rec.Procedures[i]
		c, set, ok := m.therapy.match(pr.Code)
		if !ok {
			c, set, ok = m.devices.match(pr.Code)
		}
		if !ok || notDone[pr.Status] || !ec.covers(pr, o.Effective) {
			continue
		}
		ev := Evidence{Resource: pr.Ref, Role: "oxygen-therapy", Code: c.Key(), Codeset: set, Date: pr.Performed.String(), Status: pr.Status, Display: pr.Display}
		when := "at the time of the reading"
		if !pr.Performed.Known() && !pr.PerformedStart.Known() {
			when = "with no date, so it may have been at the time of the reading"
			ev.Note = "no performed date: it cannot be placed away from the reading"
		}
		oxygen(fmt.Sprintf("%s %s, %s, %s", pr.Ref, c, pr.Status, when), ev)
		return
	}

	switch {
	case unread != nil:
		// A sign of oxygen that cannot be read outweighs any sign of room air.
		j.evidence = append(j.evidence, *unread)
		j.outcome, j.reason = Unknown, ReasonNotRoomAir
		j.summary += "; inhaled oxygen at the time of the reading cannot be read (" + unreadWhat + ")"
		return
	case unitErr != "":
		j.outcome, j.reason = Unknown, ReasonUnit
		j.summary += "; inhaled oxygen: " + unitErr
		return
	case roomAir:
		j.summary += "; on room air"
		return
	}
	j.outcome, j.reason = Unknown, ReasonNotRoomAir
	j.summary += "; nothing shows the reading was on room air"
}

// sameInstant reports whether two records are known to be at the same instant: both
// carry a time, and it is equal. A date alone spans a whole day, so a room-air result
// dated only to the day may have been taken hours from the reading.
func sameInstant(a, b When) bool {
	return a.Precision == PrecisionTime && b.Precision == PrecisionTime && a.Time.Equal(b.Time)
}

// near reports whether two dated records may be within margin of each other. A record
// with no date is near nothing.
func (ec *evalCtx) near(a, b When, margin time.Duration) bool {
	if !a.Known() || !b.Known() {
		return false
	}
	aFrom, aTo := ec.span(a)
	bFrom, bTo := ec.span(b)
	return !aFrom.Add(-margin).After(bTo) && !bFrom.Add(-margin).After(aTo)
}

// covers reports whether a procedure may have been going on at the time of a reading:
// one in progress, or whose end is not recorded, runs on from its start; one whose start
// is not recorded ran for an unknown time up to its end; one with no date at all may have
// been at any time.
func (ec *evalCtx) covers(pr *Procedure, at When) bool {
	if !at.Known() {
		return false
	}
	if !pr.Performed.Known() && !pr.PerformedStart.Known() {
		return true
	}
	atFrom, atTo := ec.span(at)
	if !pr.StartUnknown {
		from := pr.PerformedStart
		if !from.Known() {
			from = pr.Performed
		}
		start, _ := ec.span(from)
		if start.Add(-oxygenMargin).After(atTo) {
			return false
		}
	}
	if pr.EndUnknown || pr.Status == "in-progress" {
		return true
	}
	_, end := ec.span(pr.Performed)
	return !end.Add(oxygenMargin).Before(atFrom)
}
