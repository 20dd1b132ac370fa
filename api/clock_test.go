package api

import (
	"sync/atomic"
	"time"
)

// testNow is when the tests' clocks start: years after the demo patients' instant, so
// that a test passes only where the demo patients are screened as of their own instant
// (as the service does in demo mode), and no test depends on the day it runs.
var testNow = time.Date(2030, 6, 15, 9, 0, 0, 0, time.UTC)

// testClock is the clock of a test Server. It starts at testNow and moves on a
// millisecond at each reading, so that what a test does happens in order (batches
// finish one after another); advance moves it on further.
type testClock struct{ offset atomic.Int64 } // nanoseconds after testNow

func (c *testClock) Now() time.Time {
	return testNow.Add(time.Duration(c.offset.Add(int64(time.Millisecond))))
}

func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// fixedClock is a clock that stands still at t.
func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }
