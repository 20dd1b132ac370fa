package api

import (
	"container/list"
	"encoding/json"
	"sync"
	"time"

	"github.com/trialscreen/trialscreen/screening"
)

// cachedReport is the screening a CDS Hooks card was built from when it could not be
// stored, kept so that the card's report link still shows that very result on this
// replica: the record came from the EHR (its prefetch or its FHIR server, with its
// token), which the service cannot read again on its own. The EHR's user and FHIR server
// travel in the link (reportlink.go).
type cachedReport struct {
	uuid      string // the card's
	result    *screening.Screening
	patientID string
	issuer    string // the EHR that called, for the audit record of each view
	expires   time.Time
	size      int // bytes charged against the cache's budget
}

// reportCache keeps the screenings of cards that could not be stored in memory for a
// while, least recently used first out: the fallback of a service without a store, or
// whose store was down when the card was made. It is bounded three ways: an entry lives
// ttl (as long as its link), and the cache holds at most maxEntries entries and maxBytes
// bytes (each charged at its JSON size, a fair proxy for what it holds). Entries are
// lost on restart and are not shared between replicas: a link then says to reopen the
// chart, which makes a new card.
type reportCache struct {
	ttl        time.Duration
	maxEntries int
	maxBytes   int
	now        func() time.Time

	mu    sync.Mutex
	bytes int
	order *list.List // of *cachedReport; front: most recently used
	items map[string]*list.Element
}

const (
	reportCacheEntries = 10_000
	reportCacheBytes   = 128 << 20
)

func newReportCache(ttl time.Duration, maxEntries, maxBytes int, now func() time.Time) *reportCache {
	return &reportCache{ttl: ttl, maxEntries: maxEntries, maxBytes: maxBytes, now: now,
		order: list.New(), items: map[string]*list.Element{}}
}

// put keeps r until it expires or is evicted. An entry larger than the whole budget is
// not kept (its link will say the report expired).
func (c *reportCache) put(r *cachedReport) {
	if r.size == 0 {
		data, err := json.Marshal(r.result)
		if err != nil {
			return
		}
		r.size = len(data) + len(r.uuid) + len(r.patientID) + len(r.issuer)
	}
	if r.size > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	r.expires = now.Add(c.ttl)
	if el, ok := c.items[r.uuid]; ok {
		c.remove(el)
	}
	c.items[r.uuid] = c.order.PushFront(r)
	c.bytes += r.size
	// Expired entries at the least recently used end go first (a stop at the first live
	// one keeps put cheap; an expired entry elsewhere goes when it is asked for or
	// evicted), then the least recently used until the cache is within its bounds.
	for el := c.order.Back(); el != nil && !now.Before(el.Value.(*cachedReport).expires); el = c.order.Back() {
		c.remove(el)
	}
	for c.order.Len() > c.maxEntries || c.bytes > c.maxBytes {
		c.remove(c.order.Back())
	}
}

// get returns the live entry for a card's uuid.
func (c *reportCache) get(uuid string) (*cachedReport, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[uuid]
	if !ok {
		return nil, false
	}
	r := el.Value.(*cachedReport)
	if !c.now().Before(r.expires) {
		c.remove(el)
		return nil, false
	}
	c.order.MoveToFront(el)
	return r, true
}

func (c *reportCache) remove(el *list.Element) {
	r := c.order.Remove(el).(*cachedReport)
	delete(c.items, r.uuid)
	c.bytes -= r.size
}

func (c *reportCache) len() (entries, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len(), c.bytes
}
