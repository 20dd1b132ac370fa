package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

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
			env := newRESTEnv(b, withStore(openStore(b, url(b))))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				req := httptest.NewRequest(http.MethodGet, "/v1/patients/demo-candidate/screening", nil)
				rr := httptest.NewRecorder()
				env.s.Handler().ServeHTTP(rr, req)
				if rr.Code != http.StatusOK || !bytes.Contains(rr.Body.Bytes(), []byte(`"stored":true`)) {
					b.Fatalf("status %d: %.300s", rr.Code, rr.Body)
				}
			}
		})
	}
}

// BenchmarkCDSPatientViewStored is BenchmarkCDSPatientView with the screening stored
// and the jti recorded in the store.
func BenchmarkCDSPatientViewStored(b *testing.B) {
	for name, url := range storeBackends(b) {
		b.Run(name, func(b *testing.B) {
			env := newCDSTestEnv(b, cdsTestConfig{mod: withStore(openStore(b, url(b)))})
			body, err := json.Marshal(cdsHookBody("demo-candidate", cdsDemoPrefetch(b, "candidate")))
			if err != nil {
				b.Fatal(err)
			}
			tokens := make([]string, b.N)
			for i := range tokens {
				tokens[i] = env.key.token(b, nil)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				req := httptest.NewRequest(http.MethodPost, cdsTestPath, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+tokens[i])
				rr := httptest.NewRecorder()
				env.h.ServeHTTP(rr, req)
				if rr.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rr.Code, rr.Body)
				}
			}
		})
	}
}
