package batch

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/trialscreen/trialscreen/internal/fhirid"
	"github.com/trialscreen/trialscreen/screening"
)

// IDList is the input of patient ids, one a line ("123" or "Patient/123"; blank lines
// and lines starting with # are skipped), whose records come from a Source such as the
// configured FHIR server. The ids are sorted (externally, like exported files) so that
// the output is in id order; an id listed twice is screened once. Fetches run on Run's
// workers, so Config.Workers bounds how many are in flight.
type IDList struct {
	Path   string // the list file; "-" reads R
	R      io.Reader
	Source screening.Source
	// Timeout bounds one patient's fetch (default 60 s), waits between attempts
	// included; a patient whose fetch fails is reported by the list's file and line and
	// the run goes on.
	Timeout time.Duration
	// RetryWait is the first wait before asking again for a record whose fetch failed
	// transiently (the server unavailable or throttled, or its circuit open), doubling
	// up to 15 s, within Timeout; default 1 s. A batch can wait out a short outage: a
	// patient dropped to problems.txt is one a coordinator never sees screened.
	RetryWait time.Duration
}

func (in IDList) Patients(ctx context.Context, env *Env, yield func(Patient) error) error {
	if in.Source == nil {
		return errors.New("batch: a patient id list needs a record source (a FHIR server)")
	}
	r, name := in.R, in.Path
	if name == "" {
		name = "-"
	}
	if in.Path != "" && in.Path != "-" {
		f, err := os.Open(in.Path)
		if err != nil {
			return fmt.Errorf("batch: patient id list: %w", err)
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			env.Progress.setBytesTotal(st.Size())
		}
		r = f
	}
	if r == nil {
		return errors.New("batch: no patient id list given")
	}
	tmp, err := os.MkdirTemp(env.TempDir, "trialscreen-batch-")
	if err != nil {
		return fmt.Errorf("batch: temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	srt := newSorter(tmp, env.MemoryBudget)
	report := func(line uint64, format string, args ...any) {
		env.Report(Problem{File: name, Line: line, Message: fmt.Sprintf(format, args...)})
	}
	lr := &lineReader{br: bufio.NewReaderSize(&countingReader{r: r, p: env.Progress}, 64<<10), max: 4096}
	var kept int64
	for {
		line, tooLong, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("batch: patient id list line %d: %w", lr.line+1, err)
		}
		id := strings.TrimPrefix(strings.TrimSpace(string(line)), "Patient/")
		switch {
		case tooLong:
			report(lr.line, "too long for a patient id")
			continue
		case id == "" || strings.HasPrefix(id, "#"):
			continue
		case !fhirid.Valid(id):
			// Never fetched: "." or ".." would be cleaned into another request path.
			report(lr.line, "not a patient id (one id a line, e.g. 123 or Patient/123; an id is %s)", fhirid.Rule)
			continue
		case !env.Keep(id):
			continue
		}
		kept++
		if err := srt.Add(&record{key: []byte(id), line: lr.line, kind: kindID}); err != nil {
			return err
		}
	}
	it, err := srt.Finish()
	if err != nil {
		return err
	}
	defer it.Close()
	env.Progress.addSortRuns(srt.Runs())
	env.Progress.setPatientsTotal(kept)
	env.Progress.setPhase(PhaseScreening)
	timeout := in.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	return walkGroups(ctx, it, env.Reader.MaxEntries(), func(g *group) error {
		line := g.ids[0]
		return yield(Patient{ID: g.key, Where: Problem{File: name, Line: line}, Load: func(ctx context.Context) (*screening.Record, error) {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			rec, err := in.fetch(ctx, g.key)
			if errors.Is(err, screening.ErrPatientNotFound) {
				return nil, errors.New("patient not found on the FHIR server")
			}
			return rec, err
		}})
	})
}

const maxRetryWait = 15 * time.Second

// transient is implemented by record-source errors that may pass on their own
// (fhirclient.Error).
type transient interface{ Transient() bool }

// fetch asks the source for a patient's record, and again while the fetch failed
// transiently: the source failed (the server unavailable or throttled, its circuit open)
// or the record lacks a type whose fetch failed so. Waits are jittered and double, until
// ctx ends. Then the latest record with a gap is the answer (its criteria say
// source-error), else the last error, which says how many fetches were made.
func (in IDList) fetch(ctx context.Context, id string) (*screening.Record, error) {
	wait := in.RetryWait
	if wait <= 0 {
		wait = time.Second
	}
	var partial *screening.Record
	for attempt := 1; ; attempt++ {
		rec, err := in.Source.Record(ctx, id)
		var t transient
		switch {
		case err == nil && !transientGap(rec):
			return rec, nil
		case err == nil:
			partial = rec
		case !errors.As(err, &t) || !t.Transient():
			if attempt > 1 {
				err = fmt.Errorf("%w (%d fetches)", err, attempt)
			}
			return nil, err
		}
		// Jitter spreads the workers' next attempts over the wait, so a server coming
		// back is not met by all of them at once.
		select {
		case <-ctx.Done():
		case <-time.After(wait/2 + rand.N(wait/2+1)):
		}
		if ctx.Err() != nil {
			if partial != nil {
				return partial, nil
			}
			return nil, fmt.Errorf("%w (%d fetches; no more time to wait for the server)", err, attempt)
		}
		wait = min(2*wait, maxRetryWait)
	}
}

// transientGap reports whether a type of rec could not be fetched for a reason that may
// pass on its own.
func transientGap(rec *screening.Record) bool {
	for _, st := range rec.Sources {
		if st.State == screening.FetchFailed && st.Transient {
			return true
		}
	}
	return false
}
