package api

import (
	"fmt"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/screening"
)

// testReport is a cache entry of a given size, so the byte budget is easy to follow.
func testReport(uuid string, size int) *cachedReport {
	return &cachedReport{uuid: uuid, result: &screening.Screening{}, size: size}
}

// The cache keeps an entry for its TTL and no longer, evicts the least recently used
// beyond its entry or byte budget, and never holds an entry bigger than the budget.
func TestReportCache(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	type step struct {
		put     string // uuid to put (size in putSize)
		putSize int
		get     string // uuid to ask for
		advance time.Duration
	}
	tests := []struct {
		name               string
		maxEntries, budget int
		steps              []step
		held, gone         []string
		entries, bytes     int
	}{
		{
			name: "held within its TTL", maxEntries: 10, budget: 1000,
			steps: []step{{put: "a", putSize: 10}, {advance: time.Hour - time.Second}},
			held:  []string{"a"}, entries: 1, bytes: 10,
		},
		{
			name: "gone after its TTL", maxEntries: 10, budget: 1000,
			steps: []step{{put: "a", putSize: 10}, {advance: time.Hour}},
			gone:  []string{"a"}, entries: 0, bytes: 0,
		},
		{
			name: "expired entries leave when others come", maxEntries: 10, budget: 1000,
			steps: []step{{put: "a", putSize: 10}, {put: "b", putSize: 10}, {advance: time.Hour}, {put: "c", putSize: 10}},
			held:  []string{"c"}, entries: 1, bytes: 10,
		},
		{
			name: "entry cap evicts the least recently used", maxEntries: 2, budget: 1000,
			steps: []step{{put: "a", putSize: 10}, {put: "b", putSize: 10}, {get: "a"}, {put: "c", putSize: 10}},
			held:  []string{"a", "c"}, gone: []string{"b"}, entries: 2, bytes: 20,
		},
		{
			name: "byte budget evicts the least recently used", maxEntries: 10, budget: 100,
			steps: []step{{put: "a", putSize: 40}, {put: "b", putSize: 40}, {put: "c", putSize: 40}},
			held:  []string{"b", "c"}, gone: []string{"a"}, entries: 2, bytes: 80,
		},
		{
			name: "an entry over the budget is not kept", maxEntries: 10, budget: 100,
			steps: []step{{put: "a", putSize: 40}, {put: "huge", putSize: 101}},
			held:  []string{"a"}, gone: []string{"huge"}, entries: 1, bytes: 40,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			c := newReportCache(time.Hour, tt.maxEntries, tt.budget, func() time.Time { return now })
			for _, s := range tt.steps {
				now = now.Add(s.advance)
				if s.put != "" {
					c.put(testReport(s.put, s.putSize))
				}
				if s.get != "" {
					if _, ok := c.get(s.get); !ok {
						t.Fatalf("%s not held when asked for", s.get)
					}
				}
			}
			for _, u := range tt.held {
				if r, ok := c.get(u); !ok || r.uuid != u {
					t.Errorf("%s not held", u)
				}
			}
			for _, u := range tt.gone {
				if _, ok := c.get(u); ok {
					t.Errorf("%s still held", u)
				}
			}
			entries, bytes := c.len()
			if entries != tt.entries || bytes != tt.bytes {
				t.Errorf("%d entries, %d bytes; want %d, %d", entries, bytes, tt.entries, tt.bytes)
			}
		})
	}
}

// An entry is charged at least its screening's JSON size, so the byte budget bounds
// what the results hold.
func TestReportCacheChargesJSONSize(t *testing.T) {
	c := newReportCache(time.Hour, 10, 1<<20, fixedClock(testNow))
	res := &screening.Screening{Criteria: make([]screening.Result, 50)}
	for i := range res.Criteria {
		res.Criteria[i].Summary = fmt.Sprintf("criterion %d, with a summary of some length to count", i)
	}
	c.put(&cachedReport{uuid: "a", result: res})
	_, bytes := c.len()
	if bytes < 50*50 {
		t.Errorf("charged %d bytes for 50 criteria of 50-byte summaries", bytes)
	}
}
