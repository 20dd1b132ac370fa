package api

import (
	"net/http"
	"testing"
)

// One caller holds at most MaxBatchesPerCaller batches: at the limit its own oldest
// finished batch makes room; with none finished a new one is a 429 naming the limit,
// without Retry-After (when a running batch ends cannot be told). Other callers are
// not affected.
func TestBatchPerCallerLimit(t *testing.T) {
	tokens, err := NewStaticTokens(map[string]string{"portal-a": "token-a-0000000000001", "portal-b": "token-b-0000000000002"})
	if err != nil {
		t.Fatal(err)
	}
	gate := newGateSource(t)
	env := newBatchEnv(t, func(c *Config) { c.Auth, c.Source, c.MaxBatchesPerCaller = tokens, gate, 2 })
	a := []string{"Authorization", "Bearer token-a-0000000000001"}
	b := []string{"Authorization", "Bearer token-b-0000000000002"}
	body := `{"patient_ids": ["demo-candidate"]}`

	a1 := createBatch(t, env, body, a...)
	a2 := createBatch(t, env, body, a...)
	rec := env.postBatch(t, body, a...)
	wantProblem(t, rec, Problem{Title: "Too Many Requests", Status: 429,
		Detail: "this caller already has 2 unfinished batches, the most the service holds for one caller (limit 2); wait for one to finish or cancel one"})
	if ra := rec.Header().Get("Retry-After"); ra != "" {
		t.Errorf("Retry-After %q on the per-caller 429, want none", ra)
	}
	b1 := createBatch(t, env, body, b...) // another caller still gets a batch

	// A cancelled batch is finished: it makes room for its caller's next one.
	if st := batchOf(t, env.do(t, http.MethodDelete, "/v1/batches/"+a1.ID, nil, a...), http.StatusOK); st.State != batchCancelled {
		t.Fatalf("DELETE: state %s, want cancelled", st.State)
	}
	a3 := createBatch(t, env, body, a...)
	wantProblem(t, env.do(t, http.MethodGet, "/v1/batches/"+a1.ID, nil, a...),
		Problem{Title: "Not Found", Status: 404, Detail: "no such batch (it may have expired or been deleted)"})

	gate.open()
	first, second := waitBatch(t, env, a2.ID, batchDone, a...), waitBatch(t, env, a3.ID, batchDone, a...)
	if second.Finished.Before(*first.Finished) || second.Finished.Equal(*first.Finished) && second.Created.Before(first.Created) {
		first, second = second, first
	}
	waitBatch(t, env, b1.ID, batchDone, b...)
	// The caller's own oldest finished batch makes room; another caller's is kept.
	createBatch(t, env, body, a...)
	wantProblem(t, env.do(t, http.MethodGet, "/v1/batches/"+first.ID, nil, a...),
		Problem{Title: "Not Found", Status: 404, Detail: "no such batch (it may have expired or been deleted)"})
	batchOf(t, env.do(t, http.MethodGet, "/v1/batches/"+second.ID, nil, a...), http.StatusOK)
	batchOf(t, env.do(t, http.MethodGet, "/v1/batches/"+b1.ID, nil, b...), http.StatusOK)
}

// Without MaxBatchesPerCaller a caller holds at most 10 batches.
func TestBatchPerCallerLimitDefault(t *testing.T) {
	cases := []struct {
		name  string
		limit int // Config.MaxBatchesPerCaller
	}{
		{"unset", 0},
		{"negative", -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gate := newGateSource(t)
			env := newBatchEnv(t, func(c *Config) { c.Source, c.MaxBatchesPerCaller = gate, tc.limit })
			body := `{"patient_ids": ["demo-candidate"]}`
			for range 10 {
				createBatch(t, env, body)
			}
			wantProblem(t, env.postBatch(t, body), Problem{Title: "Too Many Requests", Status: 429,
				Detail: "this caller already has 10 unfinished batches, the most the service holds for one caller (limit 10); wait for one to finish or cancel one"})
		})
	}
}
