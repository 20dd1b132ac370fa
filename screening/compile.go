package screening

import (
	"github.com/trialscreen/trialscreen/terminology"

	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// checkKinds is the table of criterion kinds: a new kind is one compile function and
// one entry here. Each compiler decodes its own params strictly and returns the
// evaluator for that criterion.
var checkKinds = map[string]func(cc *compileCtx) evaluator{
	"age":                  compileAge,
	"diagnosis":            compileDiagnosis,
	"supporting-evidence":  compileSupportingEvidence,
	"measurement":          compileMeasurement,
	"creatinine-clearance": compileCreatinineClearance,
	"findings":             compileFindings,
	"serology":             compileSerology,
	"pregnancy-test":       compilePregnancyTest,
	"washout":              compileWashout,
	"ecg":                  compileECG,
	"manual":               compileManual,
}

var (
	criterionIDPattern = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	sourceTagPattern   = regexp.MustCompile(`^[SEHRCLPU](,[SEHRCLPU])*$`)
)

// compileState is what compile works on before the Protocol is assembled.
type compileState struct {
	pf       *ProtocolFile
	systems  map[string]string
	codesets map[string]*codeMatcher
	masks    *maskIndex
	units    map[string]*unitGroup
	probs    Problems
	root     *yaml.Node // the parsed file, to give every problem its line
	vocab    *terminology.Vocabulary
}

func (st *compileState) add(line int, format string, args ...any) {
	st.probs = append(st.probs, Problem{Line: line, Msg: fmt.Sprintf(format, args...)})
}

// lineAt finds the line of a path of mapping keys (string) and sequence indexes (int);
// where the path runs out it gives the line of the deepest node found.
func (st *compileState) lineAt(path ...any) int {
	if st.root == nil {
		return 0
	}
	cur := st.root
	if cur.Kind == yaml.DocumentNode && len(cur.Content) > 0 {
		cur = cur.Content[0]
	}
	for _, p := range path {
		next := (*yaml.Node)(nil)
		switch k := p.(type) {
		case string:
			if cur.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(cur.Content); i += 2 {
					if cur.Content[i].Value == k {
						next = cur.Content[i+1]
						if cur.Content[i+1].Kind == yaml.ScalarNode {
							next = cur.Content[i] // a scalar: point at its key
						}
					}
				}
			}
		case int:
			if cur.Kind == yaml.SequenceNode && k < len(cur.Content) {
				next = cur.Content[k]
			}
		}
		if next == nil {
			break
		}
		cur = next
	}
	return cur.Line
}

