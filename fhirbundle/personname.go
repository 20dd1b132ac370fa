package fhirbundle

import (
	"strings"

	dpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/datatypes_go_proto"
)

// personName picks the name a person reading the report knows the patient by: the
// official one, else the usual one, else the first that is not old or anonymous; its
// text when the record gives one, else given names then family name. "" when none
// is usable.
func personName(names []*dpb.HumanName) string {
	best, bestRank := "", len(nameUseRank)+1
	for _, n := range names {
		use := enumCode(n.GetUse().GetValue())
		rank, ok := nameUseRank[use]
		if !ok {
			rank = len(nameUseRank)
		}
		if use == "old" || use == "anonymous" || n.GetPeriod().GetEnd() != nil {
			continue
		}
		if text := nameText(n); text != "" && rank < bestRank {
			best, bestRank = text, rank
		}
	}
	return best
}

// nameUseRank orders HumanName.use: lower is preferred.
var nameUseRank = map[string]int{"official": 0, "usual": 1, "": 2, "temp": 3, "nickname": 4, "maiden": 5}

func nameText(n *dpb.HumanName) string {
	if t := strings.TrimSpace(n.GetText().GetValue()); t != "" {
		return t
	}
	var parts []string
	for _, g := range n.GetGiven() {
		if v := strings.TrimSpace(g.GetValue()); v != "" {
			parts = append(parts, v)
		}
	}
	if f := strings.TrimSpace(n.GetFamily().GetValue()); f != "" {
		parts = append(parts, f)
	}
	return strings.Join(parts, " ")
}
