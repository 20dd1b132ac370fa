// Package pgtest gives tests a real PostgreSQL server on 127.0.0.1 and a fresh database
// per test, so that tests using PostgreSQL can run in parallel.
//
// The server is the one TRIALSCREEN_TEST_DATABASE_URL names (.ci/run starts it). When
// that is unset and CI is set, a test that asks for a database fails: store tests never
// skip in CI. Outside CI the helper starts a throwaway cluster of its own from the
// PostgreSQL binaries (Debian's postgresql-15), as a non-root user when run as root
// (initdb refuses root), in a temporary directory, on a free port.
package pgtest

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// EnvURL names the server tests use when it is set.
const EnvURL = "TRIALSCREEN_TEST_DATABASE_URL"

// Server is a PostgreSQL server for tests, started on first use. Close stops a cluster
// it started (TestMain calls it after the tests).
type Server struct {
	once    sync.Once
	url     string // a database URL of the server (any database)
	cluster *cluster
	err     error
}

// NewServer returns a server that starts (or connects) on the first Database call.
func NewServer() *Server { return &Server{} }

func (s *Server) start() {
	if u := os.Getenv(EnvURL); u != "" {
		s.url = u
		return
	}
	if os.Getenv("CI") != "" {
		s.err = fmt.Errorf("%s is not set, and CI is: .ci/run must start PostgreSQL for the store tests (they never skip in CI)", EnvURL)
		return
	}
	s.cluster, s.err = startCluster()
	if s.err != nil {
		s.err = fmt.Errorf("%w, and %s is not set", s.err, EnvURL)
	}
	if s.err == nil {
		s.url = s.cluster.url
	}
}

// Database creates a database with a random name and returns its URL. It fails the test
// when no server can be had.
func (s *Server) Database(t testing.TB) string {
	t.Helper()
	s.once.Do(s.start)
	if s.err != nil {
		t.Fatalf("pgtest: %v", s.err)
	}
	return createDatabase(t, s.url)
}

// Close stops the cluster this helper started, if any.
func (s *Server) Close() {
	if s.cluster != nil {
		s.cluster.stop()
	}
}
