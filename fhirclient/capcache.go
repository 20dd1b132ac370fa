package fhirclient

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// How long a server's capabilities are trusted. A success is re-read now and then (a
// server upgrade can add or drop search parameters); a failure is kept only briefly, so
// a blip costs a few unfiltered (slower, always safe) screenings, not an hour of them.
const (
	capsTTL        = time.Hour
	capsFailureTTL = 30 * time.Second
	capsTimeout    = 10 * time.Second
)

// capsCache reads a server's CapabilityStatement at most once at a time for all the
// screenings that need it, and never makes a screening wait past its own deadline.
type capsCache struct {
	client *Client
	now    func() time.Time
	group  singleflight.Group

	mu      sync.Mutex
	caps    *Capabilities
	expires time.Time
}

// get returns the cached capabilities, or reads them. When they cannot be read, or ctx
// ends first, it returns an empty Capabilities: searches then go by patient only.
func (cc *capsCache) get(ctx context.Context) *Capabilities {
	cc.mu.Lock()
	if cc.caps != nil && cc.now().Before(cc.expires) {
		caps := cc.caps
		cc.mu.Unlock()
		return caps
	}
	cc.mu.Unlock()
	ch := cc.group.DoChan("metadata", func() (any, error) {
		// Not the first caller's context: its cancellation must not fail the others.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), capsTimeout)
		defer cancel()
		caps, err := cc.client.Capabilities(fctx)
		ttl := capsTTL
		if err != nil {
			caps, ttl = &Capabilities{}, capsFailureTTL
		}
		cc.mu.Lock()
		cc.caps, cc.expires = caps, cc.now().Add(ttl)
		cc.mu.Unlock()
		return caps, nil
	})
	select {
	case r := <-ch:
		return r.Val.(*Capabilities)
	case <-ctx.Done():
		return &Capabilities{}
	}
}
