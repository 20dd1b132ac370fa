package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/trialscreen/trialscreen/store"
)

// errAuditBroken is what audit verify gives when the chain is broken (exit 1).
var errAuditBroken = errors.New("the audit chain is broken")

// auditCmd reads the audit trail the service keeps in its store:
//
//	verify              walks the hash chain; exit 0 intact, 1 broken
//	export [--since T]  prints the records as FHIR AuditEvent NDJSON
func auditCmd(ctx context.Context, args []string, getenv func(string) string, now func() time.Time, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "export") {
		return usagef("audit: the subcommands are verify and export")
	}
	sub := args[0]
	var since time.Time
	cmd := commandNamed("audit " + sub)
	fs := cmd.flagSet()
	sinceFlag := ""
	if sub == "export" {
		fs.StringVar(&sinceFlag, "since", "", "only records at or after this instant, RFC3339")
	}
	if err := cmd.parse(fs, args[1:], stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("audit %s: unexpected argument %q", sub, fs.Arg(0))
	}
	if sinceFlag != "" {
		t, err := time.Parse(time.RFC3339, sinceFlag)
		if err != nil {
			return usagef("audit export: --since %q is not an RFC3339 instant (e.g. 2026-12-01T00:00:00Z)", sinceFlag)
		}
		since = t
	}
	st, err := openAuditStore("audit "+sub, getenv, now)
	if err != nil {
		return err
	}
	defer st.Close()
	if sub == "verify" {
		return auditVerify(ctx, st, stdout)
	}
	return auditExport(ctx, st, since, stdout)
}

// openAuditStore opens the store without migrating it: reading the audit trail must not
// change the schema, nor create an empty SQLite database where none is.
func openAuditStore(cmd string, getenv func(string) string, now func() time.Time) (*store.Store, error) {
	cfg, err := storeConfigFromEnv(cmd, getenv, now)
	if err != nil {
		return nil, err
	}
	if cfg.DatabaseURL == "" {
		path := filepath.Join(cfg.DataDir, store.SQLiteFile)
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("%s: no store at %s (%s): set %s or %s", cmd, path, errors.Unwrap(err), envDataDir, envDatabaseURL)
		}
	}
	st, err := store.OpenUnmigrated(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	return st, nil
}

func auditVerify(ctx context.Context, st *store.Store, stdout io.Writer) error {
	c, err := st.VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	if c.Intact() {
		fmt.Fprintf(stdout, "%d audit records: the chain is intact\n", c.Count)
		return nil
	}
	fmt.Fprintf(stdout, "%d audit records: the chain is broken at seq %d: %s\n", c.Count, c.BrokenSeq, c.Reason)
	return fmt.Errorf("audit verify: %w at seq %d", errAuditBroken, c.BrokenSeq)
}

// auditExport writes one AuditEvent per line, as stored (each has its id, so a
// repository that receives it twice can tell).
func auditExport(ctx context.Context, st *store.Store, since time.Time, stdout io.Writer) error {
	w := bufio.NewWriter(stdout)
	err := st.EachAudit(ctx, since, func(r store.AuditRecord) error {
		if _, err := w.Write(r.Event); err != nil {
			return err
		}
		return w.WriteByte('\n')
	})
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	return nil
}
