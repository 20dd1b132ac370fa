package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/screening"
)

// anyPatientSource answers every id with the demo candidate's record under that id: a
// batch of any size screens real records without a FHIR server.
type anyPatientSource struct{ inner screening.Source }

func (s anyPatientSource) Record(ctx context.Context, id string) (*screening.Record, error) {
	rec, err := s.inner.Record(ctx, "demo-candidate")
	if err != nil {
		return nil, err
	}
	r, p := *rec, *rec.Patient
	p.ID, p.Ref = id, "Patient/"+id
	r.Patient = &p
	return &r, nil
}

// BenchmarkBatchThroughput runs batches of 500 patients to the end (results written)
// in memory and in each store, and reports patients screened per second.
func BenchmarkBatchThroughput(b *testing.B) {
	const size = 500
	ids := make([]string, size)
	for i := range ids {
		ids[i] = fmt.Sprintf("bench-%04d", i)
	}
	list, err := json.Marshal(ids)
	if err != nil {
		b.Fatal(err)
	}
	body := `{"patient_ids": ` + string(list) + `, "as_of": "2026-11-21T00:00:00Z"}`
	backends := map[string]func(b *testing.B) func(*Config){"memory": func(*testing.B) func(*Config) { return nil }}
	for name, url := range storeBackends(b) {
		backends[name] = func(b *testing.B) func(*Config) {
			st := openStore(b, url(b))
			return func(c *Config) { c.Batches, c.BatchPoll = st, 5*time.Millisecond }
		}
	}
	for name, backend := range backends {
		b.Run(name, func(b *testing.B) {
			mod := backend(b)
			env := newRESTEnv(b, func(c *Config) {
				c.Source = anyPatientSource{c.Source}
				if mod != nil {
					mod(c)
				}
			})
			b.Cleanup(func() { _ = env.s.CloseBatches(context.Background()) })
			b.ResetTimer()
			for range b.N {
				rr := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodPost, "/v1/batches", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				env.s.Handler().ServeHTTP(rr, req)
				var st batchStatus
				if err := json.Unmarshal(rr.Body.Bytes(), &st); err != nil || rr.Code != http.StatusAccepted {
					b.Fatalf("create: %d %.300s", rr.Code, rr.Body)
				}
				for st.State != batchDone {
					time.Sleep(2 * time.Millisecond)
					rr = httptest.NewRecorder()
					env.s.Handler().ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/v1/batches/"+st.ID, nil))
					if err := json.Unmarshal(rr.Body.Bytes(), &st); err != nil || st.State == batchFailed || st.State == batchCancelled {
						b.Fatalf("poll: %d %.300s", rr.Code, rr.Body)
					}
				}
				if st.Screened != size {
					b.Fatalf("screened %d of %d", st.Screened, size)
				}
				rr = httptest.NewRecorder()
				env.s.Handler().ServeHTTP(rr, httptest.NewRequest(http.MethodDelete, "/v1/batches/"+st.ID, nil))
			}
			b.ReportMetric(float64(size*b.N)/b.Elapsed().Seconds(), "patients/s")
		})
	}
}
