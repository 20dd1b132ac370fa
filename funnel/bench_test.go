package funnel

import (
	"strings"
	"testing"
)

// BenchmarkAdd counts the demo patients' documents over and over; a batch run adds one
// document per patient, so this must stay far below its 150 patients/s (6.7 ms each).
func BenchmarkAdd(b *testing.B) {
	p := defaultProtocol(b)
	docs := append(demoScreenings(b, p), fivePatients(p)...)
	perDoc := len(p.CriterionIDs())
	f := New(p)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		f.Add(docs[n%len(docs)])
		n++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*perDoc), "ns/criterion")
	if f.Report().Patients != n {
		b.Fatalf("counted %d patients of %d", f.Report().Patients, n)
	}
}

// BenchmarkFromNDJSON rebuilds a funnel from verdict documents, as a shard merge does.
func BenchmarkFromNDJSON(b *testing.B) {
	p := defaultProtocol(b)
	lines := ndjsonOf(b, demoScreenings(b, p))
	input := strings.Repeat(strings.Join(lines, "\n")+"\n", 25) // 100 documents
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromNDJSON(p, strings.NewReader(input)); err != nil {
			b.Fatal(err)
		}
	}
}