// compile validates the whole file, reporting every problem, and builds the Protocol.
func compile(pf *ProtocolFile, root *yaml.Node, opts Options) (*Protocol, error) {
	st := &compileState{pf: pf, root: root, systems: map[string]string{}, codesets: map[string]*codeMatcher{}, units: map[string]*unitGroup{}}
	if pf.Protocol.ID == "" {
		st.add(st.lineAt("protocol"), "protocol.id is required")
	}
	if pf.Protocol.Version == "" {
		st.add(st.lineAt("protocol"), "protocol.version is required")
	}
	voc := opts.Vocabulary
	if voc == nil {
		var err error
		if voc, err = terminology.Shipped(); err != nil {
			return nil, err
		}
	}
	st.vocab = voc
	st.compileSystems()
	st.compileStatuses()
	st.compileUnits()
	st.compileCodesets(opts.Terminology)
	p := &Protocol{
		vocab:       voc,
		Info:        pf.Protocol,
		statuses:    compileStatusSets(pf.Statuses),
		masks:       st.masks,
		units:       st.units,
		relevant:    map[string]*relevance{},
		obsStatuses: append([]string{}, pf.Statuses.Observation...),
		terminology: terminologyReport(voc),
	}
	seen := map[string]bool{}
	if len(pf.Criteria) == 0 {
		st.add(st.lineAt("criteria"), "criteria: the protocol has no criteria")
	}
	for i := range pf.Criteria {
		spec := &pf.Criteria[i]
		cc := &compileCtx{st: st, spec: spec, needs: map[string]*codeMatcher{}, where: fmt.Sprintf("criterion %q", spec.ID), line: st.lineAt("criteria", i)}
		if spec.ID == "" {
			cc.where = fmt.Sprintf("criteria[%d]", i)
			cc.errorf("", "id is required")
		} else if !criterionIDPattern.MatchString(spec.ID) {
			cc.errorf("", "id must be lower-case words joined by hyphens")
		} else if seen[spec.ID] {
			cc.errorf("", "id is used by another criterion")
		}
		seen[spec.ID] = true
		if spec.Type != "inclusion" && spec.Type != "exclusion" {
			cc.errorf("", "type must be inclusion or exclusion, not %q", spec.Type)
		}
		if strings.TrimSpace(spec.Text) == "" {
			cc.errorf("", "text (the protocol's own wording) is required")
		}
		if spec.AppliesTo != "" && spec.AppliesTo != "female" && spec.AppliesTo != "male" {
			cc.errorf("", "applies_to must be female or male, not %q", spec.AppliesTo)
		}
		kind, ok := checkKinds[spec.Check]
		if !ok {
			cc.errorf("", "check %q is not a known kind (known: %s)", spec.Check, strings.Join(sortedKeys(checkKinds), ", "))
			continue
		}
		if spec.Check != "manual" && strings.TrimSpace(spec.Obtain) == "" {
			cc.errorf("", "obtain (what to get when the data is missing) is required")
		}
		ev := kind(cc)
		c := &criterion{spec: *spec, eval: ev, needs: cc.needs, needTypes: sortedKeys(cc.needs), rule: cc.rule, threshold: cc.threshold, sourceKey: map[string]string{}}
		if !cc.unbounded {
			c.lookbackDays = cc.windowDays
		}
		for t := range cc.needs {
			c.sourceKey[t] = t + "#" + spec.ID
		}
		p.criteria = append(p.criteria, c)
		for t, m := range cc.needs {
			if p.relevant[t] == nil {
				p.relevant[t] = &relevance{}
			}
			p.relevant[t].add(m)
		}
	}
	if len(st.probs) > 0 {
		return nil, st.probs
	}
	return p, nil
}

func (st *compileState) compileSystems() {
	builtin := map[string]string{"loinc": SystemLOINC, "snomed": SystemSNOMED, "icd10cm": SystemICD10, "icd10": SystemICD10WHO, "rxnorm": SystemRxNorm, "ndc": SystemNDC, "ucum": SystemUCUM}
	for k, v := range builtin {
		st.systems[k] = v
	}
	for _, alias := range sortedKeys(st.pf.Systems) {
		uri := st.pf.Systems[alias]
		u, err := url.Parse(uri)
		if err != nil || u.Scheme == "" {
			st.add(st.lineAt("systems", alias), "systems.%s: %q is not an absolute URI", alias, uri)
			continue
		}
		if b, ok := builtin[alias]; ok && b != uri {
			st.add(st.lineAt("systems", alias), "systems.%s: the alias is built in as %s and cannot be redefined", alias, b)
			continue
		}
		st.systems[alias] = uri
	}
}

func (st *compileState) compileStatuses() {
	s := st.pf.Statuses
	if len(s.Observation) == 0 {
		st.add(st.lineAt("statuses"), "statuses.observation: list the Observation statuses that count (e.g. final, amended, corrected)")
	}
	if len(s.Active) == 0 {
		st.add(st.lineAt("statuses"), "statuses.active_clinical: list the clinical statuses that mean a condition is current")
	}
	if len(s.Resolved) == 0 {
		st.add(st.lineAt("statuses"), "statuses.resolved_clinical: list the clinical statuses that mean a condition is over")
	}
}

