package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/store"
)

// auditRun runs trialscreen audit ARGS against the SQLite store in dir.
func auditRun(dir string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	env := map[string]string{envDataDir: dir}
	code := run(context.Background(), append([]string{"audit"}, args...), func(k string) string { return env[k] }, testClock, &out, &errOut)
	return code, out.String(), errOut.String()
}

// seedAudit stores n audit records a minute apart from t0 in a SQLite store under dir.
func seedAudit(t *testing.T, dir string, t0 time.Time, n int) {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := 1; i <= n; i++ {
		ev := fmt.Sprintf(`{"resourceType":"AuditEvent","id":"e%d","recorded":"%s"}`, i, t0.Add(time.Duration(i)*time.Minute).Format(time.RFC3339))
		if err := st.AppendAudit(context.Background(), fmt.Sprintf("e%d", i), t0.Add(time.Duration(i)*time.Minute), []byte(ev)); err != nil {
			t.Fatal(err)
		}
	}
}

// audit verify says the chain is intact, then names the first broken seq once a row is
// changed behind the service's back, and exits 1.
func TestAuditVerify(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	seedAudit(t, dir, t0, 4)
	code, out, errOut := auditRun(dir, "verify")
	if code != exitOK || out != "4 audit records: the chain is intact\n" {
		t.Errorf("verify: %d %q %s", code, out, errOut)
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, store.SQLiteFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE audit_events SET event = REPLACE(event, 'AuditEvent', 'Nothing') WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = auditRun(dir, "verify")
	if code != exitError || !strings.Contains(out, "4 audit records: the chain is broken at seq 2:") ||
		!strings.Contains(errOut, "audit verify: the audit chain is broken at seq 2") {
		t.Errorf("verify of a changed row: %d %q %q", code, out, errOut)
	}
}

// audit export prints the AuditEvents as NDJSON, from --since on.
func TestAuditExport(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	seedAudit(t, dir, t0, 3)
	code, out, errOut := auditRun(dir, "export")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != exitOK || len(lines) != 3 || !strings.HasPrefix(lines[0], `{"resourceType":"AuditEvent","id":"e1"`) {
		t.Errorf("export: %d %q %s", code, out, errOut)
	}
	code, out, _ = auditRun(dir, "export", "--since", "2026-12-01T08:02:00Z")
	if code != exitOK || strings.Count(out, "\n") != 2 || !strings.Contains(out, `"id":"e2"`) || strings.Contains(out, `"id":"e1"`) {
		t.Errorf("export --since: %d %q", code, out)
	}
}

// Mistakes are named: a bad --since or subcommand is a usage error, a missing store an
// error naming where it looked (and no empty database is created there).
func TestAuditCommandErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"export", "--since", "yesterday"}, exitUsage, `audit export: --since "yesterday" is not an RFC3339 instant`},
		{[]string{"verify", "--since", "2026-12-01T00:00:00Z"}, exitUsage, "audit verify: flag provided but not defined: -since"},
		{[]string{"rewrite"}, exitUsage, "audit: the subcommands are verify and export"},
		{nil, exitUsage, "audit: the subcommands are verify and export"},
		{[]string{"verify", "extra"}, exitUsage, `audit verify: unexpected argument "extra"`},
		{[]string{"verify"}, exitError, "audit verify: no store at " + filepath.Join(dir, store.SQLiteFile)},
	} {
		code, _, errOut := auditRun(dir, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("audit %v: %d %q; want %d %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
	if code, _, _ := auditRun(dir, "verify"); code != exitError {
		t.Error("a second verify found a store: the first created one")
	}
}
