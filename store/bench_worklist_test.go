package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/store"
)

// worklistBenchPatients is the size the worklist must stay fast at.
const worklistBenchPatients = 100_000

// seedWorklist fills a migrated database with n screened patients, one screening each
// and a second for every fifth, in multi-row INSERTs inside one transaction: the
// trigger builds the worklist as Save would, without 100,000 round trips. Verdicts are
// spread as screening tends to find them (most ineligible); screenings span 90 days
// before t0.
func seedWorklist(b *testing.B, db *sql.DB, dollar bool, n int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	first := []string{"Ada", "Maria", "John", "Wei", "Fatima", "Olga", "Marco", "Anna", "Kofi", "Lena", "Ravi", "Sofia"}
	last := []string{"King", "Martin", "Nguyen", "Okafor", "Schmidt", "Rossi", "Garcia", "Kowalski", "Tanaka", "Silva"}
	verdicts := []string{"ineligible", "ineligible", "ineligible", "insufficient-data", "insufficient-data", "potentially-eligible"}
	const cols = 17
	const perInsert = 500
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	args := make([]any, 0, cols*perInsert)
	flush := func() {
		if len(args) == 0 {
			return
		}
		sb.Reset()
		sb.WriteString(`INSERT INTO screenings (id, patient_id, created_us, surface, caller_id, protocol_id, protocol_version,
			as_of_us, lymphodepletion_date, verdict, document, evidence, patient_name, patient_gender, patient_birth_date,
			to_obtain, review_count) VALUES `)
		for r := 0; r < len(args)/cols; r++ {
			if r > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(")
			for c := range cols {
				if c > 0 {
					sb.WriteString(", ")
				}
				if dollar {
					fmt.Fprintf(&sb, "$%d", r*cols+c+1)
				} else {
					sb.WriteString("?")
				}
			}
			sb.WriteString(")")
		}
		if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			b.Fatal(err)
		}
		args = args[:0]
	}
	obtain := `[{"criterion":"lvef","what":"LVEF by echocardiography within 28 days"},{"criterion":"ecog","what":"ECOG performance status within 14 days"}]`
	screen := func(id, patient string, at time.Time, name string) {
		v := verdicts[rng.IntN(len(verdicts))]
		toObtain := "[]"
		if v == "insufficient-data" {
			toObtain = obtain
		}
		args = append(args, id, patient, at.UnixMicro(), "batch", "bench", "p", "1", at.UnixMicro(), "", v,
			`{"verdict":"`+v+`"}`, "[]", name, "female", "1960-01-01", toObtain, rng.IntN(12))
		if len(args) == cols*perInsert {
			flush()
		}
	}
	span := int64(90 * 24 * time.Hour)
	for i := range n {
		name := first[rng.IntN(len(first))] + " " + last[rng.IntN(len(last))]
		patient := fmt.Sprintf("p%06d", i)
		at := t0.Add(-time.Duration(rng.Int64N(span)))
		screen(fmt.Sprintf("s%06da", i), patient, at, name)
		if i%5 == 0 {
			screen(fmt.Sprintf("s%06db", i), patient, at.Add(time.Duration(rng.Int64N(int64(24*time.Hour)))), name)
		}
	}
	flush()
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// benchWorklist seeds a store and measures the first worklist page (50 patients) under
// each filter.
func benchWorklist(b *testing.B, cfg store.Config, driver, dsn string, dollar bool, analyze string) {
	ctx := context.Background()
	s, err := store.Open(ctx, cfg) // migrates
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	seedWorklist(b, db, dollar, worklistBenchPatients)
	if analyze != "" {
		if _, err := db.ExecContext(ctx, analyze); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded %d patients in %v", worklistBenchPatients, time.Since(start).Round(time.Millisecond))
	for _, f := range []struct {
		name string
		q    store.WorklistQuery
	}{
		{"all", store.WorklistQuery{}},
		{"verdict", store.WorklistQuery{Verdict: store.VerdictPotentiallyEligible}},
		{"waits-for-data", store.WorklistQuery{WaitsForData: true}},
		{"eligible-since-7d", store.WorklistQuery{EligibleSince: t0.AddDate(0, 0, -7)}},
		{"eligible-since-90d", store.WorklistQuery{EligibleSince: t0.AddDate(0, 0, -90)}},
		{"search-name", store.WorklistQuery{Search: "mar"}},
		{"search-id", store.WorklistQuery{Search: "p0123"}},
		{"search-id-everyone", store.WorklistQuery{Search: "p"}},
		{"search-rare", store.WorklistQuery{Search: "fatima ok"}},
		{"eligible-since-7d-and-search", store.WorklistQuery{EligibleSince: t0.AddDate(0, 0, -7), Search: "ada"}},
	} {
		b.Run(f.name, func(b *testing.B) {
			q := f.q
			q.Limit = 50
			var p store.WorklistPage
			for b.Loop() {
				if p, err = s.Worklist(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
			if len(p.Items) == 0 {
				b.Fatalf("%s: an empty first page", f.name)
			}
		})
	}
}

// BenchmarkWorklistSQLite is the first worklist page with 100,000 screened patients in
// SQLite, as it is without statistics (no ANALYZE has run).
func BenchmarkWorklistSQLite(b *testing.B) {
	dir := b.TempDir()
	benchWorklist(b, store.Config{DataDir: dir}, "sqlite3", "file:"+filepath.Join(dir, store.SQLiteFile)+"?_pragma=busy_timeout(5000)", false, "")
}

// BenchmarkWorklistPostgres is the same in PostgreSQL, after the ANALYZE autovacuum
// would run on a table this size.
func BenchmarkWorklistPostgres(b *testing.B) {
	url := pg.Database(b)
	benchWorklist(b, store.Config{DatabaseURL: url}, "pgx", url, true, "ANALYZE")
}
