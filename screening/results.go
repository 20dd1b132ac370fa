package screening

import (
	"strconv"
	"strings"

	"github.com/trialscreen/trialscreen/terminology"
)

// Results inside other results. Labs report a CBC or a metabolic panel as one
// Observation whose values sit in its components (or in contained members, which the
// readers turn into Observations of their own). A value in a component is a result like
// any other: the newest one must decide, wherever it sits.

// liftResults adds each component of a panel that carries a value as an Observation of
// its own ("Observation/cbc#component[2]"), with the panel's status and time. Components
// of a result the protocol reads itself and that has a value of its own (an SpO2 reading
// with its oxygen flow, say) stay where they are: that result's criterion reads them in
// place. The input is returned as it is when there is nothing to lift.
func (p *Protocol) liftResults(obs []Observation) []Observation {
	out := obs
	for i := range obs {
		o := &obs[i]
		if len(o.Components) == 0 {
			continue
		}
		own, _ := p.placeCodes(TypeObservation, o.Code)
		if p.masks.of(own) != (codesetMask{}) && hasValue(o) {
			continue // a result read itself, its components read in place (SpO2 and its oxygen)
		}
		for j, c := range o.Components {
			if c.Value == nil && c.ValueBound == nil && len(c.ValueCode) == 0 && c.ValueText == "" {
				continue
			}
			if len(out) == len(obs) {
				out = append(make([]Observation, 0, len(obs)+len(o.Components)), obs...)
			}
			out = append(out, Observation{
				Ref:            o.Ref + "#component[" + strconv.Itoa(j) + "]",
				Status:         o.Status,
				Code:           c.Code,
				Effective:      o.Effective,
				Value:          c.Value,
				ValueBound:     c.ValueBound,
				ValueCode:      c.ValueCode,
				ValueText:      c.ValueText,
				Interpretation: c.Interpretation,
				RefRanges:      c.RefRanges,
			})
		}
	}
	return out
}

func hasValue(o *Observation) bool {
	return o.Value != nil || o.ValueBound != nil || len(o.ValueCode) > 0 || o.ValueText != ""
}

// standardWords are the words a qualitative result may be written in, and the coded
// answer each means: a closed list, compared without case or surrounding space. Any
// other text stays text, for a person to read.
var standardWords = map[string]Coding{
	"positive":     {System: SystemSNOMED, Code: "10828004"},
	"pos":          {System: SystemSNOMED, Code: "10828004"},
	"reactive":     {System: SystemSNOMED, Code: "10828004"},
	"detected":     {System: terminology.V3Interpretation, Code: "DET"},
	"negative":     {System: SystemSNOMED, Code: "260385009"},
	"neg":          {System: SystemSNOMED, Code: "260385009"},
	"non-reactive": {System: SystemSNOMED, Code: "260385009"},
	"nonreactive":  {System: SystemSNOMED, Code: "260385009"},
	"non reactive": {System: SystemSNOMED, Code: "260385009"},
	"not detected": {System: terminology.V3Interpretation, Code: "ND"},
}

// standardWord is the coded answer an observation's text value means, when it is one of
// the standard words and the result has no coded value (valueCode, already placed): nil
// otherwise.
//
// A coded value whose codings are all in systems the engine does not know (a lab's local
// answer codes) is read by its text the same way.
func standardWord(o *Observation, valueCode []Coding) *Coding {
	text := o.ValueText
	switch {
	case o.Value != nil || o.ValueBound != nil:
		return nil
	case len(valueCode) > 0:
		for _, c := range valueCode {
			if terminology.Known(c.System) {
				return nil
			}
		}
		text = o.ValueCodeText
	}
	if text == "" {
		return nil
	}
	c, ok := standardWords[strings.ToLower(strings.TrimSpace(text))]
	if !ok {
		return nil
	}
	c.Via = "text \"" + text + "\""
	return &c
}
