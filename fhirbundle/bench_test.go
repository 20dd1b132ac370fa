package fhirbundle_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trialscreen/trialscreen/protocols"
	"github.com/trialscreen/trialscreen/screening"
)

// BenchmarkReadBundle reads each Synthea bundle from bytes with the trial's protocol
// (the test protocol when the trial's is absent). Target: >= 25 MB/s on one core.
func BenchmarkReadBundle(b *testing.B) {
	r, _ := realReader(b)
	for _, f := range syntheaFiles(b) {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(filepath.Base(f), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.ReadBundle(data, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScreenBundle reads and screens each Synthea bundle from bytes: the whole
// path of a screening, all 39 criteria. Target: >= 25 MB/s of input on one core.
func BenchmarkScreenBundle(b *testing.B) {
	r, _ := realReader(b)
	p, err := protocols.LoadDefault()
	if err != nil {
		b.Fatal(err)
	}
	settings := screening.Settings{AsOf: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
	for _, f := range syntheaFiles(b) {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(filepath.Base(f), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				rec, err := r.ReadBundle(data, "")
				if err != nil {
					b.Fatal(err)
				}
				if out := p.Evaluate(rec, settings); len(out.Criteria) != 39 {
					b.Fatal("criteria missing")
				}
			}
		})
	}
}

// FuzzReadBundle checks that no input makes ReadBundle panic, and that a record always
// comes with a patient.
func FuzzReadBundle(f *testing.F) {
	f.Add(bundleJSON("collection", entry{"urn:uuid:1", patient("p1")}, entry{"", hemoglobin("o1", "urn:uuid:1", "12")}))
	f.Add([]byte(`{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient", "id": "p", "birthDate": "2000"}},
		{"resource": {"resourceType": "MedicationRequest", "medicationReference": {"reference": "#m"}, "contained": [1]}}, 7, null]}`))
	f.Add([]byte(`not json`))
	if data, err := os.ReadFile(filepath.Join(syntheaDir, "03-buster-hoeger.json")); err == nil {
		f.Add(data)
	}
	r := testReader(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := r.ReadBundle(data, "")
		if err == nil && rec.Patient == nil {
			t.Errorf("a record without a patient and no error")
		}
	})
}
