package batch

import (
	"context"

	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/screening"
)

// Patient is one patient to screen, as an Input yields it.
type Patient struct {
	ID string
	// Load builds the patient's record. Run calls it on a worker goroutine, once.
	Load func(ctx context.Context) (*screening.Record, error)
	// Where is the input the patient came from (file and first line), for problems.
	Where Problem
}

// Env is what Run hands an Input.
type Env struct {
	Protocol *screening.Protocol
	Reader   *fhirbundle.Reader
	// Keep tells whether a patient id is to be screened (its shard, not yet done).
	// Inputs drop the others as early as they can.
	Keep     func(id string) bool
	Report   func(Problem) // never nil
	Progress *Progress     // may be nil
	// TempDir is where temporary sort files go; MemoryBudget bounds what the grouping
	// holds in memory, in bytes.
	TempDir      string
	MemoryBudget int

	cleanups []func()
}

// OnDone registers f to run when the run is over and no Load is running any more:
// what Loads read (temporary files) must outlive Patients, which returns as soon as the
// last patient is handed out.
func (e *Env) OnDone(f func()) { e.cleanups = append(e.cleanups, f) }

func (e *Env) done() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
	e.cleanups = nil
}

// Input yields the patients of a batch in increasing id order (byte order), each once.
// The order is what makes a run's output deterministic, resumable and mergeable.
type Input interface {
	Patients(ctx context.Context, env *Env, yield func(Patient) error) error
}
