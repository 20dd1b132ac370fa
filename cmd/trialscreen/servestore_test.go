package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/store"
)

// withDataDir gives a serve test its own data directory (the SQLite store), unless the
// test names one: the default, ./trialscreen-data, would be in the source tree.
func withDataDir(t *testing.T, env map[string]string) map[string]string {
	t.Helper()
	if env[envDataDir] != "" {
		return env
	}
	out := maps.Clone(env)
	if out == nil {
		out = map[string]string{}
	}
	out[envDataDir] = t.TempDir()
	return out
}

// serve keeps its screenings in SQLite under TRIALSCREEN_DATA_DIR by default (demo mode
// included): a screening names its id, reads back by it, and is there after a restart.
func TestServeStoresScreeningsInSQLiteByDefault(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{envDataDir: dir}
	base, logs, _, stop := startServe(t, env)
	code, body := request(t, "GET", base+"/v1/patients/demo-candidate/screening", "", "", "")
	var doc struct {
		ID     string `json:"screening_id"`
		Stored bool   `json:"stored"`
	}
	if err := json.Unmarshal([]byte(body), &doc); code != 200 || err != nil || doc.ID == "" || !doc.Stored {
		t.Fatalf("%d %.300s", code, body)
	}
	if !strings.Contains(logs.String(), `"msg":"store open","backend":"sqlite"`) {
		t.Errorf("the log does not say which store is used:\n%s", logs)
	}
	if _, err := os.Stat(filepath.Join(dir, store.SQLiteFile)); err != nil {
		t.Errorf("no SQLite file under TRIALSCREEN_DATA_DIR: %v", err)
	}
	stop()
	// The screening's audit record went to the store too, flushed at shutdown, chained.
	if code, out, errOut := auditRun(dir, "verify"); code != exitOK || out != "1 audit records: the chain is intact\n" {
		t.Errorf("audit verify after serve: %d %q %s", code, out, errOut)
	}
	base, _, _, _ = startServe(t, env) // a restart serves what it stored before
	if code, body := request(t, "GET", base+"/v1/screenings/"+doc.ID, "", "", ""); code != 200 || !strings.Contains(body, doc.ID) {
		t.Errorf("after a restart, GET /v1/screenings/{id}: %d %.200s", code, body)
	}
}

// A store that cannot be opened at start does not stop the service: screenings are
// answered with "stored": false, the log says why, and the gauge says the store is down.
func TestServeStartsWithoutItsStore(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	base, logs, _, _ := startServe(t, map[string]string{envDataDir: notADir})
	code, body := request(t, "GET", base+"/v1/patients/demo-candidate/screening", "", "", "")
	if code != 200 || !strings.Contains(body, `"stored":false`) || strings.Contains(body, `"screening_id"`) {
		t.Errorf("%d %.300s; want 200, stored false, no screening_id", code, body)
	}
	if !strings.Contains(logs.String(), "store unavailable: screenings are answered but not stored until it opens") {
		t.Errorf("the log does not say the store is unavailable:\n%s", logs)
	}
	_, metrics := get(t, opsBase(t, logs)+"/metrics")
	if !strings.Contains(metrics, "trialscreen_store_up 0") || !strings.Contains(metrics, `trialscreen_store_errors_total{op="save"} 1`) {
		t.Errorf("metrics do not show the store down:\n%s", grepLines(metrics, "trialscreen_store"))
	}
}

// TRIALSCREEN_DATABASE_URL must be a PostgreSQL URL; the error never shows its password.
func TestServeConfigDatabaseURL(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"mysql://u:hunter2@db/x", `TRIALSCREEN_DATABASE_URL: scheme "mysql" is not postgres or postgresql`},
		{"postgres://u:hunter2@db:notaport/x", `TRIALSCREEN_DATABASE_URL: is not a`},
	} {
		_, err := readServeConfig(func(k string) string { return map[string]string{envDatabaseURL: tc.url}[k] })
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: %v; want %q, without the password", tc.url, err, tc.want)
		}
	}
	c, err := readServeConfig(func(k string) string {
		return map[string]string{envDatabaseURL: "postgresql://u:p@db.example.org:5432/trialscreen"}[k]
	})
	if err != nil || c.databaseURL == "" {
		t.Errorf("a PostgreSQL URL: %v", err)
	}
}

// trialscreen db migrate applies the schema once and says so; a second run applies
// nothing. A bad URL is an error naming the variable.
func TestDBMigrate(t *testing.T) {
	dir := t.TempDir()
	migrate := func(env map[string]string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"db", "migrate"}, func(k string) string { return env[k] }, testClock, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, out, errOut := migrate(map[string]string{envDataDir: dir})
	if code != exitOK || !strings.Contains(out, "applied 1 00001_screenings.sql") || !strings.Contains(out, "schema version 6 (6 applied now)") {
		t.Errorf("first migrate: %d\n%s%s", code, out, errOut)
	}
	code, out, _ = migrate(map[string]string{envDataDir: dir})
	if code != exitOK || !strings.Contains(out, "schema version 6 (0 applied now)") {
		t.Errorf("second migrate: %d\n%s", code, out)
	}
	code, _, errOut = migrate(map[string]string{envDatabaseURL: "http://db/x"})
	if code != exitError || !strings.Contains(errOut, `TRIALSCREEN_DATABASE_URL: scheme "http" is not postgres or postgresql`) {
		t.Errorf("bad URL: %d %s", code, errOut)
	}
	var errs bytes.Buffer
	if code := run(context.Background(), []string{"db", "upgrade"}, func(string) string { return "" }, testClock, &bytes.Buffer{}, &errs); code != exitUsage || !strings.Contains(errs.String(), "db: the only subcommand is migrate") {
		t.Errorf("db upgrade: %d %s", code, errs.String())
	}
}
