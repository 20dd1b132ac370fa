package main

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/trialscreen/trialscreen/api"
	"github.com/trialscreen/trialscreen/store"
)

const (
	// storeStartTimeout bounds the first opening (and migration) of the store at start:
	// past it the service starts without and keeps trying in the background.
	storeStartTimeout = 30 * time.Second
	// storeCheckEvery is how often the store is checked (trialscreen_store_up) once open,
	// or tried again while it is not.
	storeCheckEvery = 15 * time.Second
	// auditFlushTimeout bounds the flush of queued audit records at shutdown.
	auditFlushTimeout = 5 * time.Second
)

// errStoreNotOpen is what the store answers while the database has not been opened: the
// service screens, and says each screening was not stored.
var errStoreNotOpen = errors.New("the store is not open: the database could not be reached or migrated yet; retrying")

// serveStore is the store as serve holds it. It is opened and migrated at start; when
// the database cannot be reached then, the service starts anyway (a screening does not
// depend on storage) and a background loop opens it as soon as it can, so that recovery
// needs no restart. Once open, the loop checks it for trialscreen_store_up.
type serveStore struct {
	cur     atomic.Pointer[store.Store]
	cfg     store.Config
	log     *slog.Logger
	metrics *api.Metrics
	stop    context.CancelFunc
	done    chan struct{}
}

var (
	_ api.Screenings = (*serveStore)(nil)
	_ api.Worklist   = (*serveStore)(nil)
	_ api.JTIStore   = (*serveStore)(nil)
	_ api.AuditStore = (*serveStore)(nil)
	_ api.Sessions   = (*serveStore)(nil)
)

// openServeStore opens the configured store and starts its check loop; close stops
// both. It logs which backend it uses, never a password.
func openServeStore(ctx context.Context, cfg serveConfig, now func() time.Time, log *slog.Logger, metrics *api.Metrics) *serveStore {
	s := &serveStore{
		cfg: store.Config{DatabaseURL: cfg.databaseURL, DataDir: cfg.dataDir, Now: now},
		log: log, metrics: metrics, done: make(chan struct{}),
	}
	if cfg.databaseURL != "" {
		log.Info("store: PostgreSQL", "database", store.RedactURL(cfg.databaseURL))
	} else {
		log.Info("store: SQLite", "data_dir", cfg.dataDir, "file", store.SQLiteFile)
	}
	sctx, cancel := context.WithTimeout(ctx, storeStartTimeout)
	s.tryOpen(sctx)
	cancel()
	lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	go s.loop(lctx)
	return s
}

// tryOpen opens and migrates the store, reporting whether it could.
func (s *serveStore) tryOpen(ctx context.Context) bool {
	st, err := store.Open(ctx, s.cfg)
	if err != nil {
		s.metrics.SetStoreUp(false)
		s.log.Error("store unavailable: screenings are answered but not stored until it opens", "error", err.Error())
		return false
	}
	s.cur.Store(st)
	s.metrics.SetStoreUp(true)
	v, _ := st.SchemaVersion(ctx)
	s.log.Info("store open", "backend", st.Backend(), "where", st.Where(), "schema_version", v)
	return true
}

// loop opens the store while it is not open, and checks it while it is.
func (s *serveStore) loop(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(storeCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, storeStartTimeout)
		if st := s.cur.Load(); st == nil {
			s.tryOpen(cctx)
		} else {
			s.metrics.SetStoreUp(st.Ping(cctx) == nil)
		}
		cancel()
	}
}

// Ping says whether the store answers now (not yet open: errStoreNotOpen).
func (s *serveStore) Ping(ctx context.Context) error {
	return withStoreErr(s, func(st *store.Store) error { return st.Ping(ctx) })
}

// close stops the loop and closes the database.
func (s *serveStore) close() {
	s.stop()
	<-s.done
	if st := s.cur.Load(); st != nil {
		_ = st.Close()
	}
}

func (s *serveStore) Save(ctx context.Context, sc store.Screening) error {
	return withStoreErr(s, func(st *store.Store) error { return st.Save(ctx, sc) })
}

func (s *serveStore) Get(ctx context.Context, id string) (store.Screening, error) {
	return withStore(s, func(st *store.Store) (store.Screening, error) { return st.Get(ctx, id) })
}

func (s *serveStore) ListByPatient(ctx context.Context, patientID, cursor string, limit int) (store.Page, error) {
	return withStore(s, func(st *store.Store) (store.Page, error) { return st.ListByPatient(ctx, patientID, cursor, limit) })
}

func (s *serveStore) Worklist(ctx context.Context, q store.WorklistQuery) (store.WorklistPage, error) {
	return withStore(s, func(st *store.Store) (store.WorklistPage, error) { return st.Worklist(ctx, q) })
}

func (s *serveStore) UseJTI(ctx context.Context, issuer, jti string, until time.Time) error {
	return withStoreErr(s, func(st *store.Store) error { return st.UseJTI(ctx, issuer, jti, until) })
}

func (s *serveStore) AppendAudits(ctx context.Context, entries []store.AuditEntry) error {
	return withStoreErr(s, func(st *store.Store) error { return st.AppendAudits(ctx, entries) })
}

func (s *serveStore) DeleteScreeningsBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	return withStore(s, func(st *store.Store) (int64, error) { return st.DeleteScreeningsBefore(ctx, cutoff) })
}

// withStore runs f on the open store, or fails with errStoreNotOpen while the database
// has not been reached yet (the service screens meanwhile; nothing is stored).
func withStore[T any](s *serveStore, f func(*store.Store) (T, error)) (T, error) {
	if st := s.cur.Load(); st != nil {
		return f(st)
	}
	var zero T
	return zero, errStoreNotOpen
}

// withStoreErr is withStore for an operation that gives only an error.
func withStoreErr(s *serveStore, f func(*store.Store) error) error {
	_, err := withStore(s, func(st *store.Store) (struct{}, error) { return struct{}{}, f(st) })
	return err
}

func (s *serveStore) CreateSession(ctx context.Context, se store.Session) error {
	if st := s.cur.Load(); st != nil {
		return st.CreateSession(ctx, se)
	}
	return errStoreNotOpen
}

func (s *serveStore) GetSession(ctx context.Context, idHash string) (store.Session, error) {
	if st := s.cur.Load(); st != nil {
		return st.GetSession(ctx, idHash)
	}
	return store.Session{}, errStoreNotOpen
}

func (s *serveStore) TouchSession(ctx context.Context, idHash string, seen time.Time) error {
	if st := s.cur.Load(); st != nil {
		return st.TouchSession(ctx, idHash, seen)
	}
	return errStoreNotOpen
}

func (s *serveStore) DeleteSession(ctx context.Context, idHash string) error {
	if st := s.cur.Load(); st != nil {
		return st.DeleteSession(ctx, idHash)
	}
	return errStoreNotOpen
}

func (s *serveStore) DeleteExpiredSessions(ctx context.Context, now, idleCutoff time.Time) (int64, error) {
	if st := s.cur.Load(); st != nil {
		return st.DeleteExpiredSessions(ctx, now, idleCutoff)
	}
	return 0, errStoreNotOpen
}
