package main

import (
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/trialscreen/trialscreen/internal/fhirstub"
)

// upstream is the FHIR stub the service reads, in the tool's process, on loopback. It
// serves the demo patients, each request after a fixed latency, and has no
// CapabilityStatement (so the service's FHIR client searches type by type, no batch).
type upstream struct {
	stub *fhirstub.Server
	srv  *http.Server
	url  string // the FHIR base URL
	ids  []string
}

func startUpstream(latency time.Duration) (*upstream, error) {
	bundles, err := fhirstub.DemoBundles()
	if err != nil {
		return nil, err
	}
	stub, err := fhirstub.New(latency, bundles...)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: stub, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	ids := stub.PatientIDs()
	slices.Sort(ids) // the same patients in the same order on every run
	return &upstream{stub: stub, srv: srv, url: "http://" + ln.Addr().String() + "/fhir", ids: ids}, nil
}

func (u *upstream) close() { u.srv.Close() }
