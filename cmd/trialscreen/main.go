// Command trialscreen screens patients for the anti-BCMA CAR-T trial.
//
//	trialscreen screen --bundle FILE [--as-of RFC3339] [--lymphodepletion-date DATE] [--format json|table]
//	trialscreen screen --demo NAME ...
//	trialscreen serve [--listen HOST:PORT] [--metrics-listen HOST:PORT]
//	trialscreen cds-demo PATIENT [--url URL]
//	trialscreen batch --out DIR|- [--resume] [--shard i/n] INPUT... | --ids FILE
//	trialscreen batch merge --out DIR SHARD_DIR...
//	trialscreen protocol check FILE
//	trialscreen db migrate
//	trialscreen audit verify | export [--since RFC3339]
//	trialscreen terminology import-rxnorm RXNCONSO.RRF RXNREL.RRF [-o FILE]
//	trialscreen terminology report [--format table|json] DIR_OR_FILE...
//
// Every command's usage and help come from one table (commands.go).
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

// run is the whole program; main only wires the process to it. now is the clock of
// "as of now" and of the service: tests fix it, so that none depends on the day it runs.
func run(ctx context.Context, args []string, getenv func(string) string, now func() time.Time, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, getenv, now, stdout, stderr)
	if err == nil || errors.Is(err, errHelpShown) {
		return exitOK
	}
	fmt.Fprintln(stderr, "trialscreen:", err)
	var ue usageError
	if errors.As(err, &ue) {
		writeUsage(stderr, "")
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
	case "cds-demo":
		return cdsDemoCmd(ctx, args[1:], now, stdout)
	case "protocol":
		if len(args) == 2 && isHelp(args[1]) {
			writeUsage(stdout, "protocol ")
			return nil
		}
		if len(args) < 2 || args[1] != "check" {
			return usagef("protocol: the only subcommand is check")
		}
		return protocolCheckCmd(args[2:], getenv, stdout)
	case "terminology":
		return terminologyCmd(ctx, args[1:], getenv, stdout, stderr)
	case "db":
		if len(args) == 2 && isHelp(args[1]) {
			writeUsage(stdout, "db ")
			return nil
		}
		return dbCmd(ctx, args[1:], getenv, now, stdout)
	case "audit":
		if len(args) == 2 && isHelp(args[1]) {
			writeUsage(stdout, "audit ")
			return nil
		}
		return auditCmd(ctx, args[1:], getenv, now, stdout)
	case "help", "-h", "--help", "-help":
		writeUsage(stdout, "")
		return nil
	}
	return usagef("unknown command %q", args[0])
}
