package store

import (
	"context"
	"fmt"
	"time"
)

// AuditCheck is what VerifyAudit found.
type AuditCheck struct {
	Count int64 // rows in the table
	// BrokenSeq is the first seq where the chain breaks: a row changed (its hash is not
	// what its content gives), a row missing (the seq that should come next), or a link
	// that does not match the row before. 0: intact.
	BrokenSeq int64
	Reason    string // why, when broken
}

// Intact tells whether no link is broken.
func (c AuditCheck) Intact() bool { return c.BrokenSeq == 0 }

// VerifyAudit walks the whole chain from seq 1. What it cannot see: rows removed from
// the end, or the whole chain rewritten from some row on by someone who can write the
// table; exporting the records to a hospital's audit repository (trialscreen audit
// export) keeps a copy they cannot reach.
func (s *Store) VerifyAudit(ctx context.Context) (AuditCheck, error) {
	var c AuditCheck
	want, prev := int64(1), genesisHash
	err := s.EachAudit(ctx, time.Time{}, func(r AuditRecord) error {
		c.Count++
		if c.BrokenSeq != 0 {
			return nil // counting only: the first break is the one reported
		}
		switch {
		case r.Seq != want:
			c.BrokenSeq, c.Reason = want, fmt.Sprintf("seq %d is missing (the next row is seq %d)", want, r.Seq)
		case r.PrevHash != prev:
			c.BrokenSeq, c.Reason = r.Seq, fmt.Sprintf("seq %d: prev_hash does not match the hash of seq %d", r.Seq, r.Seq-1)
		case chainHash(r.PrevHash, r.Seq, r.Created.UnixMicro(), r.EventID, r.Event) != r.Hash:
			c.BrokenSeq, c.Reason = r.Seq, fmt.Sprintf("seq %d: its content does not give its hash (the row was changed)", r.Seq)
		default:
			want, prev = r.Seq+1, r.Hash
		}
		return nil
	})
	if err != nil {
		return AuditCheck{}, fmt.Errorf("store: verify audit: %w", err)
	}
	return c, nil
}
