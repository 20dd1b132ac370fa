package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/screening"
)

// DefaultMemoryBudget is what the grouping holds in memory unless told otherwise.
const DefaultMemoryBudget = 64 << 20

// Config is one batch run.
type Config struct {
	Protocol *screening.Protocol
	Settings screening.Settings
	// Workers screen (and, for an id list, fetch) patients in parallel; default GOMAXPROCS.
	Workers int
	// MemoryBudget bounds the grouping's memory in bytes (default DefaultMemoryBudget);
	// TempDir is where its sort runs go (default the system's).
	MemoryBudget int
	TempDir      string
	Shard        Shard
	// MaxEntries caps one patient's record: the entries of a Bundle file, the resources
	// of one patient in an export (default fhirbundle.DefaultMaxEntries). A record over
	// it is reported and not screened: reading it could exhaust the memory.
	MaxEntries int
	// After resumes a run: patients with ids up to and including After (byte order) were
	// screened already and are skipped.
	After string
	// Report receives every problem as it is found; nil drops them (Stats counts them).
	Report   func(Problem)
	Progress *Progress // nil: none
}

// Result is one patient's verdict.
type Result struct {
	PatientID string
	Screening *screening.Screening
	// JSON is the verdict document exactly as the REST API returns it, without the
	// trailing newline.
	JSON []byte
}

// Sink receives the results of a run, in patient id order, from one goroutine.
type Sink interface {
	Put(r *Result) error
}

// Stats counts what a run did.
type Stats struct {
	Screened   int64 // verdict documents produced
	Unscreened int64 // patients reported and not screened
	Problems   int64 // every problem reported, lines and patients
}

// newReader is the Bundle reader of cfg's protocol, with its cap on a record's entries.
func (cfg Config) newReader() (*fhirbundle.Reader, error) {
	n := cfg.MaxEntries
	if n <= 0 {
		n = fhirbundle.DefaultMaxEntries
	}
	return fhirbundle.NewReader(cfg.Protocol, fhirbundle.MaxEntries(n))
}

// env is what reading an input for cfg needs: the protocol and its reader, which patients
// to keep, where problems go (counted by counted first) and the spill budget. Run and
// Walk read alike through it.
func (cfg Config) env(reader *fhirbundle.Reader, counted func()) *Env {
	env := &Env{
		Protocol: cfg.Protocol,
		Reader:   reader,
		Keep:     func(id string) bool { return id > cfg.After && cfg.Shard.Keeps(id) },
		Report: func(p Problem) {
			counted()
			if cfg.Report != nil {
				cfg.Report(p)
			}
		},
		Progress:     cfg.Progress,
		TempDir:      cfg.TempDir,
		MemoryBudget: cfg.MemoryBudget,
	}
	if env.MemoryBudget <= 0 {
		env.MemoryBudget = DefaultMemoryBudget
	}
	return env
}

// Run screens every patient the input yields and hands the results to sink in patient
// id order. A patient that cannot be read or fetched is reported and the run goes on;
// the returned error is fatal (the input or the sink failed, or ctx ended), and what
// sink received before it is a complete prefix of the full run's output.
func Run(ctx context.Context, cfg Config, in Input, sink Sink) (Stats, error) {
	var st Stats
	if cfg.Protocol == nil {
		return st, errors.New("batch: a compiled protocol is required")
	}
	reader, err := cfg.newReader()
	if err != nil {
		return st, err
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var problems atomic.Int64
	env := cfg.env(reader, func() {
		problems.Add(1)
		cfg.Progress.problem()
	})
	cfg.Progress.setPhase(PhaseReading)

	type outcome struct {
		res   *Result
		err   error
		where Problem
	}
	type job struct {
		p  Patient
		ch chan outcome
	}
	g, gctx := errgroup.WithContext(ctx)
	jobs := make(chan job)
	order := make(chan chan outcome, 4*workers) // bounds the patients in flight

	g.Go(func() error { // the producer: input order is output order
		defer close(order)
		defer close(jobs)
		last := ""
		return in.Patients(gctx, env, func(p Patient) error {
			if p.ID <= last || !env.Keep(p.ID) {
				if p.ID <= last {
					return fmt.Errorf("batch: the input yielded patients out of id order")
				}
				return nil
			}
			last = p.ID
			ch := make(chan outcome, 1)
			select {
			case order <- ch:
			case <-gctx.Done():
				return gctx.Err()
			}
			select {
			case jobs <- job{p, ch}:
				return nil
			case <-gctx.Done():
				ch <- outcome{err: gctx.Err()}
				return gctx.Err()
			}
		})
	})
	for range workers {
		g.Go(func() error {
			for j := range jobs {
				res, err := screenOne(gctx, cfg, j.p)
				j.ch <- outcome{res: res, err: err, where: j.p.Where}
			}
			return nil
		})
	}
	g.Go(func() error { // the committer
		for ch := range order {
			o := <-ch
			if err := gctx.Err(); err != nil {
				return err
			}
			if o.err != nil {
				p := o.where
				p.Patient, p.Message = true, "not screened: "+o.err.Error()
				env.Report(p)
				st.Unscreened++
				cfg.Progress.patientDone()
				continue
			}
			if err := sink.Put(o.res); err != nil {
				return err
			}
			st.Screened++
			cfg.Progress.patientDone()
		}
		return nil
	})
	err = g.Wait()
	env.done()
	st.Problems = problems.Load()
	if err == nil {
		cfg.Progress.setPhase(PhaseDone)
	}
	if ctx.Err() != nil {
		return st, ctx.Err()
	}
	return st, err
}

// screenOne reads and screens one patient. A panic is the patient's problem, not the
// run's: one odd record must not lose the rest of a long batch.
func screenOne(ctx context.Context, cfg Config, p Patient) (res *Result, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	defer func() {
		if v := recover(); v != nil {
			res, err = nil, fmt.Errorf("internal error: %v", v)
		}
	}()
	rec, err := p.Load(ctx)
	if err != nil {
		return nil, err
	}
	// The run's as-of before this patient's birth: no verdict means anything.
	if err := screening.CheckBirth(rec, cfg.Settings); err != nil {
		return nil, fmt.Errorf("as-of %w", err)
	}
	s := cfg.Protocol.Evaluate(rec, cfg.Settings)
	if s.Patient.ID != p.ID {
		return nil, errors.New("the record read is not this patient's (its Patient id differs)")
	}
	// json.Marshal escapes HTML characters as Echo's c.JSON does, so that a line is
	// byte for byte the REST API's body for the patient.
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("batch: encoding the verdict document: %w", err)
	}
	return &Result{PatientID: p.ID, Screening: s, JSON: b}, nil
}
