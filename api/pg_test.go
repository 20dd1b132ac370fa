package api

import (
	"os"
	"testing"

	"github.com/trialscreen/trialscreen/internal/pgtest"
)

// pg is the PostgreSQL server of the tests that share a database between two Servers:
// started on first use (or TRIALSCREEN_TEST_DATABASE_URL's), stopped after the tests.
var pg = pgtest.NewServer()

func TestMain(m *testing.M) {
	code := m.Run()
	pg.Close()
	os.Exit(code)
}
