package deploytest

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/trialscreen/trialscreen/internal/bodymem"
)

// quantity reads a Kubernetes memory quantity ("512Mi", "1Gi", "536870912") or a
// GOMEMLIMIT ("435MiB") in bytes.
func quantity(s string) (int64, error) {
	m := regexp.MustCompile(`^([0-9]+)(|B|Ki|KiB|Mi|MiB|Gi|GiB|k|M|G|m)$`).FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not a memory quantity this test reads", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, err
	}
	unit := map[string]int64{"": 1, "B": 1, "Ki": 1 << 10, "KiB": 1 << 10, "Mi": 1 << 20, "MiB": 1 << 20, "Gi": 1 << 30, "GiB": 1 << 30,
		"k": 1e3, "M": 1e6, "G": 1e9, "m": 1 << 20}[m[2]] // compose's mem_limit "512m" is MiB
	return n * unit, nil
}

// checkGOMEMLIMIT: GOMEMLIMIT is set, between 75% and 90% of the memory limit: below
// it so that the binary's text and what the runtime does not manage fit beside the heap,
// near it so that the heap may use what the pod is given. The service plans its limits
// on request bodies from it, so it must be at least what the service needs.
func checkGOMEMLIMIT(t *testing.T, what, gomemlimit, memoryLimit string) {
	t.Helper()
	if gomemlimit == "" {
		t.Errorf("%s: no GOMEMLIMIT: the Go heap would grow past the memory limit (%s) before collecting, and the pod be killed", what, memoryLimit)
		return
	}
	soft, err := quantity(gomemlimit)
	if err != nil {
		t.Errorf("%s: GOMEMLIMIT: %v", what, err)
		return
	}
	hard, err := quantity(memoryLimit)
	if err != nil {
		t.Errorf("%s: memory limit: %v", what, err)
		return
	}
	if soft < hard*75/100 || soft > hard*90/100 {
		t.Errorf("%s: GOMEMLIMIT %s is %.0f%% of the memory limit %s; want 75-90%% (85%% is the rule)", what, gomemlimit, 100*float64(soft)/float64(hard), memoryLimit)
	}
	if soft < bodymem.MinMemoryLimit {
		t.Errorf("%s: GOMEMLIMIT %s is less than the %d bytes serve needs", what, gomemlimit, bodymem.MinMemoryLimit)
	}
}

func envValue(c any, name string) string {
	for _, e := range list(c, "env") {
		if str(e, "name") == name {
			return str(e, "value")
		}
	}
	return ""
}

func TestGOMEMLIMITFitsTheMemoryLimit(t *testing.T) {
	ms := manifests(t)
	for _, w := range []struct{ kind, name string }{{"Deployment", "trialscreen"}, {"Job", "trialscreen-batch"}} {
		c := get(one(t, ms, w.kind, w.name).obj, "spec", "template", "spec", "containers", "0")
		checkGOMEMLIMIT(t, w.kind, envValue(c, "GOMEMLIMIT"), str(c, "resources", "limits", "memory"))
	}
	docs, err := decodeAll(readFile(t, filepath.Join(composeDir(t), "docker-compose.yml")))
	if err != nil || len(docs) != 1 {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	ts := get(docs[0], "services", "trialscreen")
	checkGOMEMLIMIT(t, "compose", str(ts, "environment", "GOMEMLIMIT"), str(ts, "mem_limit"))
}
