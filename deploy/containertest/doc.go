// Package containertest runs trialscreen as a container against a FHIR server in
// another container, on a private Docker network, with testcontainers-go: screening
// over HTTP, draining on SIGTERM, and fault drills on the FHIR server (stop, pause).
//
// The images are built locally, FROM scratch, from binaries built on the host: no
// registry is needed. Without a reachable Docker engine every test skips and says why.
// .ci/run starts one (Debian's docker.io, socket /run/trialscreen-docker.sock):
//
//	DOCKER_HOST=unix:///run/trialscreen-docker.sock go test -count=1 -v ./deploy/containertest/
//
// FHIR_TEST_IMAGE=hapiproject/hapi:<tag> runs the screening and fault-drill tests
// against HAPI FHIR (loaded with the demo patients by transactions) instead of the
// stub; it needs that image locally or a registry to pull it from.
package containertest
