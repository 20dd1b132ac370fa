package main

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/internal/bodymem"
)

// The memory serve is given decides how much one request may make it hold: the body
// limit, the cap on a record's entries, the limit of a FHIR server's response, and the
// budget of bodies read at once (internal/bodymem). A limit set explicitly above what
// the memory allows is refused at start-up: a pod that accepts a body it cannot hold is
// one request away from being killed, and that is better found by the operator who set
// it than by a caller.

// cgroupMemoryMax is a container's memory limit under cgroup v2 ("max": none).
const cgroupMemoryMax = "/sys/fs/cgroup/memory.max"

// containerShare is the part of a container's memory limit the Go runtime is held to
// when GOMEMLIMIT is not set: the rest is the binary's text, memory outside the Go heap
// and a margin that keeps a spike short of the kernel's OOM killer.
const containerShare = 0.85

// Where a memory limit comes from, for the start-up log.
const (
	fromGOMEMLIMIT = "GOMEMLIMIT"
	fromCgroup     = "85% of the container's limit (" + cgroupMemoryMax + "); GOMEMLIMIT set to it"
	fromNominal    = "none known (no GOMEMLIMIT, no container limit): planned for the shipped Deployment's"
)

// memoryLimit is the memory the service is planned for: the runtime's limit when
// GOMEMLIMIT set one (runtimeLimit is not math.MaxInt64), else 85% of the container's
// (cgroupMax, the content of memory.max), which the caller then sets as the runtime's
// limit (setIt), else the shipped Deployment's.
func memoryLimit(runtimeLimit int64, cgroupMax []byte) (limit int64, from string, setIt bool) {
	if runtimeLimit > 0 && runtimeLimit < math.MaxInt64 {
		return runtimeLimit, fromGOMEMLIMIT, false
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(string(cgroupMax)), 10, 64); err == nil && n > 0 {
		return int64(float64(n) * containerShare), fromCgroup, true
	}
	return bodymem.NominalMemoryLimit, fromNominal, false
}

// serveLimits are the limits serve runs with.
type serveLimits struct {
	plan             bodymem.Plan
	from             string // where the memory limit came from
	maxBodyBytes     int64
	maxEntries       int
	fhirMaxBodyBytes int64
}

// Ceilings of the derived defaults: what a deployment with plenty of memory gets.
const (
	defaultMaxBodyBytes     = 16 << 20
	defaultFHIRMaxBodyBytes = 32 << 20 // fhirclient's default
)

// deriveLimits sizes serve's limits from the memory limit; those set explicitly in cfg
// are kept when the memory allows them. Every problem names its variable and both
// numbers.
func deriveLimits(cfg serveConfig, memLimit int64, from string) (serveLimits, error) {
	plan, err := bodymem.PlanFor(memLimit)
	if err != nil {
		return serveLimits{}, fmt.Errorf("serve: the memory limit (%s): %w; set GOMEMLIMIT (about 85%% of the container's memory limit)", from, err)
	}
	l := serveLimits{
		plan: plan, from: from,
		maxBodyBytes:     plan.DefaultBodyBytes(defaultMaxBodyBytes),
		maxEntries:       min(fhirbundle.DefaultMaxEntries, plan.MaxEntriesAllowed()),
		fhirMaxBodyBytes: plan.DefaultBodyBytes(defaultFHIRMaxBodyBytes),
	}
	var problems []string
	limit := fmt.Sprintf("the memory limit (%s, %s)", mib(memLimit), from)
	if cfg.maxBodyBytes > 0 {
		if most := plan.MaxBodyAllowed(); cfg.maxBodyBytes > most {
			problems = append(problems, fmt.Sprintf("%s: %d bytes is more than the %d bytes one request's body may take within %s: raise the memory limit or lower %s",
				envMaxBodyBytes, cfg.maxBodyBytes, most, limit, envMaxBodyBytes))
		}
		l.maxBodyBytes = cfg.maxBodyBytes
	}
	if cfg.maxEntries > 0 {
		if most := plan.MaxEntriesAllowed(); cfg.maxEntries > most {
			problems = append(problems, fmt.Sprintf("%s: %d entries is more than the %d one record may hold within %s: raise the memory limit or lower %s",
				envMaxEntries, cfg.maxEntries, most, limit, envMaxEntries))
		}
		l.maxEntries = cfg.maxEntries
	}
	if len(problems) > 0 {
		return l, fmt.Errorf("serve: the configuration has problems:\n  %s", strings.Join(problems, "\n  "))
	}
	return l, nil
}

// serveMemoryLimits finds the memory limit, holds the runtime to it when it came from
// the container, derives the limits and logs them (sizes only).
func serveMemoryLimits(cfg serveConfig, log *slog.Logger) (serveLimits, error) {
	cgroup, _ := os.ReadFile(cgroupMemoryMax) // absent outside a container: no limit known
	memLimit, from, setIt := memoryLimit(debug.SetMemoryLimit(-1), cgroup)
	if setIt {
		debug.SetMemoryLimit(memLimit)
	}
	l, err := deriveLimits(cfg, memLimit, from)
	if err != nil {
		return l, err
	}
	log.Info("memory limits", "memory_limit_bytes", memLimit, "memory_limit_from", from,
		"body_budget_bytes", l.plan.Capacity, "body_budget_wait", l.plan.Wait.String(),
		"max_body_bytes", l.maxBodyBytes, "max_bundle_entries", l.maxEntries, "fhir_max_body_bytes", l.fhirMaxBodyBytes)
	if from == fromNominal {
		log.Warn("no memory limit is known: set GOMEMLIMIT to about 85% of the memory the service is given, so that the limits fit it")
	}
	return l, nil
}

// cliMaxEntries is the cap on a record's entries for screen and batch: the files they
// read are the operator's, so the cap is the reader's default unless
// TRIALSCREEN_MAX_BUNDLE_ENTRIES sets another (a record larger than a service takes).
func cliMaxEntries(getenv func(string) string) (int, error) {
	v := getenv(envMaxEntries)
	if v == "" {
		return fhirbundle.DefaultMaxEntries, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, usagef("%s: %q is not a count of at least 1", envMaxEntries, v)
	}
	return n, nil
}

// mib words a byte count in MiB for messages.
func mib(n int64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', -1, 64) + " MiB" }
