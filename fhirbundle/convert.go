package fhirbundle

import (
	"strconv"
	"strings"
	"sync"
	"time"

	apb "github.com/google/fhir/go/proto/google/fhir/proto/annotations_go_proto"
	dpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/datatypes_go_proto"
	alpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/allergy_intolerance_go_proto"
	cpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/condition_go_proto"
	mapb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/medication_administration_go_proto"
	mdpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/medication_dispense_go_proto"
	mrpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/medication_request_go_proto"
	mspb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/medication_statement_go_proto"
	obspb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/observation_go_proto"
	patpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/patient_go_proto"
	prpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/procedure_go_proto"
	"github.com/trialscreen/trialscreen/screening"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

func convertPatient(p *patpb.Patient, ref, id string) *screening.Patient {
	out := &screening.Patient{
		Ref:       ref,
		ID:        id,
		BirthDate: whenDate(p.GetBirthDate()),
		Gender:    enumCode(p.GetGender().GetValue()),
		Name:      personName(p.GetName()),
	}
	switch d := p.GetDeceased(); {
	case d.GetBoolean() != nil:
		out.Deceased = d.GetBoolean().GetValue()
	case d.GetDateTime() != nil:
		out.Deceased, out.DeceasedAt = true, whenDateTime(d.GetDateTime())
	}
	return out
}

func convertObservation(o *obspb.Observation, ref string) screening.Observation {
	out := screening.Observation{
		Ref:      ref,
		Status:   enumCode(o.GetStatus().GetValue()),
		Code:     codings(o.GetCode()),
		CodeText: o.GetCode().GetText().GetValue(),
		// The record's own words, shown beside the codes in evidence.
		CodeDisplay: conceptWords(o.GetCode()),
	}
	switch e := o.GetEffective(); {
	case e.GetDateTime() != nil:
		out.Effective = whenDateTime(e.GetDateTime())
	case e.GetInstant() != nil:
		out.Effective = whenInstant(e.GetInstant())
	case e.GetPeriod() != nil:
		out.Effective = whenPeriod(e.GetPeriod())
	}
	switch v := o.GetValue(); {
	case v.GetQuantity() != nil:
		out.Value, out.ValueText = quantity(v.GetQuantity())
		out.ValueBound = bound(v.GetQuantity())
	case v.GetInteger() != nil:
		out.Value = &screening.Quantity{Value: float64(v.GetInteger().GetValue())}
	case v.GetCodeableConcept() != nil:
		out.ValueCode = codings(v.GetCodeableConcept())
		out.ValueDisplay = conceptWords(v.GetCodeableConcept())
		if len(out.ValueCode) == 0 {
			out.ValueText = v.GetCodeableConcept().GetText().GetValue()
		} else {
			out.ValueCodeText = v.GetCodeableConcept().GetText().GetValue()
		}
	case v.GetStringValue() != nil:
		out.ValueText = v.GetStringValue().GetValue()
	}
	for _, cc := range o.GetInterpretation() {
		cs := codings(cc)
		if len(cs) == 0 && cc.GetText().GetValue() != "" {
			out.InterpretationText = append(out.InterpretationText, cc.GetText().GetValue())
		}
		out.Interpretation = append(out.Interpretation, cs...)
	}
	out.RefRanges = refRanges(o.GetReferenceRange())
	for _, rr := range o.GetReferenceRange() {
		if rr.GetHigh() == nil && rr.GetText().GetValue() != "" {
			out.RefRangeText = append(out.RefRangeText, rr.GetText().GetValue())
		}
	}
	for _, c := range o.GetComponent() {
		comp := screening.Component{Code: codings(c.GetCode()), RefRanges: refRanges(c.GetReferenceRange())}
		switch v := c.GetValue(); {
		case v.GetQuantity() != nil:
			comp.Value, _ = quantity(v.GetQuantity())
			comp.ValueBound = bound(v.GetQuantity())
		case v.GetInteger() != nil:
			comp.Value = &screening.Quantity{Value: float64(v.GetInteger().GetValue())}
		case v.GetCodeableConcept() != nil:
			comp.ValueCode = codings(v.GetCodeableConcept())
			if len(comp.ValueCode) == 0 {
				comp.ValueText = v.GetCodeableConcept().GetText().GetValue()
			}
		case v.GetStringValue() != nil:
			comp.ValueText = v.GetStringValue().GetValue()
		}
		for _, cc := range c.GetInterpretation() {
			comp.Interpretation = append(comp.Interpretation, codings(cc)...)
		}
		out.Components = append(out.Components, comp)
	}
	return out
}

// refRanges reads the reference ranges that have a high: the upper limits of normal.
func refRanges(rrs []*obspb.Observation_ReferenceRange) []screening.RefRange {
	var out []screening.RefRange
	for _, rr := range rrs {
		if rr.GetHigh() == nil {
			continue
		}
		high := simpleQuantity(rr.GetHigh())
		if high == nil {
			continue
		}
		r := screening.RefRange{High: *high, Type: codings(rr.GetType()),
			AgeLow: simpleQuantity(rr.GetAge().GetLow()), AgeHigh: simpleQuantity(rr.GetAge().GetHigh())}
		r.TypeText = rr.GetType() != nil && len(r.Type) == 0
		for _, at := range rr.GetAppliesTo() {
			r.AppliesTo = append(r.AppliesTo, codings(at)) // none when text only: unreadable
		}
		out = append(out, r)
	}
	return out
}

func convertCondition(c *cpb.Condition, ref string) screening.Condition {
	out := screening.Condition{
		Ref:          ref,
		Code:         codings(c.GetCode()),
		Text:         c.GetCode().GetText().GetValue(),
		Display:      conceptWords(c.GetCode()),
		Clinical:     statusCode(c.GetClinicalStatus(), "http://terminology.hl7.org/CodeSystem/condition-clinical"),
		Verification: statusCode(c.GetVerificationStatus(), "http://terminology.hl7.org/CodeSystem/condition-ver-status"),
		Recorded:     whenDateTime(c.GetRecordedDate()),
	}
	switch o := c.GetOnset(); {
	case o.GetDateTime() != nil:
		out.Onset = whenDateTime(o.GetDateTime())
	case o.GetPeriod() != nil:
		out.Onset = whenDateTime(o.GetPeriod().GetStart())
	}
	if a := c.GetAbatement(); a.GetChoice() != nil {
		out.Abated = true
		switch {
		case a.GetDateTime() != nil:
			out.Abatement = whenDateTime(a.GetDateTime())
		case a.GetPeriod() != nil:
			out.Abatement = whenPeriod(a.GetPeriod())
		}
	}
	return out
}

func convertProcedure(p *prpb.Procedure, ref string) screening.Procedure {
	out := screening.Procedure{Ref: ref, Code: codings(p.GetCode()), Status: enumCode(p.GetStatus().GetValue()), Text: p.GetCode().GetText().GetValue(),
		Display: conceptWords(p.GetCode())}
	switch pf := p.GetPerformed(); {
	case pf.GetDateTime() != nil:
		out.Performed = whenDateTime(pf.GetDateTime())
	case pf.GetPeriod() != nil:
		out.Performed = whenPeriod(pf.GetPeriod())
		out.EndUnknown = !whenDateTime(pf.GetPeriod().GetEnd()).Known() && out.Performed.Known()
		out.PerformedStart = whenDateTime(pf.GetPeriod().GetStart())
		out.StartUnknown = !out.PerformedStart.Known() && out.Performed.Known()
	}
	return out
}

// The medication converters take the drug's codes from the caller when the resource
// names it by reference; cc is the resource's own medicationCodeableConcept otherwise.
func medCodes(cc *dpb.CodeableConcept, resolved []screening.Coding) []screening.Coding {
	if cc != nil {
		return codings(cc)
	}
	return resolved
}

func convertMedRequest(m *mrpb.MedicationRequest, ref string, resolved []screening.Coding) screening.MedicationUse {
	return screening.MedicationUse{
		Ref:     ref,
		Code:    medCodes(m.GetMedication().GetCodeableConcept(), resolved),
		Status:  enumCode(m.GetStatus().GetValue()),
		Display: conceptWords(m.GetMedication().GetCodeableConcept()),
		// authoredOn is when it was ordered. validityPeriod is when the prescription may be
		// filled, not the therapy; the dosing schedule's bounds (Epic sends
		// dosageInstruction.timing.repeat.boundsPeriod) say when it was to end.
		Start:   whenDateTime(m.GetAuthoredOn()),
		End:     dosingEnd(m),
		Planned: plannedIntent[enumCode(m.GetIntent().GetValue())],
	}
}

// plannedIntent are the MedicationRequest intents that propose or plan a drug rather than
// order it.
var plannedIntent = map[string]bool{"proposal": true, "plan": true}

// dosingEnd is the latest end of the order's dosing schedules (boundsPeriod.end); unknown
// when any schedule gives none, since that one may go on.
func dosingEnd(m *mrpb.MedicationRequest) screening.When {
	var end screening.When
	for _, d := range m.GetDosageInstruction() {
		e := whenDateTime(d.GetTiming().GetRepeat().GetBounds().GetPeriod().GetEnd())
		if !e.Known() {
			return screening.When{}
		}
		if !end.Known() || e.Latest().After(end.Latest()) {
			end = e
		}
	}
	return end
}

func convertMedStatement(m *mspb.MedicationStatement, ref string, resolved []screening.Coding) screening.MedicationUse {
	out := screening.MedicationUse{
		Ref:     ref,
		Code:    medCodes(m.GetMedication().GetCodeableConcept(), resolved),
		Status:  enumCode(m.GetStatus().GetValue()),
		Display: conceptWords(m.GetMedication().GetCodeableConcept()),
	}
	out.Start, out.End = exposure(m.GetEffective().GetDateTime(), m.GetEffective().GetPeriod())
	return out
}

func convertMedAdministration(m *mapb.MedicationAdministration, ref string, resolved []screening.Coding) screening.MedicationUse {
	out := screening.MedicationUse{
		Ref:     ref,
		Code:    medCodes(m.GetMedication().GetCodeableConcept(), resolved),
		Status:  enumCode(m.GetStatus().GetValue()),
		Display: conceptWords(m.GetMedication().GetCodeableConcept()),
	}
	out.Start, out.End = exposure(m.GetEffective().GetDateTime(), m.GetEffective().GetPeriod())
	return out
}

// convertMedDispense reads a dispense as an exposure from when the drug was handed over
// for its days of supply: when the patient last had it in hand. Without a days supply the
// end is not recorded (a person judges how long it lasted).
func convertMedDispense(m *mdpb.MedicationDispense, ref string, resolved []screening.Coding) screening.MedicationUse {
	out := screening.MedicationUse{
		Ref:     ref,
		Code:    medCodes(m.GetMedication().GetCodeableConcept(), resolved),
		Status:  enumCode(m.GetStatus().GetValue()),
		Display: conceptWords(m.GetMedication().GetCodeableConcept()),
		Start:   whenDateTime(m.GetWhenHandedOver()),
	}
	if days := simpleQuantity(m.GetDaysSupply()); days != nil && out.Start.Known() && days.Value >= 0 && days.Value < 3660 &&
		(days.Code == "d" || days.Code == "" || strings.EqualFold(days.Unit, "day") || strings.EqualFold(days.Unit, "days")) {
		out.End = screening.When{Time: out.Start.Latest().Add(time.Duration(days.Value * float64(24*time.Hour))), Precision: screening.PrecisionTime}
	}
	return out
}

// exposure reads effective[x] of a medication statement or administration: a dateTime is
// a single moment (start = end); a period gives both ends, either of which may be unknown.
func exposure(at *dpb.DateTime, period *dpb.Period) (start, end screening.When) {
	if at != nil {
		w := whenDateTime(at)
		return w, w
	}
	return whenDateTime(period.GetStart()), whenDateTime(period.GetEnd())
}

func convertAllergy(a *alpb.AllergyIntolerance, ref string) screening.Allergy {
	out := screening.Allergy{
		Ref:          ref,
		Code:         codings(a.GetCode()),
		Text:         a.GetCode().GetText().GetValue(),
		Display:      conceptWords(a.GetCode()),
		Clinical:     statusCode(a.GetClinicalStatus(), "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"),
		Verification: statusCode(a.GetVerificationStatus(), "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"),
		Criticality:  enumCode(a.GetCriticality().GetValue()),
	}
	for _, c := range a.GetCategory() {
		out.Category = append(out.Category, enumCode(c.GetValue()))
	}
	// The substance a reaction names is the culprit: it is matched like the code.
	for _, r := range a.GetReaction() {
		out.Code = append(out.Code, codings(r.GetSubstance())...)
	}
	return out
}

func codings(cc *dpb.CodeableConcept) []screening.Coding {
	if len(cc.GetCoding()) == 0 {
		return nil
	}
	out := make([]screening.Coding, 0, len(cc.GetCoding()))
	for _, c := range cc.GetCoding() {
		out = append(out, screening.Coding{System: c.GetSystem().GetValue(), Code: c.GetCode().GetValue()})
	}
	return out
}

// statusCode is a clinical or verification status: the code of the FHIR code system
// the element is bound to, when a coding has it (a local coding may come first), else
// the first code, which screening then finds unknown and treats with caution.
func statusCode(cc *dpb.CodeableConcept, system string) string {
	for _, c := range cc.GetCoding() {
		if c.GetSystem().GetValue() == system {
			return c.GetCode().GetValue()
		}
	}
	return firstCode(cc)
}

func firstCode(cc *dpb.CodeableConcept) string {
	if len(cc.GetCoding()) == 0 {
		return ""
	}
	return cc.GetCoding()[0].GetCode().GetValue()
}

// quantity maps a Quantity. One with a comparator ("<5") is not a number the criteria may
// compare: it is returned as text (criteria that read plain values send it to review),
// and as a Bound (see bound) for those that can decide on one.
func quantity(q *dpb.Quantity) (*screening.Quantity, string) {
	v, err := strconv.ParseFloat(q.GetValue().GetValue(), 64)
	if err != nil {
		return nil, ""
	}
	if cmp := enumCode(q.GetComparator().GetValue()); cmp != "" {
		unit := q.GetUnit().GetValue()
		if unit == "" {
			unit = q.GetCode().GetValue()
		}
		return nil, strings.TrimSpace(cmp + q.GetValue().GetValue() + " " + unit)
	}
	return &screening.Quantity{Value: v, Code: q.GetCode().GetValue(), System: q.GetSystem().GetValue(), Unit: q.GetUnit().GetValue()}, ""
}

// bound is a Quantity with a comparator as a Bound (the measurement criteria can still
// decide on it when the whole bound lies on one side of their threshold), else nil.
func bound(q *dpb.Quantity) *screening.Bound {
	cmp := enumCode(q.GetComparator().GetValue())
	v, err := strconv.ParseFloat(q.GetValue().GetValue(), 64)
	if cmp == "" || err != nil {
		return nil
	}
	return &screening.Bound{Comparator: cmp,
		Limit: screening.Quantity{Value: v, Code: q.GetCode().GetValue(), System: q.GetSystem().GetValue(), Unit: q.GetUnit().GetValue()}}
}

func simpleQuantity(q *dpb.SimpleQuantity) *screening.Quantity {
	if q == nil {
		return nil
	}
	v, err := strconv.ParseFloat(q.GetValue().GetValue(), 64)
	if err != nil {
		return nil
	}
	return &screening.Quantity{Value: v, Code: q.GetCode().GetValue(), System: q.GetSystem().GetValue(), Unit: q.GetUnit().GetValue()}
}

type enumKey struct {
	enum protoreflect.FullName
	num  protoreflect.EnumNumber
}

var enumCodes sync.Map // enumKey -> string

// enumCode turns a proto code enum back into its FHIR code: the annotated original code
// when the proto name cannot carry it (e.g. "<" for LESS_THAN), else the name lower-cased
// with "_" as "-" (ENTERED_IN_ERROR -> entered-in-error). Unset gives "".
func enumCode(e protoreflect.Enum) string {
	if e == nil || e.Number() == 0 {
		return ""
	}
	k := enumKey{e.Descriptor().FullName(), e.Number()}
	if s, ok := enumCodes.Load(k); ok {
		return s.(string)
	}
	s := ""
	if v := e.Descriptor().Values().ByNumber(e.Number()); v != nil {
		s = strings.ToLower(strings.ReplaceAll(string(v.Name()), "_", "-"))
		if orig, ok := proto.GetExtension(v.Options(), apb.E_FhirOriginalCode).(string); ok && orig != "" {
			s = orig
		}
	}
	enumCodes.Store(k, s)
	return s
}
