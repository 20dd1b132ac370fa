package api

import (
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/internal/bigrecord"
)

// paddedDemoBundle is a demo patient's Bundle with n empty entries after its own.
func paddedDemoBundle(t *testing.T, name string, n int) string {
	t.Helper()
	b, err := bigrecord.Pad([]byte(demoBundle(t, name)), "{}", n)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBundleOverTheEntryCap: a Bundle of more entries than one patient's record may
// hold is a 413 naming the count and the cap, under the default cap (100,000 empty
// entries cost 300 kB to send and, read, over 30 MB) and a configured one; at the cap
// it is screened.
func TestBundleOverTheEntryCap(t *testing.T) {
	def := fhirbundle.DefaultMaxEntries
	env := newRESTEnv(t, nil)
	rec := env.postJSON(t, `{"bundle": `+paddedDemoBundle(t, "candidate", def)+`}`) // 21 entries of its own
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413: %.300s", rec.Code, rec.Body)
	}
	want := Problem{Type: "about:blank", Title: "Content Too Large", Status: 413, Field: "bundle",
		Detail: "bundle: the Bundle holds 100021 entries, more than the 100000 one patient's record may hold"}
	if p := problemOf(t, rec); p != want {
		t.Errorf("problem\n got %+v\nwant %+v", p, want)
	}

	env = newRESTEnv(t, func(c *Config) { c.MaxBundleEntries = 30 })
	if rec := env.postJSON(t, `{"bundle": `+paddedDemoBundle(t, "candidate", 9)+`}`); rec.Code != http.StatusOK {
		t.Errorf("30 entries under a cap of 30: status %d, want 200: %.300s", rec.Code, rec.Body)
	}
	rec = env.postJSON(t, `{"bundle": `+paddedDemoBundle(t, "candidate", 10)+`}`)
	if p := problemOf(t, rec); p.Status != 413 || p.Detail != "bundle: the Bundle holds 31 entries, more than the 30 one patient's record may hold" {
		t.Errorf("31 entries under a cap of 30: %+v", p)
	}
}

// TestPrefetchOverTheEntryCap: the prefetched searches together are one patient's
// record: several searches, each under the cap, whose entries together are over it, are
// a 413 naming the count and the cap.
func TestPrefetchOverTheEntryCap(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{mod: func(c *Config) { c.MaxBundleEntries = 40 }})
	pf := cdsDemoPrefetch(t, "candidate")
	own := 0
	for _, typ := range cdsProtocol(t).NeededTypes() {
		n, _ := fhirbundle.CountEntries(pf[typ])
		own += n
	}
	pad := func(typ string, n int) {
		b, err := bigrecord.Pad(pf[typ], "{}", n)
		if err != nil {
			t.Fatal(err)
		}
		pf[typ] = json.RawMessage(b)
	}
	pad("Condition", 20)
	pad("Procedure", 40-own-20) // exactly at the cap
	status, body, _ := env.post(t, env.key.token(t, nil), cdsHookBody("demo-candidate", pf))
	cdsOneCard(t, status, body)

	pad("Procedure", 1)
	status, body, _ = env.post(t, env.key.token(t, nil), cdsHookBody("demo-candidate", pf))
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413: %s", status, body)
	}
	want := Problem{Type: "about:blank", Title: "Content Too Large", Status: 413, Field: "prefetch",
		Detail: "prefetch: the prefetch (its searches together) holds 41 entries, more than the 40 one patient's record may hold"}
	if p := cdsProblem(t, body); p != want {
		t.Errorf("problem\n got %+v\nwant %+v", p, want)
	}
}

// TestPrefetchNotAnObject: the prefetch read apart from the rest of the request is
// still checked like it: anything but an object or null is a 400 naming it.
func TestPrefetchNotAnObject(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	b := cdsHookBody("demo-candidate", nil)
	b["prefetch"] = "everything"
	status, body, _ := env.post(t, env.key.token(t, nil), b)
	if p := cdsProblem(t, body); status != 400 || p.Field != "prefetch" || !strings.Contains(p.Detail, "is JSON string, not map") {
		t.Errorf("status %d, problem %+v", status, p)
	}
}

// TestBatchIDsCountedBeforeRead: a batch of millions of one-byte ids (4 MB) is refused
// from a count of its items, for a few times what reading the body costs: decoding the
// items first took 277 MB. (The bound is loose: allocation counts are the process's,
// and the race detector adds its own.)
func TestBatchIDsCountedBeforeRead(t *testing.T) {
	env := newRESTEnv(t, nil)
	body := `{"patient_ids": [` + strings.TrimSuffix(strings.Repeat("1,", 2_000_000), ",") + `]}`
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rec := env.postBatch(t, body)
	runtime.ReadMemStats(&after)
	if p := problemOf(t, rec); p.Status != 400 || p.Detail != "patient_ids: holds 2000000 ids; a batch takes at most 10000 (split the list)" {
		t.Errorf("problem %+v", p)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 10*uint64(len(body)) {
		t.Errorf("refusing the list allocated %d bytes, more than 10 times the body's %d", n, len(body))
	}
}
