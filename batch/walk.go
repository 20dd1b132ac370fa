package batch

import (
	"context"
	"errors"
	"fmt"

	"github.com/trialscreen/trialscreen/screening"
)

// Walk reads the record of every patient the input yields, in id order, and hands it to
// fn, one patient at a time: it screens nobody. It reads exactly as Run does (NDJSON
// grouped by patient through the external sort, Medications resolved, Bundles one
// patient each), for tools that look at what records hold (trialscreen terminology
// report). cfg's Protocol, Shard, MemoryBudget, TempDir, Report and Progress are used; a
// patient whose record cannot be read is reported and counted Unscreened.
func Walk(ctx context.Context, cfg Config, in Input, fn func(id string, rec *screening.Record) error) (Stats, error) {
	var st Stats
	if cfg.Protocol == nil {
		return st, errors.New("batch: a compiled protocol is required")
	}
	reader, err := cfg.newReader()
	if err != nil {
		return st, err
	}
	env := cfg.env(reader, func() { st.Problems++ })
	defer env.done()
	last := ""
	err = in.Patients(ctx, env, func(p Patient) error {
		if p.ID <= last && last != "" {
			return fmt.Errorf("batch: the input yielded patients out of id order")
		}
		last = p.ID
		if !env.Keep(p.ID) {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := p.Load(ctx)
		if err != nil {
			where := p.Where
			where.Patient, where.Message = true, "not read: "+err.Error()
			env.Report(where)
			st.Unscreened++
			return nil
		}
		st.Screened++
		return fn(p.ID, rec)
	})
	return st, err
}
