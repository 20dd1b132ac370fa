package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/trialscreen/trialscreen/batch"
	"github.com/trialscreen/trialscreen/funnel"
)

// maxProblemsShown is how many input problems are printed on stderr when they are
// also written to problems.txt.
const maxProblemsShown = 20

type batchFlags struct {
	out, ids, shard, protocol, tmp string
	export, exportDir              string
	asOf, ld, tz                   string
	resume                         bool
	workers, memoryMB              int
	logEvery                       time.Duration
}

func batchCmd(ctx context.Context, args []string, getenv func(string) string, now func() time.Time, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "merge" {
		return batchMergeCmd(args[1:], stdout)
	}
	var f batchFlags
	cmd := commandNamed("batch")
	fs := cmd.flagSet()
	fs.StringVar(&f.out, "out", "", "output directory (results.ndjson, summary.csv, funnel.json, funnel.html), or - for NDJSON on stdout")
	fs.StringVar(&f.ids, "ids", "", "a file of patient ids, one a line, fetched from TRIALSCREEN_FHIR_URL (- for stdin)")
	fs.StringVar(&f.export, "export", "", "run a FHIR Bulk Data export of TRIALSCREEN_FHIR_URL first: Group/ID, Patient or system")
	fs.StringVar(&f.exportDir, "export-dir", "", "where the export's NDJSON files go (default: --out/export)")
	fs.BoolVar(&f.resume, "resume", false, "continue the interrupted run in --out")
	fs.StringVar(&f.shard, "shard", "", "screen only shard i of n (i/n), or auto/n with i from "+batch.EnvJobIndex)
	fs.StringVar(&f.protocol, "protocol", "", "a protocol file (default: the built-in protocol)")
	fs.StringVar(&f.asOf, "as-of", "", "evaluation instant, RFC3339 (default: now; on --resume, the run's)")
	fs.StringVar(&f.ld, "lymphodepletion-date", "", "planned lymphodepletion date, YYYY-MM-DD")
	fs.StringVar(&f.tz, "timezone", "UTC", "IANA time zone for calendar dates")
	fs.IntVar(&f.workers, "workers", 0, "patients screened (or fetched) at once (default: CPUs; 8 with --ids)")
	fs.IntVar(&f.memoryMB, "memory", batch.DefaultMemoryBudget>>20, "MiB the grouping of NDJSON by patient may hold in memory")
	fs.StringVar(&f.tmp, "tmp", "", "directory for temporary sort files (default: the system's)")
	fs.DurationVar(&f.logEvery, "log-every", 10*time.Second, "progress log interval when stderr is not a terminal")
	if err := cmd.parse(fs, args, stdout); err != nil {
		return err
	}
	inputs := fs.Args()
	switch {
	case f.out == "":
		return usagef("batch: --out DIR (or --out - for stdout) is required")
	case f.ids == "" && f.export == "" && len(inputs) == 0:
		return usagef("batch: give NDJSON or Bundle files or directories, --ids FILE or --export TARGET")
	case (f.ids != "") && (len(inputs) > 0 || f.export != "") || f.export != "" && len(inputs) > 0:
		return usagef("batch: give one of input files, --ids or --export")
	case f.export != "" && f.exportDir == "" && f.out == "-":
		return usagef("batch: --export with --out - needs --export-dir")
	case f.resume && f.out == "-":
		return usagef("batch: --resume needs an output directory, not stdout")
	case f.memoryMB < 1:
		return usagef("batch: --memory must be at least 1 (MiB)")
	case f.workers < 0:
		return usagef("batch: --workers must be positive")
	}
	shard, err := batch.ParseShard(f.shard, getenv)
	if err != nil {
		return usagef("batch: --%v", err)
	}
	if f.resume && f.asOf == "" {
		// A resumed run screens as of the same instant as the rest of its results.
		if m, err := batch.ReadManifest(f.out); err == nil {
			f.asOf = m.AsOf.Format(time.RFC3339Nano)
		}
	}
	settings, err := (screenFlags{asOf: f.asOf, ld: f.ld, tz: f.tz}).settings(now())
	if err != nil {
		return usagef("batch: %s", strings.TrimPrefix(err.Error(), "screen: "))
	}
	if f.asOf == "" {
		settings.AsOf = settings.AsOf.Truncate(time.Second)
	}
	site, err := readSiteTerms(getenv)
	if err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	fmt.Fprintln(stderr, "trialscreen batch:", site.summaryLine())
	proto, err := loadProtocol(f.protocol, site)
	if err != nil {
		return err
	}
	maxEntries, err := cliMaxEntries(getenv)
	if err != nil {
		return err
	}
	cfg := batch.Config{Protocol: proto, Settings: settings, Workers: f.workers, MemoryBudget: f.memoryMB << 20, TempDir: f.tmp, Shard: shard, Progress: batch.NewProgress(),
		MaxEntries: maxEntries}
	var in batch.Input
	manifestInputs := inputs
	if f.ids != "" {
		src, _, closeIdle, err := fhirSource(getenv, proto, nil, cliFHIRLimits(maxEntries))
		if err != nil {
			return usagef("batch: --ids %s", strings.TrimPrefix(err.Error(), "screen: "))
		}
		defer closeIdle()
		in = batch.IDList{Path: f.ids, R: os.Stdin, Source: src, Timeout: fetchTimeout}
		manifestInputs = []string{"ids:" + f.ids}
		if cfg.Workers == 0 {
			cfg.Workers = 8 // fetches wait on the server, not the CPU
		}
	} else if f.export != "" {
		req, err := exportRequest(f.export, proto)
		if err != nil {
			return err
		}
		_, client, closeIdle, err := fhirSource(getenv, proto, nil, cliFHIRLimits(maxEntries))
		if err != nil {
			return usagef("batch: --export %s", strings.TrimPrefix(err.Error(), "screen: "))
		}
		defer closeIdle()
		dir := f.exportDir
		if dir == "" {
			dir = filepath.Join(f.out, "export")
		}
		paths, err := runExport(ctx, client, req, dir, f.resume, stderr)
		if err != nil {
			return err
		}
		in = batch.Files{Paths: paths}
		manifestInputs = []string{"export:" + f.export}
	} else {
		in = batch.Files{Paths: inputs}
	}
	limitMemory(cfg.MemoryBudget)
	return runBatch(ctx, f, cfg, in, manifestInputs, stdout, stderr)
}

