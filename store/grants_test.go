package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trialscreen/trialscreen/store"
)

// The grants the README gives make audit_events append-only for the service's role:
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
	for _, q := range []string{
		"CREATE ROLE " + role + " LOGIN PASSWORD '" + password + "'",
		// The README's grants:
		"GRANT SELECT, INSERT, UPDATE, DELETE ON screenings, cds_jtis TO " + role,
		"GRANT SELECT, INSERT ON audit_events TO " + role,
		"REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM " + role + ", PUBLIC",
		"GRANT SELECT ON goose_db_version TO " + role,
		// The worklist's table, which the trigger on screenings writes as the caller
		// (migration 00007): the README's list needs this line too.
		"GRANT SELECT, INSERT, UPDATE, DELETE ON patient_worklist TO " + role,
	} {
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
	// Screenings are saved (the trigger keeps the worklist), listed and retired.
	if err := app.Save(ctx, store.Screening{ID: "g1", PatientID: "p1", Created: t0, Verdict: "ineligible", Document: []byte(`{}`)}); err != nil {
		t.Errorf("Save as the service's role: %v", err)
	}
	if p, err := app.Worklist(ctx, store.WorklistQuery{Search: "p", Limit: 10}); err != nil || len(p.Items) != 1 {
		t.Errorf("Worklist as the service's role = %+v, %v", p, err)
	}
	if n, err := app.DeleteScreeningsBefore(ctx, t0.Add(time.Second)); err != nil || n != 1 {
		t.Errorf("DeleteScreeningsBefore as the service's role = %d, %v", n, err)
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
	} {
		if _, err := conn.Exec(ctx, q); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s as the service's role: %v, want permission denied", q, err)
		}
	}
}
