package batch

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestSorterOrdersAcrossRuns: records come out by (key, file, line) whether they stayed
// in memory, were spilled to a few runs, or to more runs than one merge takes at once.
func TestSorterOrdersAcrossRuns(t *testing.T) {
	cases := []struct {
		name     string
		budget   int
		n        int
		wantRuns func(int) bool
	}{
		{"in memory", 1 << 20, 500, func(r int) bool { return r == 0 }},
		{"a few runs", 8 << 10, 500, func(r int) bool { return r > 1 && r <= fanIn }},
		{"merge passes", 1 << 10, 3000, func(r int) bool { return r > 2*fanIn }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			s := newSorter(t.TempDir(), tc.budget)
			var want []string
			for i := range tc.n {
				key := fmt.Sprintf("p%03d", rng.IntN(200))
				r := record{key: []byte(key), file: uint32(rng.IntN(3)), line: uint64(i + 1), kind: kindResource,
					aux: []byte("Medication/m"), payload: []byte(strings.Repeat("x", rng.IntN(100)))}
				want = append(want, fmt.Sprintf("%s %d %d %d", r.key, r.file, r.line, len(r.payload)))
				if err := s.Add(&r); err != nil {
					t.Fatal(err)
				}
			}
			it, err := s.Finish()
			if err != nil {
				t.Fatal(err)
			}
			defer it.Close()
			if !tc.wantRuns(s.Runs()) {
				t.Errorf("%d runs", s.Runs())
			}
			var got []string
			for {
				r, err := it.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if string(r.aux) != "Medication/m" || r.kind != kindResource {
					t.Fatalf("record fields lost: %+v", r)
				}
				got = append(got, fmt.Sprintf("%s %d %d %d", r.key, r.file, r.line, len(r.payload)))
			}
			slices.SortFunc(want, func(a, b string) int {
				var ka, kb string
				var fa, fb, la, lb, pa, pb int
				fmt.Sscan(a, &ka, &fa, &la, &pa)
				fmt.Sscan(b, &kb, &fb, &lb, &pb)
				if c := strings.Compare(ka, kb); c != 0 {
					return c
				}
				if fa != fb {
					return fa - fb
				}
				return la - lb
			})
			if !slices.Equal(got, want) {
				t.Errorf("order differs: got %d records, want %d", len(got), len(want))
			}
		})
	}
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("y", 70<<10) // longer than the reader's buffer
	in := "a\r\n\n" + long + "\n" + strings.Repeat("z", 200<<10) + "\nlast"
	lr := &lineReader{br: bufio.NewReaderSize(strings.NewReader(in), 16<<10), max: 100 << 10}
	type got struct {
		line    string
		tooLong bool
		n       uint64
	}
	var all []got
	for {
		l, tl, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, got{string(l), tl, lr.line})
	}
	want := []got{{"a", false, 1}, {"", false, 2}, {long, false, 3}, {"", true, 4}, {"last", false, 5}}
	if !slices.Equal(all, want) {
		t.Errorf("lines: %d, want %d; first diff at %v", len(all), len(want), firstDiff(all, want))
	}
}

func firstDiff[T comparable](a, b []T) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestScanResource(t *testing.T) {
	cases := []struct {
		name, in string
		want     lineInfo
		err      string
	}{
		{"observation", `{"resourceType":"Observation","id":"o1","code":{"coding":[{"system":"s","code":"c"}]},"subject":{"reference":"Patient/p1"},"valueString":"}{\"x"}`,
			lineInfo{resourceType: "Observation", id: "o1", patientRef: "Patient/p1", codes: []codingKV{{"s", "c"}}, clean: true}, ""},
		{"patient field when subject is empty", `{"resourceType":"AllergyIntolerance","subject":{},"patient":{"reference":"Patient/p2"}}`,
			lineInfo{resourceType: "AllergyIntolerance", patientRef: "Patient/p2", codes: []codingKV{}, clean: true}, ""},
		{"medication reference", `{"resourceType":"MedicationRequest","medicationReference":{"reference":"Medication/m"},"subject":{"reference":"Patient/p"}}`,
			lineInfo{resourceType: "MedicationRequest", patientRef: "Patient/p", medRef: "Medication/m", hasMedRef: true, codes: []codingKV{}, clean: true}, ""},
		{"wrong type is not clean", `{"resourceType":"Observation","code":"718-7","subject":{"reference":"Patient/p"}}`,
			lineInfo{resourceType: "Observation", patientRef: "Patient/p", codes: []codingKV{}, clean: false}, ""},
		{"a name differing in case is not clean", `{"resourceType":"Observation","Code":{},"subject":{"reference":"Patient/p"}}`,
			lineInfo{resourceType: "Observation", patientRef: "Patient/p", clean: false}, ""},
		{"not JSON", `{"resourceType":`, lineInfo{}, "not valid JSON: syntax error at byte 16"},
		{"a string", `"Observation"`, lineInfo{}, "a JSON string, not a FHIR resource (an object)"},
		{"no type", `{"id":"x"}`, lineInfo{}, "a resource without resourceType"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := scanResource([]byte(tc.in))
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Errorf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
