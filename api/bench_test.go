package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkCDSPatientView is one patient-view call with full prefetch (the demo
// candidate, 11 KB), handled in-process: JWT check, prefetch read, screening, card. Its
// ns/op is the service's CPU per CDS call, less HTTP transport.
func BenchmarkCDSPatientView(b *testing.B) {
	benchCDSCalls(b, newCDSTestEnv(b, cdsTestConfig{}))
}

// benchCDSCalls sends b.N patient-view calls with full prefetch to env, each with a
// fresh JWT signed before the clock starts (the EHR's work).
func benchCDSCalls(b *testing.B, env *cdsTestEnv) {
	body, err := json.Marshal(cdsHookBody("demo-candidate", cdsDemoPrefetch(b, "candidate")))
	if err != nil {
		b.Fatal(err)
	}
	tokens := make([]string, b.N)
	for i := range tokens {
		tokens[i] = env.key.token(b, nil)
	}
	b.SetBytes(int64(len(body)))
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
}

// BenchmarkRESTScreening is one GET screening of a demo patient from the in-memory demo
// source: the service's CPU per REST screening, less FHIR fetch and HTTP transport.
func BenchmarkRESTScreening(b *testing.B) {
	benchRESTScreenings(b, newRESTEnv(b, nil), nil)
}

// benchRESTScreenings sends b.N GET screenings of a demo patient to env; each answer
// must be a 200 holding want (nil: anything).
func benchRESTScreenings(b *testing.B, env *restEnv, want []byte) {
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		req := httptest.NewRequest(http.MethodGet, "/v1/patients/demo-candidate/screening", nil)
		rr := httptest.NewRecorder()
		env.s.Handler().ServeHTTP(rr, req)
		if rr.Code != http.StatusOK || !bytes.Contains(rr.Body.Bytes(), want) {
			b.Fatalf("status %d: %.300s", rr.Code, rr.Body)
		}
	}
}
