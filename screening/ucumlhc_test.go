package screening_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

// ucumRequest and ucumResult are ucumcheck/convert.js's input and output per pair.
type ucumRequest struct {
	From      string  `json:"from"`
	To        string  `json:"to"`
	MolarMass float64 `json:"molarMass,omitempty"` // g/mol, for moles to mass
}

type ucumResult struct {
	Valid  bool    `json:"valid"` // From is a valid UCUM code
	Factor float64 `json:"factor"`
	Error  string  `json:"error"`
}

func (r ucumResult) text() string {
	if r.Error != "" {
		return "refuses: " + r.Error
	}
	return fmt.Sprint(r.Factor)
}

// runUCUMLHC converts every pair in one run of ucumcheck/convert.js. Without Node.js or
// the package (npm ci in screening/ucumcheck; .ci/run does it) the test skips, except
// under CI, where a silent skip would let a wrong factor through.
func runUCUMLHC(t *testing.T, reqs []ucumRequest) ([]ucumResult, string) {
	t.Helper()
	missing := func(why string) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("%s; CI is set, so the UCUM check may not be skipped", why)
		}
		t.Skip(why)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("Node.js is not installed: the unit table cannot be checked against ucum-lhc (.ci/run installs it)")
	}
	if _, err := os.Stat("ucumcheck/node_modules/@lhncbc/ucum-lhc/package.json"); err != nil {
		missing("@lhncbc/ucum-lhc is not installed: run npm ci in screening/ucumcheck (.ci/run does)")
	}
	in, err := json.Marshal(reqs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "convert.js")
	cmd.Dir = "ucumcheck"
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ucumcheck/convert.js: %v\n%s", err, stderr.String())
	}
	var got struct {
		Version string       `json:"version"`
		Results []ucumResult `json:"results"`
	}
	if err := json.Unmarshal(out, &got); err != nil || len(got.Results) != len(reqs) {
		t.Fatalf("ucumcheck/convert.js answered %d results for %d pairs (%v): %s", len(got.Results), len(reqs), err, out)
	}
	return got.Results, got.Version
}
