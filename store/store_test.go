package store_test

import (
	"os"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/internal/pgtest"
	"github.com/trialscreen/trialscreen/store"
)

var pg = pgtest.NewServer()

func TestMain(m *testing.M) {
	code := m.Run()
	pg.Close()
	os.Exit(code)
}

func TestSQLite(t *testing.T) {
	runSuite(t, func(t *testing.T, now func() time.Time) store.Config {
		return store.Config{DataDir: t.TempDir(), Now: now}
	})
}

func TestPostgres(t *testing.T) {
	runSuite(t, func(t *testing.T, now func() time.Time) store.Config {
		return store.Config{DatabaseURL: pg.Database(t), Now: now}
	})
}
