package txclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/terminology"
)

// DefaultStartupBudget is how long start-up waits for the server to expand every
// codeset before it falls back to the disk cache: the service must answer its startup
// probe, and each request has its own 10 s deadline besides.
const DefaultStartupBudget = 20 * time.Second

// Manager compiles the protocol with the terminology server's expansions at start-up,
// falling back to the disk cache and then to the shipped expansions, and re-expands on a
// schedule to keep the cache fresh. A running protocol is never changed: a refreshed
// expansion is used from the next start (trialscreen_terminology_restart_pending says
// when it differs).
type Manager struct {
	Client        *Client
	Cache         *Cache           // nil: no disk cache
	Metrics       *Metrics         // nil: none
	Log           *slog.Logger     // nil: none
	Now           func() time.Time // required: the clock (fetched-at times)
	StartupBudget time.Duration    // default DefaultStartupBudget

	mu       sync.Mutex
	requests []request
	inUse    *Snapshot // nil when the running protocol has the shipped expansions only
	source   Source
	started  bool
}

// Compile builds the protocol with the given options (screening.LoadProtocol of the
// service's protocol file).
type Compile func(screening.Options) (*screening.Protocol, error)

// Outcome is what Start settled on.
type Outcome struct {
	Source    Source
	Expansion string // the protocol's Vocabulary.Expansion: what every result's settings say
	Reason    Reason // why the server was not used ("" when it was)
}

// Start compiles the protocol: a first pass lists the requests the protocol makes of its
// Terminology, the server expands them all (within StartupBudget), and a second pass
// compiles with that expansion. When the server fails it compiles with the disk cache,
// if it holds every request from the same server, else with the shipped expansions only.
// voc is the vocabulary to extend (nil: the shipped one); it is not changed.
func (m *Manager) Start(ctx context.Context, compile Compile, voc *terminology.Vocabulary) (*screening.Protocol, Outcome, error) {
	if voc == nil {
		var err error
		if voc, err = terminology.Shipped(); err != nil {
			return nil, Outcome{}, err
		}
	}
	col := &collector{}
	if _, err := compile(screening.Options{Terminology: col, Vocabulary: voc}); err != nil {
		return nil, Outcome{}, err
	}
	server := m.Client.BaseURL()
	budget := m.StartupBudget
	if budget <= 0 {
		budget = DefaultStartupBudget
	}
	sctx, cancel := context.WithTimeout(ctx, budget)
	snap, err := fetch(sctx, m.Client, col.requests, time.Time{})
	budgetOut := sctx.Err() != nil && ctx.Err() == nil
	cancel()

	var out Outcome
	var term screening.Terminology
	if err == nil {
		snap.FetchedAt = m.Now().UTC()
		out = Outcome{Source: SourceServer, Expansion: fmt.Sprintf("terminology server %s at %s", server, stamp(snap.FetchedAt))}
		m.log().Info("terminology: expanded the protocol's SNOMED CT codesets on the terminology server",
			"server", server, "requests", len(col.requests), "source", string(SourceServer))
		m.Metrics.succeeded(float64(snap.FetchedAt.Unix()))
		m.writeCache(snap)
		term = snap
	} else {
		e := failure(err, budgetOut, budget)
		out.Reason = e.Reason
		m.Metrics.failed(e.Reason)
		cached, cerr := m.loadCache(server, col.requests)
		if cerr == nil {
			snap = cached
			term = snap
			out.Source = SourceCache
			out.Expansion = fmt.Sprintf("disk cache of %s from %s (server failed: %s)", server, stamp(snap.FetchedAt), e)
		} else {
			snap = nil
			out.Source = SourceShipped
			out.Expansion = fmt.Sprintf("shipped (server failed: %s)", e)
		}
		m.log().Warn("terminology: the terminology server failed; using "+describe(out.Source),
			"server", server, "reason", string(e.Reason), "error", e.Error(), "source", string(out.Source), "cache", errText(cerr))
	}
	v := *voc // a shallow copy: only Expansion differs, and neither is changed afterwards
	v.Expansion = out.Expansion
	p, err := compile(screening.Options{Terminology: term, Vocabulary: &v})
	if err != nil {
		return nil, Outcome{}, err
	}
	m.Metrics.SetSource(out.Source)
	m.Metrics.setRestartPending(false)
	m.mu.Lock()
	m.requests, m.inUse, m.source, m.started = col.requests, snap, out.Source, true
	m.mu.Unlock()
	return p, out, nil
}

// Refresh expands every request again and, when the server answers them all, replaces
// the disk cache. The running protocol keeps its expansion.
func (m *Manager) Refresh(ctx context.Context) error {
	m.mu.Lock()
	requests, inUse, started := m.requests, m.inUse, m.started
	m.mu.Unlock()
	if !started {
		return errors.New("txclient: Refresh before Start")
	}
	server := m.Client.BaseURL()
	snap, err := fetch(ctx, m.Client, requests, time.Time{})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // stopping: not the server's failure
		}
		e := failure(err, false, 0)
		m.Metrics.failed(e.Reason)
		m.log().Warn("terminology: refreshing the expansions failed; the disk cache is kept",
			"server", server, "reason", string(e.Reason), "error", e.Error())
		return e
	}
	snap.FetchedAt = m.Now().UTC()
	m.Metrics.succeeded(float64(snap.FetchedAt.Unix()))
	m.writeCache(snap)
	pending := !snap.sameCodes(inUse)
	m.Metrics.setRestartPending(pending)
	if pending {
		m.log().Info("terminology: the terminology server's expansion differs from the one in use; the next start uses it",
			"server", server, "requests", len(requests))
	} else {
		m.log().Info("terminology: refreshed the expansions; unchanged", "server", server, "requests", len(requests))
	}
	return nil
}

// Run refreshes on every tick until ctx ends. When the start did not get the server's
// expansion, it tries once at once (without the start-up budget), so that the cache is
// filled for the next start rather than a refresh interval later.
func (m *Manager) Run(ctx context.Context, tick <-chan time.Time) {
	m.mu.Lock()
	retry := m.started && m.source != SourceServer
	m.mu.Unlock()
	if retry {
		_ = m.Refresh(ctx) // logged and counted
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			_ = m.Refresh(ctx) // logged and counted
		}
	}
}

func (m *Manager) writeCache(s *Snapshot) {
	if m.Cache == nil {
		return
	}
	if err := m.Cache.Write(s); err != nil {
		m.log().Warn("terminology: the disk cache could not be written", "dir", m.Cache.Dir, "error", err.Error())
	}
}

func (m *Manager) loadCache(server string, requests []request) (*Snapshot, error) {
	if m.Cache == nil {
		return nil, fmt.Errorf("%w: no cache directory is configured", errCacheMiss)
	}
	return m.Cache.Load(server, requests)
}

func (m *Manager) log() *slog.Logger {
	if m.Log == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return m.Log
}

// failure is err as an *Error; the start-up budget running out is a timeout.
func failure(err error, budgetOut bool, budget time.Duration) *Error {
	if budgetOut {
		return &Error{Reason: ReasonTimeout, Detail: "no full expansion within " + budget.String(), Err: err}
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Reason: ReasonOf(err), Err: err}
}

func describe(s Source) string {
	if s == SourceCache {
		return "the disk cache of its last expansion"
	}
	return "the shipped expansions only"
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
