package store_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/trialscreen/trialscreen/store"
)

// On a PostgreSQL server built with lz4 (Debian's, and most since 14), the verdict
// documents are stored lz4-compressed: pglz cost half of each screening's INSERT.
func TestPostgresDocumentsUseLZ4(t *testing.T) {
	ctx := context.Background()
	url := pg.Database(t)
	s, err := store.Open(ctx, store.Config{DatabaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var lz4 bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals))`).Scan(&lz4); err != nil {
		t.Fatal(err)
	}
	if !lz4 {
		t.Skip("this PostgreSQL server was built without lz4: documents stay pglz-compressed, as the migration intends")
	}
	for _, col := range []struct{ table, column string }{{"screenings", "document"}, {"batch_patients", "document"}} {
		var method string
		if err := conn.QueryRow(ctx, `SELECT attcompression::text FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2`, col.table, col.column).Scan(&method); err != nil {
			t.Fatalf("%s.%s: %v", col.table, col.column, err)
		}
		if method != "l" {
			t.Errorf("%s.%s compression = %q, want l (lz4)", col.table, col.column, method)
		}
	}
}

// Screenings are stored in sessions that do not wait for the WAL flush (the flush was
// most of a screening's INSERT and nearly all of its tail); everything else, review
// decisions and the audit trail among it, commits durably.
func TestPostgresScreeningsCommitWithoutWaitingForTheFlush(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{DatabaseURL: pg.Database(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	main, screenings, err := store.PoolSettings(ctx, s, "synchronous_commit")
	if err != nil {
		t.Fatal(err)
	}
	if main != "on" || screenings != "off" {
		t.Errorf("synchronous_commit: main pool %q, screenings pool %q; want on and off", main, screenings)
	}
}
