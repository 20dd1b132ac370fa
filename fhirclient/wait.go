package fhirclient

import (
	"context"
	"time"
)

type waitKey struct{}

// WithWaitReporter returns ctx asking RecordSource.Record to report, through report, how
// long it waited on the server (the fetch, not the parsing that follows), so a service
// can tell its own time from the FHIR server's.
func WithWaitReporter(ctx context.Context, report func(time.Duration)) context.Context {
	return context.WithValue(ctx, waitKey{}, report)
}

// reportWait calls the reporter of ctx, if any.
func reportWait(ctx context.Context, d time.Duration) {
	if f, ok := ctx.Value(waitKey{}).(func(time.Duration)); ok {
		f(d)
	}
}
