package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/trialscreen/trialscreen/store"
)

// dbCmd runs the store's maintenance commands. Today: migrate, which applies the
// pending schema versions (serve does the same at start, under the same lock) and says
// what it did, for operators who migrate before rolling out.
func dbCmd(ctx context.Context, args []string, getenv func(string) string, now func() time.Time, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "migrate" {
		return usagef("db: the only subcommand is migrate")
	}
	rest, err := commandNamed("db migrate").noFlags(args[1:], stdout)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("db migrate: unexpected argument %q", rest[0])
	}
	cfg, err := storeConfigFromEnv("db migrate", getenv, now)
	if err != nil {
		return err
	}
	st, err := store.OpenUnmigrated(cfg)
	if err != nil {
		return fmt.Errorf("db migrate: %w", err)
	}
	defer st.Close()
	applied, err := st.MigrateReport(ctx)
	if err != nil {
		return fmt.Errorf("db migrate: %w", err)
	}
	for _, m := range applied {
		fmt.Fprintf(stdout, "applied %d %s\n", m.Version, m.Source)
	}
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("db migrate: %w", err)
	}
	fmt.Fprintf(stdout, "%s %s: schema version %d (%d applied now)\n", st.Backend(), st.Where(), v, len(applied))
	return nil
}
