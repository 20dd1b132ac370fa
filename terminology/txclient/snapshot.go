package txclient

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/terminology"
)

// request is one call the protocol compiler makes to its Terminology: a codeset's
// curated codes of one verification tag.
type request struct {
	codeset string
	codes   []screening.Coding
}

func (r request) key() string { return r.codeset + "\x00" + sortedKey(r.codes) }

// hasSNOMED reports whether the server has anything to add to the request.
func (r request) hasSNOMED() bool {
	return slices.ContainsFunc(r.codes, func(c screening.Coding) bool { return c.System == terminology.SNOMED })
}

// collector is a Terminology that adds nothing and writes down what it is asked: a first
// compile with it lists the requests the protocol makes.
type collector struct {
	mu       sync.Mutex
	requests []request
	seen     map[string]bool
}

func (c *collector) Expand(_ context.Context, codeset string, codes []screening.Coding) ([]screening.Coding, error) {
	r := request{codeset: codeset, codes: bareCopy(codes)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	if r.hasSNOMED() && !c.seen[r.key()] {
		c.seen[r.key()] = true
		c.requests = append(c.requests, r)
	}
	return codes, nil
}

func bareCopy(cs []screening.Coding) []screening.Coding {
	out := make([]screening.Coding, len(cs))
	for i, c := range cs {
		out[i] = c.Bare()
	}
	return out
}

// Snapshot is one expansion of every request, from one server at one time (or, read
// from the disk cache, the oldest time of its files).
type Snapshot struct {
	Server    string
	FetchedAt time.Time
	requests  []request
	codes     map[string][]screening.Coding // request key -> expansion
}

func newSnapshot(server string, at time.Time, requests []request) *Snapshot {
	return &Snapshot{Server: server, FetchedAt: at, requests: requests, codes: map[string][]screening.Coding{}}
}

func (s *Snapshot) codesets() []string {
	var out []string
	for _, r := range s.requests {
		if !slices.Contains(out, r.codeset) {
			out = append(out, r.codeset)
		}
	}
	return out
}

// Codes is the expansion of a codeset's request of these curated codes (nil, false if the
// snapshot holds none).
func (s *Snapshot) Codes(codeset string, curated []screening.Coding) ([]screening.Coding, bool) {
	cs, ok := s.codes[request{codeset: codeset, codes: curated}.key()]
	return cs, ok
}

// sameCodes reports whether two snapshots expand every request to the same codes.
func (s *Snapshot) sameCodes(o *Snapshot) bool {
	if s == nil || o == nil || len(s.codes) != len(o.codes) {
		return s == nil && o == nil
	}
	for k, a := range s.codes {
		b, ok := o.codes[k]
		if !ok || sortedKey(a) != sortedKey(b) {
			return false
		}
	}
	return true
}

// Expand implements screening.Terminology from the snapshot: the compiler's second pass
// asks exactly what the first asked. A request without SNOMED CT codes is answered with
// its codes; one the snapshot lacks is an error (the protocol changed between passes).
func (s *Snapshot) Expand(_ context.Context, codeset string, codes []screening.Coding) ([]screening.Coding, error) {
	r := request{codeset: codeset, codes: codes}
	if !r.hasSNOMED() {
		return codes, nil
	}
	cs, ok := s.codes[r.key()]
	if !ok {
		return nil, fmt.Errorf("txclient: no expansion of codeset %s's codes %s was fetched", codeset, sortedKey(codes))
	}
	return cs, nil
}

var _ screening.Terminology = (*Snapshot)(nil)

// fetchConcurrency is how many expansions are asked for at once: enough to make start-up
// short, few enough for a shared server.
const fetchConcurrency = 4

// fetch expands every request on the server, stopping at the first failure.
func fetch(ctx context.Context, c *Client, requests []request, at time.Time) (*Snapshot, error) {
	s := newSnapshot(c.BaseURL(), at, requests)
	results := make([][]screening.Coding, len(requests))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(fetchConcurrency)
	for i, r := range requests {
		g.Go(func() error {
			if gctx.Err() != nil {
				return nil // another request failed: that failure is the one reported
			}
			cs, err := c.Expand(gctx, r.codeset, r.codes)
			results[i] = cs
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, &Error{Reason: ReasonOf(err), Err: err}
	}
	for i, r := range requests {
		s.codes[r.key()] = results[i]
	}
	return s, nil
}
