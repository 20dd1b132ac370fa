package fhirstub

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/protocols"
	"github.com/trialscreen/trialscreen/screening"
)

// The stub must give the FHIR client the same record the Bundle holds: the load test's
// numbers mean nothing if its patients screen differently.
func TestStubServesTheSameVerdictAsTheBundle(t *testing.T) {
	p, err := protocols.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	var bundles [][]byte
	for _, n := range demo.Names() {
		b, _ := demo.Bundle(n)
		bundles = append(bundles, b)
	}
	stub, err := New(0, bundles...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	c, err := fhirclient.New(fhirclient.Config{BaseURL: srv.URL + "/fhir"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	src, err := fhirclient.NewRecordSource(c, p)
	if err != nil {
		t.Fatal(err)
	}
	reader, _ := fhirbundle.NewReader(p)
	for _, n := range demo.Names() {
		rec, err := src.Record(context.Background(), "demo-"+n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		b, _ := demo.Bundle(n)
		want, _ := reader.ReadBundle(b, "")
		s := demoSettings()
		if got, want := p.Evaluate(rec, s).Verdict, p.Evaluate(want, s).Verdict; got != want {
			t.Errorf("%s: verdict through the stub %s; from the bundle %s", n, got, want)
		}
	}
	if _, err := src.Record(context.Background(), "nobody"); err == nil {
		t.Error("an unknown patient was found")
	}
}

func demoSettings() screening.Settings { return screening.Settings{AsOf: demo.AsOf()} }
