package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trialscreen/trialscreen/store"
)

// The grants docs/operators.md gives make audit_events append-only for the service's role:
// serve starts (the schema is migrated, nothing to apply), appends and verifies, and the
// database refuses that role an UPDATE, DELETE or TRUNCATE of the trail.
func TestPostgresGrantsMakeTheAuditAppendOnly(t *testing.T) {
	ctx := context.Background()
	ownerURL := pg.Database(t)
	owner, err := store.Open(ctx, store.Config{DatabaseURL: ownerURL})
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	var b [4]byte
	_, _ = rand.Read(b[:])
	role, password := "trialscreen_app_"+hex.EncodeToString(b[:]), hex.EncodeToString(b[:])+"-pw"
	admin, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	stmts := []string{"CREATE ROLE " + role + " LOGIN PASSWORD '" + password + "'"}
	for _, g := range documentedGrants(t) {
		stmts = append(stmts, strings.ReplaceAll(g, "trialscreen_app", role))
	}
	for _, q := range stmts {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(ctx, "DROP OWNED BY "+role)
		_, _ = admin.Exec(ctx, "DROP ROLE "+role)
	})
	u, _ := url.Parse(ownerURL)
	u.User = url.UserPassword(role, password)
	app, err := store.Open(ctx, store.Config{DatabaseURL: u.String()})
	if err != nil {
		t.Fatalf("Open as the service's role: %v", err)
	}
	defer app.Close()
	appendN(t, app, 3)
	// The rest of what serve does with its role: screenings, jtis, batches.
	if err := app.Save(ctx, store.Screening{ID: "g1", PatientID: "p1", Created: t0, Surface: "rest", CallerID: "c",
		ProtocolID: "p", ProtocolVersion: "1", AsOf: t0, Verdict: "ineligible", Document: []byte(`{}`)}); err != nil {
		t.Errorf("Save as the service's role: %v", err)
	}
	if _, err := app.Get(ctx, "g1"); err != nil {
		t.Errorf("Get as the service's role: %v", err)
	}
	if p, err := app.Worklist(ctx, store.WorklistQuery{Search: "p", Limit: 10}); err != nil || len(p.Items) != 1 {
		t.Errorf("Worklist as the service's role = %+v, %v", p, err)
	}
	if n, err := app.DeleteScreeningsBefore(ctx, t0.Add(time.Second)); err != nil || n != 1 {
		t.Errorf("DeleteScreeningsBefore as the service's role = %d, %v", n, err)
	}
	if err := app.UseJTI(ctx, "iss", "jti-1", t0.Add(time.Hour)); err != nil {
		t.Errorf("UseJTI as the service's role: %v", err)
	}
	if err := app.CreateBatch(ctx, newBatch("g-batch", "c", "p1", "p2"), 10, 100); err != nil {
		t.Errorf("CreateBatch as the service's role: %v", err)
	}
	if _, _, err := app.ClaimBatchPatient(ctx, "w1", time.Minute); err != nil {
		t.Errorf("ClaimBatchPatient as the service's role: %v", err)
	}
	if c, err := app.VerifyAudit(ctx); err != nil || !c.Intact() || c.Count != 3 {
		t.Errorf("VerifyAudit as the service's role = %+v, %v", c, err)
	}
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		"UPDATE audit_events SET event = '{}' WHERE seq = 2",
		"DELETE FROM audit_events WHERE seq = 3",
		"TRUNCATE audit_events",
		"DELETE FROM goose_db_version",
	} {
		if _, err := conn.Exec(ctx, q); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s as the service's role: %v, want permission denied", q, err)
		}
	}
}

// documentedGrants are the SQL statements of the block docs/operators.md marks as run by
// this test: the page and the test cannot drift apart.
func documentedGrants(t *testing.T) []string {
	t.Helper()
	page, err := os.ReadFile(filepath.Join("..", "docs", "operators.md"))
	if err != nil {
		t.Fatal(err)
	}
	const marker = "<!-- store/grants_test.go runs the statements of the next block, as written -->"
	_, after, ok := strings.Cut(string(page), marker)
	if !ok {
		t.Fatalf("docs/operators.md has no %q", marker)
	}
	_, block, _ := strings.Cut(after, "```sql\n")
	block, _, ok = strings.Cut(block, "```")
	if !ok {
		t.Fatal("docs/operators.md: the grants block after the marker is not closed")
	}
	var out []string
	for _, stmt := range strings.Split(block, ";") {
		if stmt = strings.TrimSpace(stmt); stmt != "" && !strings.HasPrefix(stmt, "--") {
			out = append(out, stmt)
		}
	}
	if len(out) == 0 {
		t.Fatal("docs/operators.md: the grants block is empty")
	}
	return out
}
