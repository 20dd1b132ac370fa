package store

import (
	"database/sql"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// CheckDatabaseURL reports what is wrong with a database URL, without its password.
func CheckDatabaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("is not a URL")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return fmt.Errorf("scheme %q is not postgres or postgresql", u.Scheme)
	}
	if _, err := pgx.ParseConfig(raw); err != nil {
		return fmt.Errorf("is not a PostgreSQL connection URL")
	}
	return nil
}

// RedactURL is the URL for logs: its password replaced, and its query dropped (libpq
// URLs may carry password=, sslpassword= or a key file there).
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	u.RawQuery, u.Fragment = "", ""
	return u.Redacted()
}

// openPostgres opens a pool through pgx's database/sql driver.
func openPostgres(raw string) (*Store, error) {
	if err := CheckDatabaseURL(raw); err != nil {
		return nil, fmt.Errorf("store: postgres: database URL %w", err)
	}
	cfg, err := pgx.ParseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: database URL is not a PostgreSQL connection URL")
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(8)
	where := fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
	return &Store{db: db, screeningsDB: openScreeningsPool(cfg), backend: BackendPostgres, where: where, rebind: dollarPlaceholders}, nil
}

// openScreeningsPool opens the pool that stores screenings, in sessions with
// synchronous_commit off. A screening's INSERT is answered in the request that made it,
// and waiting for the WAL flush was most of its time and nearly all of its tail (here
// 0.5 ms of 0.9 at best, 2-5 ms when the disk was busy). A screening committed this way
// is at once visible to every replica and never half-written; only a crash of the
// PostgreSQL server itself within about 0.6 s (three wal_writer_delay) of the commit can
// lose it, and the verdict can be made again from the record. What people decide or
// what cannot be made again commits durably on the other pool: review decisions,
// sessions, batches, the jti replay set and the audit trail.
func openScreeningsPool(cfg *pgx.ConnConfig) *sql.DB {
	c := cfg.Copy()
	if c.RuntimeParams == nil {
		c.RuntimeParams = map[string]string{}
	}
	c.RuntimeParams["synchronous_commit"] = "off"
	db := stdlib.OpenDB(*c)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(8)
	return db
}

// dollarPlaceholders turns the ? placeholders the queries are written with into
// PostgreSQL's $1, $2, ... (the queries hold no ? in literals).
func dollarPlaceholders(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
