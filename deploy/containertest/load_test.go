package containertest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// load screens the demo patients continuously from a few workers and judges every
// answer, labelled with the phase of the drill in which its request started.
type load struct {
	mu         sync.Mutex
	phase      string
	counts     map[string]map[string]int // phase -> outcome -> answers
	violations []string

	cancel context.CancelFunc
	done   sync.WaitGroup
}

func startLoad(ctx context.Context, sv *service, workers int, phase string) *load {
	ctx, cancel := context.WithCancel(ctx)
	l := &load{phase: phase, counts: map[string]map[string]int{}, cancel: cancel}
	ids := make([]string, 0, len(wantVerdict))
	for id := range wantVerdict {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for w := 0; w < workers; w++ {
		l.done.Add(1)
		go func() {
			defer l.done.Done()
			for i := w; ctx.Err() == nil; i++ {
				id := ids[i%len(ids)]
				phase := l.currentPhase()
				a := sv.screen(ctx, id)
				if ctx.Err() != nil {
					return // stopped by the test, not an answer of the service
				}
				l.record(phase, id, a)
			}
		}()
	}
	return l
}

func (l *load) currentPhase() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.phase
}

// enter labels the requests that start from now on.
func (l *load) enter(phase string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.phase = phase
}

func (l *load) record(phase, id string, a answer) {
	outcome, err := judge(id, a)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.violations = append(l.violations, phase+": "+err.Error())
		outcome = "VIOLATION"
	}
	if l.counts[phase] == nil {
		l.counts[phase] = map[string]int{}
	}
	l.counts[phase][outcome]++
}

// count is how many answers of phase had outcome.
func (l *load) count(phase, outcome string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[phase][outcome]
}

// total is how many answers phase had, and how many of them were not correct.
func (l *load) total(phase string) (all, degraded int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for o, n := range l.counts[phase] {
		all += n
		if o != outcomeCorrect {
			degraded += n
		}
	}
	return all, degraded
}

// waitCount waits until phase has n answers with outcome.
func (l *load) waitCount(ctx context.Context, phase, outcome string, n int, within time.Duration) error {
	start := time.Now()
	for l.count(phase, outcome) < n {
		if time.Since(start) > within || ctx.Err() != nil {
			return fmt.Errorf("%s: %d answers %s within %s, want %d", phase, l.count(phase, outcome), outcome, within, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// stop ends the load and waits for the workers.
func (l *load) stop() {
	l.cancel()
	l.done.Wait()
}

// summary lists the outcomes per phase, e.g. "outage: 502=12 correct=3".
func (l *load) summary(phases ...string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, p := range phases {
		var parts []string
		for o, n := range l.counts[p] {
			parts = append(parts, fmt.Sprintf("%s=%d", o, n))
		}
		sort.Strings(parts)
		fmt.Fprintf(&b, "\n  %-9s %s", p+":", strings.Join(parts, " "))
	}
	return b.String()
}
