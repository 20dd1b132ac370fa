package fhirbundle_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/internal/bigrecord"
	"github.com/trialscreen/trialscreen/screening"
)

// padded is a Bundle of a patient, a hemoglobin and n empty entries.
func padded(t *testing.T, n int) []byte {
	t.Helper()
	b, err := bigrecord.Pad(bundleJSON("collection", entry{"urn:uuid:1", patient("p1")}, entry{"", hemoglobin("o1", "urn:uuid:1", "12")}), "{}", n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A Bundle over the cap is refused with its count and the cap, before any entry is read;
// CountEntries counts entries as the splitter reads them, by a scan of the bytes.
func TestEntryCap(t *testing.T) {
	r := testReader(t)
	proto, err := screening.LoadProtocol([]byte(testProtocolYAML), screening.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.ReadBundle(padded(t, fhirbundle.DefaultMaxEntries), "")
	var tm *fhirbundle.TooManyEntriesError
	if !errors.As(err, &tm) || !errors.Is(err, fhirbundle.ErrTooManyEntries) ||
		err.Error() != "the Bundle holds 100002 entries, more than the 100000 one patient's record may hold" {
		t.Errorf("default cap: %v", err)
	}
	small, err := fhirbundle.NewReader(proto, fhirbundle.MaxEntries(5))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := small.ReadBundle(padded(t, 3), ""); err != nil {
		t.Errorf("5 entries, cap 5: %v", err)
	}
	if _, err := small.ReadBundle(padded(t, 4), ""); !errors.Is(err, fhirbundle.ErrTooManyEntries) {
		t.Errorf("6 entries, cap 5: %v", err)
	}
	if _, err := small.ReadResources("p1", make([]fhirbundle.Entry, 6)); err == nil || err.Error() != "the patient's record holds 6 entries, more than the 5 one patient's record may hold" {
		t.Errorf("6 resources, cap 5: %v", err)
	}
	if _, err := fhirbundle.NewReader(proto, fhirbundle.MaxEntries(0)); err == nil || !strings.Contains(err.Error(), "MaxEntries is 0") {
		t.Errorf("a cap of 0: %v", err)
	}

	for _, tc := range []struct {
		in   string
		n    int
		ok   bool
		name string
	}{
		{`{"resourceType": "Bundle", "entry": [{}, 1, null, [], "x"]}`, 5, true, "any elements"},
		{`{"resourceType": "Bundle", "ENTRY": [{}], "entry": [{}, {}]}`, 2, true, "the last entry member, in any case"},
		{`{"resourceType": "Bundle", "entry": {"a": [1, 2]}}`, 0, true, "entry not an array"},
		{`{"resourceType": "Bundle"}`, 0, true, "no entry"},
		{`{"resourceType": "Bundle", "entry": [{}, {}`, 0, false, "truncated"},
		{`[{}, {}]`, 0, false, "not an object"},
	} {
		if n, ok := fhirbundle.CountEntries([]byte(tc.in)); n != tc.n || ok != tc.ok {
			t.Errorf("%s: CountEntries %d, %v; want %d, %v", tc.name, n, ok, tc.n, tc.ok)
		}
	}
}

// countdown is a context whose Err is nil for its first n calls, then Canceled: it
// shows that reading looks at the context as it goes, not only when it starts.
type countdown struct {
	context.Context
	n atomic.Int64
}

func (c *countdown) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// Reading stops with the context's error once the context ends, at the start or on the
// way through a large Bundle, and gives no record.
func TestReadingStopsWithTheContext(t *testing.T) {
	r := testReader(t)
	data := padded(t, 5000)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if rec, err := r.ReadBundleContext(done, data, ""); !errors.Is(err, context.Canceled) || rec != nil {
		t.Errorf("a context already done: %v", err)
	}
	late := &countdown{Context: context.Background()}
	late.n.Store(3)
	if rec, err := r.ReadBundleContext(late, data, ""); !errors.Is(err, context.Canceled) || rec != nil {
		t.Errorf("a context that ends while reading: %v", err)
	}
	rec := fhirbundle.NewRecord()
	late.n.Store(3)
	b, err := fhirbundle.SplitBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.AddResourcesContext(late, rec, "p1", b.Entries); !errors.Is(err, context.Canceled) {
		t.Errorf("AddResourcesContext: %v", err)
	}
	if _, err := r.ReadBundleContext(context.Background(), data, ""); err != nil {
		t.Errorf("a context that does not end: %v", err)
	}
}
