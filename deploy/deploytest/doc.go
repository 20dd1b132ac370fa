// Package deploytest checks the deployment material in deploy/: the Prometheus rules
// (parsed with Prometheus's own parser, and their promtool-style unit tests run on
// synthetic series), the Kubernetes manifests, the Grafana dashboard and the compose
// demo. Every metric the rules and the dashboard read is checked against what the
// service really exports, scraped from /metrics on the operators' port after a
// screening.
//
// It has no code of its own: everything is in its tests.
package deploytest