func (st *compileState) compileCodesets(term Terminology) {
	st.masks = newMaskIndex()
	if n := len(st.pf.Codesets); n > maxCodesets {
		st.add(st.lineAt("codesets"), "codesets: %d are defined; at most %d are supported", n, maxCodesets)
		return
	}
	for id, name := range sortedKeys(st.pf.Codesets) {
		cs := st.pf.Codesets[name]
		m := newCodeMatcher()
		m.mask.set(id)
		m.ids = []int{id}
		if len(cs.Codes) == 0 && len(cs.ValueSets) == 0 {
			st.add(st.lineAt("codesets", name), "codesets.%s: has no codes", name)
		}
		for i, id := range cs.ValueSets {
			vs, ok := st.vocab.ValueSets[id]
			if !ok {
				st.add(st.lineAt("codesets", name, "valuesets", i), "codesets.%s.valuesets[%d]: no value set %q is shipped (known: %s)", name, i, id, strings.Join(sortedKeys(st.vocab.ValueSets), ", "))
				continue
			}
			// A published expansion is verified (its source is cited in the file).
			for _, mem := range vs.Codes {
				m.addCode(mem.Coding(), name, false)
			}
		}
		// Curated codes by their tag: a server's expansion of a U-only code is as
		// unverified as the code it comes from.
		var curated [2][]Coding // [0] verified, [1] unverified only
		for i, e := range cs.Codes {
			where := fmt.Sprintf("codesets.%s.codes[%d]", name, i)
			line := st.lineAt("codesets", name, "codes", i)
			sys, ok := st.systems[e.System]
			if !ok {
				st.add(line, "%s: system %q is not a known alias (known: %s)", where, e.System, strings.Join(sortedKeys(st.systems), ", "))
				continue
			}
			unverified := isUnverified(e.Source)
			switch {
			case e.Code != "" && e.Prefix != "":
				st.add(line, "%s: give code or prefix, not both", where)
			case e.Prefix != "":
				if !isPrefixSystem(sys) {
					st.add(line, "%s: prefix matching is only for ICD-10-CM, ICD-10-PCS and CPT, not %s", where, e.System)
					continue
				}
				m.addPrefix(sys, e.Prefix, name, unverified)
			case e.Code != "":
				c := Coding{System: sys, Code: e.Code}
				m.addCode(c, name, unverified)
				curated[b2i(unverified)] = append(curated[b2i(unverified)], c)
			default:
				st.add(line, "%s: code or prefix is required", where)
			}
			if !sourceTagPattern.MatchString(e.Source) {
				st.add(line, "%s: source must be verification tags such as \"S,E\" (S E H R C L P U), not %q", where, e.Source)
			}
		}
		if term != nil {
			listed := map[Coding]bool{}
			for _, c := range slices.Concat(curated[0], curated[1]) {
				listed[normalizeCode(c)] = true
			}
			for i, group := range curated {
				if len(group) == 0 {
					continue
				}
				more, err := term.Expand(context.Background(), name, group)
				if err != nil {
					st.add(st.lineAt("codesets", name), "codesets.%s: terminology expansion failed: %v", name, err)
				}
				for _, c := range more {
					// A curated code keeps its own tag; what the server adds takes the tag
					// of the codes it expands (verified when a verified one also yields it).
					if !listed[normalizeCode(c)] {
						m.addCode(c, name, i == 1)
					}
				}
			}
		}
		st.codesets[name] = m
		st.masks.add(id, m)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// isUnverified reports whether a code's source tags say only U (unverified).
func isUnverified(source string) bool {
	if source == "" {
		return false
	}
	for _, t := range strings.Split(source, ",") {
		if t != "U" {
			return false
		}
	}
	return true
}

// compileCtx is what a kind's compiler works with: the criterion, the file's codesets and
// unit groups, and a place to register which resources the criterion reads.
type compileCtx struct {
	st    *compileState
	spec  *CriterionSpec
	where string
	needs map[string]*codeMatcher
	rule  string
	// threshold is the numeric limit a measuring kind sets, reported with every result.
	threshold *Threshold
	line      int // the criterion's line
	// The longest window the criterion looks back over, and whether some part of it
	// looks back without limit: what an unplaced record must fall in to matter.
	windowDays int
	unbounded  bool
}

// errorf records a problem at the line of a params field (or the params block).
func (cc *compileCtx) errorf(field, format string, args ...any) {
	line := cc.line
	prefix := cc.where + ": "
	if field != "" && cc.spec.Params.Kind != 0 {
		line = fieldLine(&cc.spec.Params, field)
		prefix += "params." + field + ": "
	}
	cc.st.probs = append(cc.st.probs, Problem{Line: line, Msg: prefix + fmt.Sprintf(format, args...)})
}

// fieldLine finds the line of a dotted params field such as "rules[0].outcome", falling
// back to the deepest part found.
func fieldLine(n *yaml.Node, field string) int {
	cur := n
	for _, part := range strings.Split(field, ".") {
		name, idx := part, -1
		if i := strings.IndexByte(part, '['); i > 0 && strings.HasSuffix(part, "]") {
			name = part[:i]
			fmt.Sscanf(part[i+1:len(part)-1], "%d", &idx)
		}
		next := mappingValue(cur, name)
		if next == nil {
			break
		}
		cur = next
		if idx >= 0 {
			if cur.Kind != yaml.SequenceNode || idx >= len(cur.Content) {
				break
			}
			cur = cur.Content[idx]
		}
	}
	return cur.Line
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// params decodes the criterion's params strictly into out.
func (cc *compileCtx) params(out any) bool {
	if cc.spec.Params.Kind == 0 {
		cc.errorf("", "params are required for check %q", cc.spec.Check)
		return false
	}
	return decodeStrict(&cc.spec.Params, out, cc.where+": params", func(line int, msg string) {
		cc.st.probs = append(cc.st.probs, Problem{Line: line, Msg: msg})
	})
}

// codes joins named codesets into one matcher; an unknown name is a problem.
func (cc *compileCtx) codes(field string, names []string, required bool) *codeMatcher {
	m := newCodeMatcher()
	if len(names) == 0 && required {
		cc.errorf(field, "at least one codeset is required")
	}
	for _, n := range names {
		cs, ok := cc.st.codesets[n]
		if !ok {
			cc.errorf(field, "codeset %q is not defined", n)
			continue
		}
		m.merge(cs)
	}
	return m
}

// units looks up a unit group by name.
func (cc *compileCtx) units(field, name string) *unitGroup {
	g, ok := cc.st.units[name]
	if !ok {
		cc.errorf(field, "unit group %q is not defined", name)
		return &unitGroup{name: name, factors: map[string]float64{}}
	}
	return g
}

// need records that the criterion reads resources of type t with codes in m (nil: all).
func (cc *compileCtx) need(t string, m *codeMatcher) {
	cur := cc.needs[t]
	if cur == nil {
		cur = newCodeMatcher()
		cc.needs[t] = cur
	}
	if m == nil {
		cur.all = true
		return
	}
	cur.merge(m)
}

func (cc *compileCtx) needMedications(m *codeMatcher) {
	for _, t := range MedicationTypes {
		cc.need(t, m)
	}
}

// window checks a window in days.
func (cc *compileCtx) window(field string, days int, required bool) {
	if days < 0 || (required && days == 0) {
		cc.errorf(field, "must be a number of days above 0")
	}
	cc.windowDays = max(cc.windowDays, days)
	cc.unbounded = cc.unbounded || days == 0
}

// comparator checks a comparison operator.
func (cc *compileCtx) comparator(field, op string) {
	switch op {
	case ">=", ">", "<=", "<":
	default:
		cc.errorf(field, "must be one of >=, >, <=, <, not %q", op)
	}
}

// outcome checks a rule outcome (fail or review).
func (cc *compileCtx) outcome(field, o string) Outcome {
	switch Outcome(o) {
	case Fail, Review:
		return Outcome(o)
	}
	cc.errorf(field, "must be fail or review, not %q", o)
	return Review
}
