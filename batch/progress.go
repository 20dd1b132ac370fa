package batch

import "sync/atomic"

// Phases of a run, in order.
const (
	PhaseReading   = "reading"   // the input is read and grouped by patient
	PhaseScreening = "screening" // patients are screened
	PhaseDone      = "done"
)

// Progress is a run's counters, updated as it goes and safe to read at any time from
// another goroutine (a progress bar, a status endpoint).
type Progress struct {
	phase         atomic.Value // string
	bytesRead     atomic.Int64
	bytesTotal    atomic.Int64
	patientsDone  atomic.Int64
	patientsTotal atomic.Int64 // an estimate; -1 while unknown
	problems      atomic.Int64
	sortRuns      atomic.Int64
}

// NewProgress returns counters in the reading phase.
func NewProgress() *Progress {
	p := &Progress{}
	p.phase.Store(PhaseReading)
	p.patientsTotal.Store(-1)
	return p
}

// Snapshot is a copy of the counters at one moment.
type Snapshot struct {
	Phase         string `json:"phase"`
	BytesRead     int64  `json:"bytes_read"`
	BytesTotal    int64  `json:"bytes_total"`
	PatientsDone  int64  `json:"patients_done"`
	PatientsTotal int64  `json:"patients_total"` // -1 while unknown; an estimate
	Problems      int64  `json:"problems"`
	// SortRuns is how many sorted runs the grouping wrote to disk: 0 when the input
	// fitted the memory budget.
	SortRuns int64 `json:"sort_runs"`
}

// Snapshot reads the counters; nil reads as zero.
func (p *Progress) Snapshot() Snapshot {
	if p == nil {
		return Snapshot{}
	}
	ph, _ := p.phase.Load().(string)
	return Snapshot{Phase: ph, BytesRead: p.bytesRead.Load(), BytesTotal: p.bytesTotal.Load(),
		PatientsDone: p.patientsDone.Load(), PatientsTotal: p.patientsTotal.Load(), Problems: p.problems.Load(), SortRuns: p.sortRuns.Load()}
}

// The setters accept a nil Progress, so that runs without one need no checks.

func (p *Progress) setPhase(s string) {
	if p != nil {
		p.phase.Store(s)
	}
}

func (p *Progress) addBytes(n int64) {
	if p != nil {
		p.bytesRead.Add(n)
	}
}

func (p *Progress) setBytesTotal(n int64) {
	if p != nil {
		p.bytesTotal.Store(n)
	}
}

func (p *Progress) setPatientsTotal(n int64) {
	if p != nil {
		p.patientsTotal.Store(n)
	}
}

func (p *Progress) patientDone() {
	if p != nil {
		p.patientsDone.Add(1)
	}
}

func (p *Progress) problem() {
	if p != nil {
		p.problems.Add(1)
	}
}

func (p *Progress) addSortRuns(n int) {
	if p != nil {
		p.sortRuns.Add(int64(n))
	}
}
