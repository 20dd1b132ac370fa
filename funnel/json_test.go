package funnel

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// Label and time are written only when the caller sets them, so that by default the
// same documents always give the same bytes.
func TestLabelAndTimeOnlyWhenSet(t *testing.T) {
	p := defaultProtocol(t)
	f := funnelOf(p, fivePatients(p))
	plain := jsonOf(t, f)
	for _, key := range []string{`"label"`, `"generated_at"`} {
		if strings.Contains(plain, key) {
			t.Errorf("%s written though not set", key)
		}
	}

	f.Label = "shard 3/8"
	f.GeneratedAt = time.Date(2026, 11, 21, 9, 30, 0, 0, time.FixedZone("CET", 3600))
	var got struct {
		Label       string `json:"label"`
		GeneratedAt string `json:"generated_at"`
		Patients    int    `json:"patients"`
	}
	if err := json.Unmarshal([]byte(jsonOf(t, f)), &got); err != nil {
		t.Fatal(err)
	}
	if got.Label != "shard 3/8" || got.GeneratedAt != "2026-11-21T08:30:00Z" || got.Patients != 5 {
		t.Errorf("got %+v", got)
	}
	var table bytes.Buffer
	if err := f.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "Label: shard 3/8\nGenerated at: 2026-11-21T08:30:00Z\n") {
		t.Errorf("table header:\n%s", table.String()[:200])
	}
}

// A writer that fails is reported, naming the report being written.
func TestWriteErrors(t *testing.T) {
	p := defaultProtocol(t)
	f := funnelOf(p, fivePatients(p))
	tests := []struct {
		name  string
		write func(w *failWriter) error
		want  string
	}{
		{"table", func(w *failWriter) error { return f.WriteTable(w) }, "funnel: writing table: disk full"},
		{"json", func(w *failWriter) error { return f.WriteJSON(w) }, "funnel: writing JSON: disk full"},
		{"html", func(w *failWriter) error { return f.WriteHTML(w) }, "funnel: writing HTML: disk full"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.write(&failWriter{}); err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %s", err, tc.want)
			}
		})
	}
}

type failWriter struct{}

func (*failWriter) Write([]byte) (int, error) { return 0, errDiskFull }

var errDiskFull = errors.New("disk full")
