// Package api will serve trialscreen over HTTP with Echo: REST for referral portals,
// CDS Hooks for EHRs, the coordinator's report page, health and metrics.
package api
