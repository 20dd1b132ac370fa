package screening_test

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/trialscreen/trialscreen/protocols"
	"github.com/trialscreen/trialscreen/screening"
)

// checkUCUMExceptionsListed: every molar mass, departure and unitless group the test
// lists is in the protocol (a stale entry would excuse nothing, or the wrong unit), the
// protocol has no unitless group the test does not list, and the comment beside each
// in the protocol file gives the test's reason, so the file says why where it departs.
func checkUCUMExceptionsListed(t *testing.T, convs []screening.UnitConversion) {
	t.Helper()
	accepted, unitless := map[[2]string]bool{}, map[string]bool{}
	for _, c := range convs {
		accepted[[2]string{c.Group, c.Code}] = true
		unitless[c.Group] = c.Unitless
	}
	var root yaml.Node
	if err := yaml.Unmarshal(protocols.AntiBCMA, &root); err != nil {
		t.Fatal(err)
	}
	units := mapValue(&root, "units")
	reasons := map[[2]string]string{}
	for _, m := range ucumMolar {
		reasons[[2]string{m.group, m.code}] = m.reason
	}
	for _, d := range ucumDepartures {
		reasons[[2]string{d.group, d.code}] = d.reason
	}
	for k, reason := range reasons {
		if !accepted[k] {
			t.Errorf("unit group %s accepts no %s, but the test lists it: remove the entry", k[0], k[1])
			continue
		}
		if c := comments(acceptEntry(units, k[0], k[1])); !strings.Contains(c, reason) {
			t.Errorf("protocol file, units.%s, %s: the comment beside it should say %q; it says %q", k[0], k[1], reason, c)
		}
	}
	for group, isUnitless := range unitless {
		if isUnitless && ucumUnitless[group] == "" {
			t.Errorf("unit group %s reads a value with no unit as canonical: list it, with why, in ucumUnitless", group)
		}
	}
	for group, reason := range ucumUnitless {
		if !unitless[group] {
			t.Errorf("ucumUnitless lists %s, which is not a unitless group: remove it", group)
			continue
		}
		if c := comments(mapPair(mapValue(units, group), "unitless")); !strings.Contains(c, reason) {
			t.Errorf("protocol file, units.%s: the comment beside unitless should say %q; it says %q", group, reason, c)
		}
	}
}

// mapPair is the key and value nodes of key in mapping n (or in the document n holds).
func mapPair(n *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for i := 0; n != nil && n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	_, v := mapPair(n, key)
	return v
}

// acceptEntry is the item of units.<group>.accept whose code is code.
func acceptEntry(units *yaml.Node, group, code string) *yaml.Node {
	accept := mapValue(mapValue(units, group), "accept")
	if accept == nil {
		return nil
	}
	for _, item := range accept.Content {
		if c := mapValue(item, "code"); c != nil && c.Value == code {
			return item
		}
	}
	return nil
}

// comments joins the comments on the nodes and every node inside them, without their
// '#' and with line breaks and runs of spaces made one space.
func comments(nodes ...*yaml.Node) string {
	var words []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil {
			return
		}
		for _, c := range []string{n.HeadComment, n.LineComment, n.FootComment} {
			for _, line := range strings.Split(c, "\n") {
				words = append(words, strings.Fields(strings.TrimLeft(strings.TrimSpace(line), "#"))...)
			}
		}
		for _, child := range n.Content {
			walk(child)
		}
	}
	for _, n := range nodes {
		walk(n)
	}
	return strings.Join(words, " ")
}
