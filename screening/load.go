package screening

import (
	"github.com/trialscreen/trialscreen/terminology"

	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a protocol file, with the line it was found on.
type Problem struct {
	Line int
	Msg  string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
	}
	return p.Msg
}

// Problems is every problem found in a protocol file; the loader reports them all at
// once so that whoever edits the file can fix them in one pass.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Options adjust compilation.
type Options struct {
	// Terminology, when set, expands each codeset beyond its curated list.
	Terminology Terminology
	// Vocabulary places the codes records carry (system aliases, the drug table, value
	// set expansions, a site's mappings); the shipped one when nil.
	Vocabulary *terminology.Vocabulary
}

// LoadProtocolFile reads, validates and compiles a protocol data file.
func LoadProtocolFile(path string, opts Options) (*Protocol, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load protocol: %w", err)
	}
	return LoadProtocol(data, opts)
}

// LoadProtocol validates and compiles a protocol data file. A *Problems error lists
// everything wrong with it.
func LoadProtocol(data []byte, opts Options) (*Protocol, error) {
	pf, probs := parseProtocol(data)
	if len(probs) > 0 {
		return nil, probs
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Problems{problemFromYAML(err.Error())}
	}
	return compile(pf, &root, opts)
}

var yamlFieldErr = regexp.MustCompile(`^line (\d+): field (\S+) not found in type \S+$`)

// parseProtocol decodes the file strictly: an unknown field anywhere is a problem.
func parseProtocol(data []byte) (*ProtocolFile, Problems) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, Problems{{Msg: "the protocol file is empty"}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var pf ProtocolFile
	err := dec.Decode(&pf)
	if err == nil {
		return &pf, nil
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var ps Problems
		for _, e := range te.Errors {
			if m := yamlFieldErr.FindStringSubmatch(e); m != nil {
				var line int
				fmt.Sscan(m[1], &line)
				ps = append(ps, Problem{Line: line, Msg: fmt.Sprintf("unknown field %q", m[2])})
				continue
			}
			ps = append(ps, problemFromYAML(e))
		}
		return nil, ps
	}
	return nil, Problems{problemFromYAML(strings.TrimPrefix(err.Error(), "yaml: "))}
}

var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)

func problemFromYAML(msg string) Problem {
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		var line int
		fmt.Sscan(m[1], &line)
		return Problem{Line: line, Msg: "not valid YAML: " + m[2]}
	}
	return Problem{Msg: "not valid YAML: " + msg}
}

// decodeStrict decodes a params node into out after checking that every key in it is a
// field of out: yaml.v3's KnownFields does not reach into yaml.Node values.
func decodeStrict(n *yaml.Node, out any, path string, add func(line int, msg string)) bool {
	before := 0
	counted := func(line int, msg string) { before++; add(line, msg) }
	checkKeys(n, reflectTypeOf(out), path, counted)
	if before > 0 {
		return false
	}
	if err := n.Decode(out); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, e := range te.Errors {
				p := problemFromYAML(e)
				add(p.Line, path+": "+strings.TrimPrefix(p.Msg, "not valid YAML: "))
			}
			return false
		}
		add(n.Line, path+": "+err.Error())
		return false
	}
	return true
}

// sortedKeys returns a map's keys in order, for deterministic messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