// limitMemory sets a soft memory limit, unless GOMEMLIMIT sets one, so that the garbage
// collector keeps the heap near what the run needs (the grouping's budget and the
// patients in flight) rather than letting it double between collections.
func limitMemory(budget int) {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(budget) + 160<<20)
	}
}

func runBatch(ctx context.Context, f batchFlags, cfg batch.Config, in batch.Input, inputs []string, stdout, stderr io.Writer) error {
	var sink batch.Sink
	var dir *batch.Dir
	var live *funnel.Funnel
	var problemsFile *os.File
	if f.out == "-" {
		live = funnel.New(cfg.Protocol)
		sink = &batch.Stream{W: stdout, Funnel: live}
	} else {
		var err error
		if dir, err = batch.OpenDir(f.out, batch.NewManifest(cfg, inputs), f.resume); err != nil {
			return err
		}
		cfg.After = dir.After()
		sink = dir
		mode := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
		if f.resume {
			mode = os.O_CREATE | os.O_WRONLY | os.O_APPEND
		}
		if problemsFile, err = os.OpenFile(filepath.Join(f.out, batch.ProblemsFile), mode, 0o644); err != nil {
			dir.Close()
			return fmt.Errorf("batch: %w", err)
		}
		defer problemsFile.Close()
	}
	disp := batch.NewDisplay(stderr, cfg.Progress, isTerminal(stderr), f.logEvery)
	var mu sync.Mutex
	shown := 0
	cfg.Report = func(p batch.Problem) {
		mu.Lock()
		defer mu.Unlock()
		if problemsFile != nil {
			fmt.Fprintln(problemsFile, p.String())
		}
		if problemsFile == nil || shown < maxProblemsShown {
			disp.Printf("trialscreen: batch: %s", p)
		}
		shown++
	}
	start := time.Now()
	st, err := batch.Run(ctx, cfg, in, sink)
	disp.Stop()
	if dir != nil {
		if cerr := dir.Close(); err == nil {
			err = cerr
		}
	}
	if errors.Is(err, context.Canceled) && f.out != "-" {
		return fmt.Errorf("batch: interrupted after %d patients; continue with the same command and --resume", st.Screened)
	}
	if err != nil {
		return err
	}
	fn := live
	if dir != nil {
		if fn, err = batch.Finish(f.out, cfg.Protocol); err != nil {
			return err
		}
	}
	table := stdout
	if f.out == "-" {
		table = stderr // stdout holds only the verdict documents
	}
	if err := fn.WriteTable(table); err != nil {
		return err
	}
	rate := float64(st.Screened) / time.Since(start).Seconds()
	msg := fmt.Sprintf("batch: %d patients screened (%.0f/s), %d not screened, %d input problems", st.Screened, rate, st.Unscreened, st.Problems)
	if dir != nil {
		msg += "; results in " + f.out
		if st.Problems > maxProblemsShown {
			msg += ", every problem in " + filepath.Join(f.out, batch.ProblemsFile)
		}
	}
	fmt.Fprintln(stderr, msg)
	return nil
}

// batchMergeCmd merges shard output directories into one.
func batchMergeCmd(args []string, stdout io.Writer) error {
	var out, protocol string
	cmd := commandNamed("batch merge")
	fs := cmd.flagSet()
	fs.StringVar(&out, "out", "", "the merged output directory")
	fs.StringVar(&protocol, "protocol", "", "a protocol file (default: the built-in protocol)")
	if err := cmd.parse(fs, args, stdout); err != nil {
		return err
	}
	if out == "" || fs.NArg() == 0 {
		return usagef("batch merge: --out DIR and the shards' output directories are required")
	}
	// Merging reads the shards' verdict documents and screens nobody: the site's
	// vocabulary plays no part, so it is not loaded.
	proto, err := loadProtocol(protocol, nil)
	if err != nil {
		return err
	}
	fn, err := batch.MergeDirs(out, fs.Args(), proto)
	if err != nil {
		return err
	}
	return fn.WriteTable(stdout)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
