package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Cluster is a PostgreSQL cluster of one test's own, which the test may stop and start
// again (a fault drill: the database going away mid-work and coming back). The shared
// Server is never stopped: other tests use it. A Cluster always runs from the
// PostgreSQL binaries (.ci/run installs them); when they are missing the test fails,
// since a drill that skips proves nothing.
type Cluster struct {
	c *cluster
}

// StartCluster starts a cluster on a free loopback port, stopped and removed when the
// test ends.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	c, err := startCluster()
	if err != nil {
		t.Fatalf("pgtest: own cluster: %v", err)
	}
	t.Cleanup(c.stop)
	return &Cluster{c: c}
}

// Database creates a database with a random name on the cluster and returns its URL.
func (c *Cluster) Database(t testing.TB) string {
	t.Helper()
	return createDatabase(t, c.c.url)
}

// Addr is the server's host:port, for a proxy to put itself in front of.
func (c *Cluster) Addr() string {
	u, _ := url.Parse(c.c.url)
	return u.Host
}

// Stop stops the server as an administrator would (pg_ctl stop -m fast): open
// connections are ended, new ones refused, until Start.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	if out, err := c.c.run("pg_ctl", "-D", filepath.Join(c.c.dir, "data"), "-m", "fast", "-w", "stop"); err != nil {
		t.Fatalf("pgtest: pg_ctl stop: %v: %s", err, out)
	}
}

// Start starts the stopped server again, on the same data and port.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	if err := c.c.start(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// createDatabase creates a database with a random name on the server serverURL names
// and returns the new database's URL.
func createDatabase(t testing.TB, serverURL string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "trialscreen_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatalf("pgtest: the server's address is not a URL (%s, or the cluster's)", EnvURL)
	}
	u.Path = "/" + name
	return u.String()
}
