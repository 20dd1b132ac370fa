package bodymem

import (
	"fmt"
	"time"
)

// Measured is what a request body costs in heap once it is read, parsed and screened,
// as measured on the shipped binary (cmd/trialscreen's peak memory test, and
// fhirbundle's BenchmarkEntryCost):
//
//   - A real record (Synthea Observations, about 800 bytes an entry) peaks at about 2.6
//     bytes of live heap per byte of Bundle in the reader and the screening, and the
//     request adds the body's read buffer; 4 covers both.
//   - An entry the reader cannot use costs about 530 bytes of live heap (its peek, its
//     unreadable record, its line in the verdict document) whatever its size: "{}" is
//     two bytes. 1 KiB covers it with the answer's encoding.
var Measured = Costs{PerBodyByte: 4, PerEntry: 1 << 10}

// Plan is what the service may hold in memory at once, derived from the memory the Go
// runtime is held to (GOMEMLIMIT).
type Plan struct {
	MemoryLimit int64 // the runtime's soft limit the plan is for
	// Capacity is the heap the request bodies being read, parsed and screened may take
	// together: half of what the limit leaves beside the service's own baseline. The
	// other half is the collector's room to work and what requests without a body (a
	// record fetched from the FHIR server) take.
	Capacity int64
	Costs    Costs
	Wait     time.Duration // how long a request waits for its share
}

const (
	// Baseline is the service's own memory beside requests: the parser's tables, the
	// protocol and its terminology, the runtime (about 30 MB of heap when idle).
	Baseline = 64 << 20
	// MinMemoryLimit is the least memory the service runs in: below it, Capacity would
	// not hold one ordinary record.
	MinMemoryLimit = 128 << 20
	// NominalMemoryLimit is planned for when no limit is known: the shipped
	// Deployment's (GOMEMLIMIT 435MiB, 85% of its 512Mi).
	NominalMemoryLimit = 435 << 20

	defaultWait = 2 * time.Second
)

// PlanFor derives the plan for a memory limit.
func PlanFor(memoryLimit int64) (Plan, error) {
	if memoryLimit < MinMemoryLimit {
		return Plan{}, fmt.Errorf("a memory limit of %d bytes is less than the %d (128 MiB) the service needs", memoryLimit, int64(MinMemoryLimit))
	}
	return Plan{MemoryLimit: memoryLimit, Capacity: (memoryLimit - Baseline) / 2, Costs: Measured, Wait: defaultWait}, nil
}

// DefaultBodyBytes is a default body limit under the plan: two bodies of it fit in
// Capacity at once, and it is never more than ceiling.
func (p Plan) DefaultBodyBytes(ceiling int64) int64 {
	return min(ceiling, p.Capacity/p.Costs.PerBodyByte/2)
}

// MaxBodyAllowed is the largest body one request may send under the plan: one that
// takes the whole Capacity. A larger one could never be read.
func (p Plan) MaxBodyAllowed() int64 { return p.Capacity / p.Costs.PerBodyByte }

// MaxEntriesAllowed is the largest cap on a record's entries the plan can pay for: one
// record of them at the per-entry cost takes the whole Capacity.
func (p Plan) MaxEntriesAllowed() int { return int(p.Capacity / p.Costs.PerEntry) }

// Limiter is the plan's budget for bodies.
func (p Plan) Limiter() (*Limiter, error) { return NewLimiter(p.Capacity, p.Wait, p.Costs) }
