package realworld_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/protocols"
	"github.com/trialscreen/trialscreen/screening"
)

// outcomes is one outcome ("fail") or a list of allowed outcomes (["review","unknown"]).
type outcomes []string

func (o *outcomes) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*o = outcomes{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("an outcome or a list of outcomes: %w", err)
	}
	*o = many
	return nil
}

type expectation struct {
	AsOf                string              `json:"as_of"`
	LymphodepletionDate string              `json:"lymphodepletion_date"`
	Shape               string              `json:"shape"`
	Expect              map[string]outcomes `json:"expect"`
	Not                 map[string]outcomes `json:"not"`
	Verdict             string              `json:"verdict"`
}

var validOutcomes = []string{"pass", "fail", "unknown", "review"}

func loadCases(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []string
	for _, f := range files {
		if strings.HasSuffix(f, ".expect.json") {
			continue
		}
		cases = append(cases, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	if len(cases) < 35 {
		t.Fatalf("the corpus holds %d records; it should hold at least 35", len(cases))
	}
	return cases
}

func readExpectation(t *testing.T, name string) expectation {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".expect.json"))
	if err != nil {
		t.Fatalf("%s: every record needs an expectation file: %v", name, err)
	}
	// Free-form notes (site_config, code_check) beside the known fields are allowed.
	var e expectation
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatalf("%s.expect.json: %v", name, err)
	}
	if e.AsOf == "" || e.Shape == "" || len(e.Expect) == 0 {
		t.Fatalf("%s.expect.json needs as_of, shape and expect", name)
	}
	return e
}

// TestCorpus screens every record with the shipped protocol at its as-of and checks the
// outcomes its expectation names.
func TestCorpus(t *testing.T) {
	p, err := protocols.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	reader, err := fhirbundle.NewReader(p)
	if err != nil {
		t.Fatal(err)
	}
	ids := p.CriterionIDs()
	for _, name := range loadCases(t) {
		t.Run(name, func(t *testing.T) {
			e := readExpectation(t, name)
			for _, m := range []map[string]outcomes{e.Expect, e.Not} {
				for id, os := range m {
					if !slices.Contains(ids, id) {
						t.Fatalf("%s.expect.json names criterion %q, which the protocol does not have", name, id)
					}
					for _, o := range os {
						if !slices.Contains(validOutcomes, o) {
							t.Fatalf("%s.expect.json: %q is not an outcome (%v)", name, o, validOutcomes)
						}
					}
				}
			}
			asOf, err := time.Parse(time.RFC3339, e.AsOf)
			if err != nil {
				t.Fatalf("%s.expect.json as_of: %v", name, err)
			}
			s := screening.Settings{AsOf: asOf}
			if e.LymphodepletionDate != "" {
				ld, err := time.Parse("2006-01-02", e.LymphodepletionDate)
				if err != nil {
					t.Fatalf("%s.expect.json lymphodepletion_date: %v", name, err)
				}
				s.LymphodepletionDate = ld
			}
			data, err := os.ReadFile(filepath.Join("testdata", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			rec, err := reader.ReadBundle(data, "")
			if err != nil {
				t.Fatalf("%s: the bundle cannot be read: %v", name, err)
			}
			scr := p.Evaluate(rec, s)
			got := map[string]screening.Result{}
			for _, r := range scr.Criteria {
				got[r.ID] = r
			}
			describe := func(r screening.Result) string {
				return fmt.Sprintf("outcome %s (reason %s): %s", r.Outcome, r.Reason, r.Summary)
			}
			for _, id := range sortedKeys(e.Expect) {
				r, ok := got[id]
				if !ok {
					t.Errorf("case %s: criterion %s is missing from the screening", name, id)
					continue
				}
				if !slices.Contains(e.Expect[id], string(r.Outcome)) {
					t.Errorf("case %s: criterion %s: want %s, got %s",
						name, id, strings.Join(e.Expect[id], " or "), describe(r))
				}
			}
			for _, id := range sortedKeys(e.Not) {
				r, ok := got[id]
				if ok && slices.Contains(e.Not[id], string(r.Outcome)) {
					t.Errorf("case %s: criterion %s must not be %s, got %s",
						name, id, strings.Join(e.Not[id], " or "), describe(r))
				}
			}
			if e.Verdict != "" && string(scr.Verdict) != e.Verdict {
				var off []string
				for _, r := range scr.Criteria {
					if r.Outcome == screening.Fail || r.Outcome == screening.Unknown {
						off = append(off, r.ID+"="+string(r.Outcome)+" ("+r.Summary+")")
					}
				}
				t.Errorf("case %s: want verdict %s, got %s; %s", name, e.Verdict, scr.Verdict, strings.Join(off, "; "))
			}
			if t.Failed() {
				t.Logf("case %s mimics: %s", name, e.Shape)
			}
		})
	}
}

// TestOneFactEdits checks the corpus stays a set of one-fact edits of the baseline: every
// record keeps the baseline's Patient and its myeloma Condition (possibly recoded), so
// only the criteria a case names can move.
func TestOneFactEdits(t *testing.T) {
	type entry struct {
		Resource struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
		} `json:"resource"`
	}
	read := func(name string) map[string]bool {
		data, err := os.ReadFile(filepath.Join("testdata", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			ResourceType string  `json:"resourceType"`
			Type         string  `json:"type"`
			Entry        []entry `json:"entry"`
		}
		if err := json.Unmarshal(data, &b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b.ResourceType != "Bundle" || (b.Type != "collection" && b.Type != "searchset") {
			t.Fatalf("%s: want a collection or searchset Bundle, got %s %s", name, b.ResourceType, b.Type)
		}
		ids := map[string]bool{}
		for _, e := range b.Entry {
			ids[e.Resource.ResourceType+"/"+e.Resource.ID] = true
		}
		return ids
	}
	base := read("00-baseline")
	for _, name := range loadCases(t) {
		ids := read(name)
		for _, must := range []string{"Patient/demo-candidate", "Condition/demo-candidate-con-1"} {
			if !ids[must] {
				t.Errorf("case %s: lost %s from the baseline", name, must)
			}
		}
		missing := 0
		for id := range base {
			if !ids[id] {
				missing++
			}
		}
		if missing > 0 {
			t.Errorf("case %s: drops %d of the baseline's resources; change them in place instead", name, missing)
		}
	}
}

func sortedKeys(m map[string]outcomes) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
