package fhirbundle_test

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/internal/bigrecord"
	"github.com/trialscreen/trialscreen/protocols"
	"github.com/trialscreen/trialscreen/screening"
)

// BenchmarkEntryCost is what one entry costs to read (and to screen), by kind of entry:
// a Synthea record grown to 20,000 entries with copies of its Observations, and the same
// record padded with 20,000 empty entries or 20,000 entries whose resource is a number
// (each one unreadable). B/entry is the heap allocated per entry; the entry caps and the
// memory budget of the service (internal/bodymem) are sized from these figures.
func BenchmarkEntryCost(b *testing.B) {
	const n = 20_000
	base, err := os.ReadFile(filepath.Join(syntheaDir, "13-malcolm-dach.json"))
	if err != nil {
		b.Fatal(err)
	}
	grown, _, err := bigrecord.Grow(base, func(t string) bool { return t == "Observation" }, n, 0)
	if err != nil {
		b.Fatal(err)
	}
	empty, err := bigrecord.Pad(base, "{}", n)
	if err != nil {
		b.Fatal(err)
	}
	unreadable, err := bigrecord.Pad(base, `{"resource":1}`, n)
	if err != nil {
		b.Fatal(err)
	}
	r, _ := realReader(b)
	p, err := protocols.LoadDefault()
	if err != nil {
		b.Fatal(err)
	}
	settings := screening.Settings{AsOf: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
	for _, input := range []struct {
		name string
		data []byte
	}{{"observations", grown}, {"empty", empty}, {"unreadable", unreadable}} {
		for _, screen := range []bool{false, true} {
			name := "read/" + input.name
			if screen {
				name = "screen/" + input.name
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(len(input.data)))
				b.ReportAllocs()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				for b.Loop() {
					rec, err := r.ReadBundle(input.data, "")
					if err != nil {
						b.Fatal(err)
					}
					if screen {
						p.Evaluate(rec, settings)
					}
				}
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/n, "B/entry")
			})
		}
	}
}
