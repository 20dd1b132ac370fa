package clockguard

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// No test reads the wall clock for an instant: the demo patients' labs go stale 14 days
// after the instant they were written for, and a test screening "as of now" fails from
// then on. A test takes its instants from a fixed date (demo.AsOf(), time.Date) or the
// clock it gives the code under test (api.Config.Now, the program's clock in
// cmd/trialscreen), and waits with time.After or a context, not until a wall-clock
// deadline. The one use allowed is a stopwatch: `start := time.Now()` read only as
// time.Since(start), which measures a duration on the monotonic clock, never a date.
func TestNoTestReadsTheWallClock(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "testdata", "vendor":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		checked++
		rel, _ := filepath.Rel(root, path)
		found, err := wallClockReads(path)
		for _, f := range found {
			problems = append(problems, rel+":"+f)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatalf("no _test.go files under %s: is the module root two levels up?", root)
	}
	if len(problems) > 0 {
		t.Errorf("tests read the wall clock (inject a clock or use a fixed instant; only `start := time.Now()` for time.Since(start) is allowed):\n%s",
			strings.Join(problems, "\n"))
	}
}

// wallClockReads lists, as "line: what", the uses of time.Now, time.Since and
// time.Until in a Go file other than the stopwatch form.
func wallClockReads(path string) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	timePkg := ""
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == "time" {
			timePkg = "time"
			if imp.Name != nil {
				timePkg = imp.Name.Name
			}
		}
	}
	if timePkg == "" || timePkg == "_" {
		return nil, nil
	}
	if timePkg == "." {
		return []string{"1: imports time with a dot: write time.Now so that it can be checked"}, nil
	}
	isTime := func(e ast.Expr, name string) bool {
		sel, ok := e.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != name {
			return false
		}
		x, ok := sel.X.(*ast.Ident)
		return ok && x.Name == timePkg
	}
	isStart := func(e ast.Expr) bool { id, ok := e.(*ast.Ident); return ok && id.Name == "start" }

	allowed := map[ast.Expr]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt: // start := time.Now()
			if len(n.Lhs) == 1 && len(n.Rhs) == 1 && isStart(n.Lhs[0]) {
				if call, ok := n.Rhs[0].(*ast.CallExpr); ok && len(call.Args) == 0 && isTime(call.Fun, "Now") {
					allowed[call.Fun] = true
				}
			}
		case *ast.CallExpr: // time.Since(start)
			if len(n.Args) == 1 && isStart(n.Args[0]) && isTime(n.Fun, "Since") {
				allowed[n.Fun] = true
			}
		}
		return true
	})
	var found []string
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(ast.Expr)
		if !ok || allowed[sel] {
			return true
		}
		for _, name := range []string{"Now", "Since", "Until"} {
			if isTime(sel, name) {
				found = append(found, strconv.Itoa(fset.Position(sel.Pos()).Line)+": "+timePkg+"."+name)
			}
		}
		return true
	})
	return found, nil
}

// The check finds each way a test could read the wall clock, and passes the stopwatch.
func TestWallClockReadsFindsEachForm(t *testing.T) {
	src := `package x

import clock "time"

func f() {
	start := clock.Now()
	_ = clock.Since(start)
	asOf := clock.Now().UTC()
	deadline := clock.Now().Add(clock.Second)
	_ = clock.Until(deadline)
	_ = clock.Since(asOf)
	now := clock.Now
	start = clock.Now()
	_, _ = now, start
}
`
	path := filepath.Join(t.TempDir(), "x_test.go")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := wallClockReads(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"8: clock.Now", "9: clock.Now", "10: clock.Until", "11: clock.Since", "12: clock.Now"}
	if !slices.Equal(got, want) {
		t.Errorf("found %q, want %q", got, want)
	}
}
