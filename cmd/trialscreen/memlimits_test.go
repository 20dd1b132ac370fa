package main

import (
	"math"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/internal/bodymem"
)

// nominalLimits are the limits serve derives when it knows no memory limit, for tests
// that build the service without serveCmd.
func nominalLimits(t *testing.T, cfg serveConfig) serveLimits {
	t.Helper()
	l, err := deriveLimits(cfg, bodymem.NominalMemoryLimit, fromNominal)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// The memory limit is GOMEMLIMIT when set, else 85% of the container's, else the
// shipped Deployment's.
func TestMemoryLimitSources(t *testing.T) {
	for _, tc := range []struct {
		name    string
		runtime int64
		cgroup  string
		want    int64
		from    string
		set     bool
	}{
		{"GOMEMLIMIT", 300 << 20, "536870912\n", 300 << 20, fromGOMEMLIMIT, false},
		{"the container's", math.MaxInt64, "536870912\n", 456340275, fromCgroup, true},
		{"the container has none", math.MaxInt64, "max\n", bodymem.NominalMemoryLimit, fromNominal, false},
		{"no container", math.MaxInt64, "", bodymem.NominalMemoryLimit, fromNominal, false},
	} {
		limit, from, set := memoryLimit(tc.runtime, []byte(tc.cgroup))
		if limit != tc.want || from != tc.from || set != tc.set {
			t.Errorf("%s: %d, %q, %v; want %d, %q, %v", tc.name, limit, from, set, tc.want, tc.from, tc.set)
		}
	}
}

// The limits follow the memory: the shipped Deployment's GOMEMLIMIT (435 MiB) keeps the
// 16 MiB body limit and the 100,000-entry cap; less memory lowers both. An explicit value
// the memory cannot hold is refused, naming both numbers; one it can is kept.
func TestLimitsFollowTheMemory(t *testing.T) {
	l, err := deriveLimits(serveConfig{}, 435<<20, fromGOMEMLIMIT)
	if err != nil {
		t.Fatal(err)
	}
	if l.maxBodyBytes != 16<<20 || l.maxEntries != 100_000 || l.fhirMaxBodyBytes != 24_313_856 || l.plan.Capacity != 194_510_848 {
		t.Errorf("435 MiB: body %d, entries %d, FHIR body %d, budget %d", l.maxBodyBytes, l.maxEntries, l.fhirMaxBodyBytes, l.plan.Capacity)
	}
	l, err = deriveLimits(serveConfig{}, 200<<20, fromGOMEMLIMIT)
	if err != nil {
		t.Fatal(err)
	}
	if l.maxBodyBytes != 8_912_896 || l.maxEntries != 69_632 || l.fhirMaxBodyBytes != 8_912_896 {
		t.Errorf("200 MiB: body %d, entries %d, FHIR body %d", l.maxBodyBytes, l.maxEntries, l.fhirMaxBodyBytes)
	}
	if _, err := deriveLimits(serveConfig{}, 100<<20, fromGOMEMLIMIT); err == nil ||
		!strings.Contains(err.Error(), "serve: the memory limit (GOMEMLIMIT): a memory limit of 104857600 bytes is less than the 134217728 (128 MiB) the service needs") {
		t.Errorf("100 MiB: %v", err)
	}

	_, err = deriveLimits(serveConfig{maxBodyBytes: 64 << 20, maxEntries: 200_000}, 435<<20, fromGOMEMLIMIT)
	for _, want := range []string{
		"TRIALSCREEN_MAX_BODY_BYTES: 67108864 bytes is more than the 48627712 bytes one request's body may take within the memory limit (435 MiB, GOMEMLIMIT): raise the memory limit or lower TRIALSCREEN_MAX_BODY_BYTES",
		"TRIALSCREEN_MAX_BUNDLE_ENTRIES: 200000 entries is more than the 189952 one record may hold within the memory limit (435 MiB, GOMEMLIMIT)",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("explicit limits over the memory: the error does not say %q:\n%v", want, err)
		}
	}
	l, err = deriveLimits(serveConfig{maxBodyBytes: 32 << 20, maxEntries: 150_000}, 435<<20, fromGOMEMLIMIT)
	if err != nil || l.maxBodyBytes != 32<<20 || l.maxEntries != 150_000 {
		t.Errorf("explicit limits the memory holds: %+v, %v", l, err)
	}
}

func TestServeConfigMaxEntries(t *testing.T) {
	env := map[string]string{envMaxEntries: "0"}
	if _, err := readServeConfig(func(k string) string { return env[k] }); err == nil ||
		!strings.Contains(err.Error(), `TRIALSCREEN_MAX_BUNDLE_ENTRIES: "0" is not a count of at least 1`) {
		t.Errorf("%v", err)
	}
	env[envMaxEntries] = "5000"
	if c, err := readServeConfig(func(k string) string { return env[k] }); err != nil || c.maxEntries != 5000 {
		t.Errorf("%+v, %v", c.maxEntries, err)
	}
}

// screen and batch read files of any size the operator gives, with the reader's cap on
// a record's entries, or TRIALSCREEN_MAX_BUNDLE_ENTRIES's; a Bundle over it is refused
// with its count and the cap.
func TestCLIEntryCap(t *testing.T) {
	candidate, err := demo.Bundle("candidate")
	if err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, "candidate.json", string(candidate))
	code, _, stderr := runCLIEnv(t, map[string]string{envMaxEntries: "20"}, "screen", "--bundle", path)
	if want := "screen " + path + ": the Bundle holds 21 entries, more than the 20 one patient's record may hold"; code != exitError || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, exitError, want)
	}
	if code, _, stderr := runCLIEnv(t, map[string]string{envMaxEntries: "21"}, "screen", "--bundle", path); code != exitOK {
		t.Errorf("21 entries, cap 21: exit %d, %s", code, stderr)
	}
	if code, _, stderr := runCLIEnv(t, map[string]string{envMaxEntries: "none"}, "screen", "--bundle", path); code != exitUsage ||
		!strings.Contains(stderr, `TRIALSCREEN_MAX_BUNDLE_ENTRIES: "none" is not a count of at least 1`) {
		t.Errorf("a cap that is no number: exit %d, %s", code, stderr)
	}
}
