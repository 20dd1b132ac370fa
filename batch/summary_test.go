package batch

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// TestSummarizeInLineOrder: the summary is written in line order although documents
// are decoded in parallel, and the first line that is not a verdict document (in line
// order, however far into the results) is the error, naming its line.
func TestSummarizeInLineOrder(t *testing.T) {
	doc := func(i int) string {
		// Padding makes the results span several of the decoder's batches.
		return fmt.Sprintf(`{"patient":{"id":"p%05d"},"verdict":"ineligible","counts":{"fail":1},"criteria":[],"pad":%q}`, i, strings.Repeat("x", 4000))
	}
	cases := []struct {
		name    string
		bad     map[int]string // line (1-based) -> content
		wantErr string
	}{
		{"all documents", nil, ""},
		{"a bad line far in", map[int]string{700: `{"patient":{}}`, 900: `not json`}, "batch: results line 700: not a verdict document"},
		{"blank lines are skipped", map[int]string{3: ``, 4: `  `}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var in strings.Builder
			var wantRows []string
			for i := 1; i <= 1000; i++ {
				if l, ok := tc.bad[i]; ok {
					in.WriteString(l + "\n")
					continue
				}
				in.WriteString(doc(i) + "\n")
				wantRows = append(wantRows, fmt.Sprintf("p%05d,ineligible,0,1,0,0,,", i))
			}
			var out bytes.Buffer
			err := Summarize(strings.NewReader(in.String()), &out, nil)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Join(SummaryHeader, ",") + "\n" + strings.Join(wantRows, "\n") + "\n"
			if out.String() != want {
				t.Errorf("summary differs: %d bytes, want %d", out.Len(), len(want))
			}
		})
	}
}
