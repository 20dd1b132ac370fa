package api

import "testing"

// storeBackends are the stores the stored-screening benchmarks run on: SQLite in a
// temporary directory, and a fresh database on the tests' PostgreSQL (over loopback).
func storeBackends(b *testing.B) map[string]func(b *testing.B) string {
	return map[string]func(b *testing.B) string{
		"sqlite":   func(*testing.B) string { return "" },
		"postgres": func(b *testing.B) string { return pg.Database(b) },
	}
}

// BenchmarkRESTScreeningStored is BenchmarkRESTScreening with every screening stored:
// the difference is what the store adds to a REST screening's own time.
func BenchmarkRESTScreeningStored(b *testing.B) {
	for name, url := range storeBackends(b) {
		b.Run(name, func(b *testing.B) {
			benchRESTScreenings(b, newRESTEnv(b, withStore(openStore(b, url(b)))), []byte(`"stored":true`))
		})
	}
}

// BenchmarkCDSPatientViewStored is BenchmarkCDSPatientView with the screening stored
// and the jti recorded in the store.
func BenchmarkCDSPatientViewStored(b *testing.B) {
	for name, url := range storeBackends(b) {
		b.Run(name, func(b *testing.B) {
			benchCDSCalls(b, newCDSTestEnv(b, cdsTestConfig{mod: withStore(openStore(b, url(b)))}))
		})
	}
}
