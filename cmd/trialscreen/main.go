// Command trialscreen screens patients for the anti-BCMA CAR-T trial.
//
//	trialscreen screen --bundle FILE [--as-of RFC3339] [--lymphodepletion-date DATE] [--format json|table]
//	trialscreen screen --demo NAME ...
//	trialscreen serve [--listen HOST:PORT] [--metrics-listen HOST:PORT]
//	trialscreen batch --out DIR|- [--resume] [--shard i/n] INPUT... | --ids FILE
//	trialscreen batch merge --out DIR SHARD_DIR...
//	trialscreen protocol check FILE
//	trialscreen db migrate
//	trialscreen audit verify | export [--since RFC3339]
//	trialscreen terminology import-rxnorm RXNCONSO.RRF RXNREL.RRF [-o FILE]
//	trialscreen terminology report [--format table|json] DIR_OR_FILE...
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // --timezone works in a minimal container image too
)

// Exit statuses. A printed verdict document is always 0, whatever the verdict.
const (
	exitOK    = 0
	exitError = 1 // no verdict could be produced: unreadable or invalid input
	exitUsage = 2 // the command line is wrong
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, time.Now, os.Stdout, os.Stderr))
}

// usageError marks a mistake on the command line (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const usage = `usage:
  trialscreen screen --bundle FILE [--as-of RFC3339] [--lymphodepletion-date YYYY-MM-DD] [--format json|table]
  trialscreen screen --demo NAME   (a built-in demo patient; --demo list names them)
  trialscreen screen --patient ID  (from the FHIR server in TRIALSCREEN_FHIR_URL)
  trialscreen serve [--listen HOST:PORT] [--metrics-listen HOST:PORT]
                   (demo patients unless TRIALSCREEN_FHIR_URL is set; /metrics on --metrics-listen only)
  trialscreen batch --out DIR|- [--resume] [--shard i/n|auto/n] [--as-of ...] INPUT...
                   (NDJSON / Bundle files or directories; --ids FILE fetches from the FHIR server)
  trialscreen batch merge --out DIR SHARD_DIR...
  trialscreen protocol check FILE
  trialscreen db migrate           (the store's schema: PostgreSQL at TRIALSCREEN_DATABASE_URL, else
                                    SQLite under TRIALSCREEN_DATA_DIR; serve also migrates at start)
  trialscreen audit verify         (walks the audit records' hash chain in the store; exit 1 if broken)
  trialscreen audit export [--since RFC3339]   (the audit records as FHIR AuditEvent NDJSON)
  trialscreen terminology import-rxnorm RXNCONSO.RRF RXNREL.RRF [-o FILE] [--version NAME] [--rxnsat RXNSAT.RRF]
  trialscreen terminology report [--format table|json] [--protocol FILE] DIR_OR_FILE...
                   (trialscreen terminology help explains both)

A site's terminology (serve, screen, batch, protocol check, terminology report):
  TRIALSCREEN_DRUG_INDEX        a drug table from terminology import-rxnorm, merged over the shipped one
  TRIALSCREEN_SITE_CONCEPTMAPS  FHIR R4 ConceptMap JSON files, comma-separated, or directories of them:
                                the site's local codes -> standard codes
  TRIALSCREEN_SYSTEM_ALIASES    a file of lines "alias-uri canonical-uri" (e.g. the site's URI for its
                                ICD-10 edition -> http://hl7.org/fhir/sid/icd-10)
`

// run is the whole program; main only wires the process to it. now is the clock of
// "as of now" and of the service: tests fix it, so that none depends on the day it runs.
func run(ctx context.Context, args []string, getenv func(string) string, now func() time.Time, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, getenv, now, stdout, stderr)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "trialscreen:", err)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	return exitError
}

func dispatch(ctx context.Context, args []string, getenv func(string) string, now func() time.Time, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("a command is required")
	}
	switch args[0] {
	case "screen":
		return screenCmd(ctx, args[1:], getenv, now, stdout, stderr)
	case "serve":
		return serveCmd(ctx, args[1:], getenv, now, stdout, stderr)
	case "batch":
		return batchCmd(ctx, args[1:], getenv, now, stdout, stderr)
	case "protocol":
		if len(args) < 2 || args[1] != "check" {
			return usagef("protocol: the only subcommand is check")
		}
		return protocolCheckCmd(args[2:], getenv, stdout)
	case "terminology":
		return terminologyCmd(ctx, args[1:], getenv, stdout, stderr)
	case "db":
		return dbCmd(ctx, args[1:], getenv, now, stdout)
	case "audit":
		return auditCmd(ctx, args[1:], getenv, now, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usagef("unknown command %q", args[0])
}
