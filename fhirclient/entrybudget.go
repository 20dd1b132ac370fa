package fhirclient

import (
	"context"
	"fmt"
	"sync/atomic"
)

// entryBudget counts the entries the pages of one record's searches bring against
// Config.MaxEntries: every page of every search of one RecordSource.Record together (a
// record fetched concurrently, type by type), or the pages of one Search. A page is
// counted by a scan of its bytes before any entry is made of it, so a page padded with
// empty entries is refused for the price of reading it once.
type entryBudget struct {
	max  int
	used atomic.Int64
	what string // "the record's searches", "the search"
}

type budgetKey struct{}

// withRecordBudget makes the searches made with ctx share one record's budget.
func withRecordBudget(ctx context.Context, max int) context.Context {
	return context.WithValue(ctx, budgetKey{}, &entryBudget{max: max, what: "the pages of the record's searches"})
}

// budgetFor is the budget of a search made with ctx: the record's, or one of its own.
func (c *Client) budgetFor(ctx context.Context) *entryBudget {
	if b, ok := ctx.Value(budgetKey{}).(*entryBudget); ok {
		return b
	}
	return &entryBudget{max: c.cfg.MaxEntries, what: "the pages of the search"}
}

// take counts n more entries; over the cap it says so (no server text: counts only).
func (b *entryBudget) take(n int) error {
	if total := b.used.Add(int64(n)); total > int64(b.max) {
		return fmt.Errorf("%s bring %d entries so far, more than the %d one patient's record may hold (MaxEntries); stopped", b.what, total, b.max)
	}
	return nil
}
