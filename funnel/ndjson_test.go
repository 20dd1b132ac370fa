package funnel

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/trialscreen/trialscreen/screening"
)

func ndjsonOf(t testing.TB, docs []*screening.Screening) []string {
	t.Helper()
	var lines []string
	for _, d := range docs {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	return lines
}

func TestFromNDJSONEqualsAdd(t *testing.T) {
	p := defaultProtocol(t)
	docs := append(demoScreenings(t, p), fivePatients(p)...)
	// A document far longer than a bufio buffer must still be read as one line.
	docs[0].Criteria[0].Summary = strings.Repeat("x", 300<<10)
	want := jsonOf(t, funnelOf(p, docs))
	lines := ndjsonOf(t, docs)
	tests := []struct{ name, input string }{
		{"newline after every line", strings.Join(lines, "\n") + "\n"},
		{"no final newline", strings.Join(lines, "\n")},
		{"CRLF and blank lines", "\r\n" + strings.Join(lines, "\r\n\r\n") + "\r\n\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := FromNDJSON(p, strings.NewReader(tc.input))
			if err != nil {
				t.Fatal(err)
			}
			if got := jsonOf(t, f); got != want {
				t.Errorf("FromNDJSON differs from Add (-add +ndjson):\n%s", cmp.Diff(want, got))
			}
		})
	}
}

func TestFromNDJSONEmpty(t *testing.T) {
	p := defaultProtocol(t)
	f, err := FromNDJSON(p, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := jsonOf(t, f), jsonOf(t, New(p)); got != want {
		t.Errorf("empty input is not an empty funnel:\n%s", cmp.Diff(want, got))
	}
}

func TestFromNDJSONMalformedLineNamesIt(t *testing.T) {
	p := defaultProtocol(t)
	good := ndjsonOf(t, fivePatients(p))
	other := strings.Replace(good[0], `"id":"anti-bcma-cart-rrmm"`, `"id":"other-trial"`, 1)
	if other == good[0] {
		t.Fatal("the protocol id was not found in the document")
	}
	noVerdict := strings.Replace(good[0], `"verdict":"potentially-eligible"`, `"verdict":""`, 1)
	tests := []struct {
		name, input, want string
	}{
		{"not JSON", good[0] + "\n" + good[1] + "\n" + `{"verdict":` + "\n" + good[2],
			"funnel: NDJSON line 3: not a verdict document: unexpected end of JSON input"},
		{"counts blank lines", "\n\nnot json\n",
			"funnel: NDJSON line 3: not a verdict document: invalid character 'o' in literal null (expecting 'u')"},
		{"two documents on one line", good[0] + good[1],
			"funnel: NDJSON line 1: not a verdict document: invalid character '{' after top-level value"},
		{"another protocol", good[0] + "\n" + other,
			`funnel: NDJSON line 2: the document is for protocol "other-trial" version "1.0.0", the funnel for "anti-bcma-cart-rrmm" version "1.0.0"`},
		{"no verdict", noVerdict,
			`funnel: NDJSON line 1: verdict "" is not one of ineligible, insufficient-data, potentially-eligible`},
		{"no criteria", `{"verdict":"ineligible","protocol":{"id":"anti-bcma-cart-rrmm","version":"1.0.0"}}`,
			"funnel: NDJSON line 1: the document has 0 criteria, the protocol 39"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := FromNDJSON(p, strings.NewReader(tc.input))
			if err == nil {
				t.Fatalf("no error; funnel of %d patients", f.Report().Patients)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got %s\nwant %s", err, tc.want)
			}
		})
	}
}

func TestFromNDJSONReadError(t *testing.T) {
	p := defaultProtocol(t)
	good := ndjsonOf(t, fivePatients(p))
	boom := errors.New("disk gone")
	_, err := FromNDJSON(p, io.MultiReader(strings.NewReader(good[0]+"\n"), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) || err.Error() != "funnel: reading NDJSON at line 2: disk gone" {
		t.Errorf("error = %v, want the read error at line 2", err)
	}
}
