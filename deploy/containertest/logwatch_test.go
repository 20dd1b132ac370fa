package containertest

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/testcontainers/testcontainers-go"
)

// logWatch follows a container's log and tells when a line holding one of its keys
// has appeared: how a test knows that something happened inside a container.
type logWatch struct {
	mu   sync.Mutex
	seen map[string]chan struct{}
}

func newLogWatch(keys ...string) *logWatch {
	w := &logWatch{seen: map[string]chan struct{}{}}
	for _, k := range keys {
		w.seen[k] = make(chan struct{})
	}
	return w
}

// Accept is testcontainers' log consumer hook.
func (w *logWatch) Accept(l testcontainers.Log) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, ch := range w.seen {
		if strings.Contains(string(l.Content), k) {
			select {
			case <-ch:
			default:
				close(ch)
			}
		}
	}
}

// wait blocks until a line with key has appeared, or ctx ends.
func (w *logWatch) wait(ctx context.Context, key string) error {
	w.mu.Lock()
	ch, ok := w.seen[key]
	w.mu.Unlock()
	if !ok {
		return fmt.Errorf("logWatch: %q is not watched", key)
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("no log line with %q: %w", key, ctx.Err())
	}
}
