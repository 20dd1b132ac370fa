package api

import (
	"context"
	"errors"
	"time"

	"github.com/trialscreen/trialscreen/store"
)

// JTIStore remembers the CDS Hooks token ids (jti) EHRs have used, for every replica:
// a token accepted by one is a replay on the others. UseJTI returns store.ErrReplay for a
// jti already used and not expired. store.Store implements it. Nil in Config: each
// replica remembers its own (cdsJTIStore), enough for one replica and for tests.
type JTIStore interface {
	UseJTI(ctx context.Context, issuer, jti string, until time.Time) error
}

// errJTIReplay is why a replayed token is refused (for the log).
var errJTIReplay = errors.New("jti was already used (replay)")

// useJTI records a token's jti, refusing a replay. With a shared store, a store that
// fails or is slow does not refuse every EHR call: the replica's own set decides then
// (replays to this replica are still caught), and the failure is counted and logged.
// The replica's set is kept in step either way, so that it knows its tokens when the
// store is down.
func (v *cdsVerifier) useJTI(ctx context.Context, client *ehrClient, jti string, until, now time.Time) error {
	if v.shared == nil {
		return client.jtis.use(jti, until, now)
	}
	err := v.storeCall(ctx, storeOpJTI, func(ctx context.Context) error {
		return v.shared.UseJTI(ctx, client.issuer, jti, until)
	})
	local := client.jtis.use(jti, until, now)
	switch {
	case errors.Is(err, store.ErrReplay):
		return errJTIReplay
	case err != nil:
		v.log.Warn("cds jti store failed: checking replays on this replica only", "error", err.Error())
		return local
	}
	return nil
}
