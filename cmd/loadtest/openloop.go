package main

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/trialscreen/trialscreen/internal/fhirstub"
)

// meter runs measured windows against the service and reads what each cost.
type meter struct {
	svc *service
	up  *fhirstub.Server
	clk clock
	gen load
}

// measure sends rate requests a second for d and reads, around the window, the
// service's CPU, the tool's own (load generator and stub: it shares the machine) and the
// requests the stub answered.
func (m meter) measure(ctx context.Context, rate int, d time.Duration) (result, error) {
	n := max(int(d.Seconds()*float64(rate)), 1)
	if err := m.gen.prepare(n, d); err != nil {
		return result{}, err
	}
	pid := strconv.Itoa(m.svc.pid())
	svc0, err := cpuTicks(pid)
	if err != nil {
		return result{}, err
	}
	self0, err := cpuTicks("self")
	if err != nil {
		return result{}, err
	}
	up0 := m.up.Requests()
	samples, lag, wall := openLoop(ctx, rate, n, m.gen.send)
	up1 := m.up.Requests()
	svc1, err := cpuTicks(pid)
	if err != nil {
		return result{}, err // the service has gone
	}
	self1, _ := cpuTicks("self")
	if ctx.Err() != nil {
		return result{}, ctx.Err()
	}
	return result{
		rate: rate, duration: d, samples: samples, lag: lag, wall: wall,
		upstream:   up1 - up0,
		serviceCPU: m.clk.seconds(svc1 - svc0), toolCPU: m.clk.seconds(self1 - self0),
		clk: m.clk, load: loadAverage(),
	}, nil
}

// openLoop starts request i at start + i/rate, each in its own goroutine, whether or not
// earlier ones have been answered. It returns the samples, how far at worst the sender
// fell behind its schedule (a busy machine can delay it), and the time from the start
// to the last answer.
func openLoop(ctx context.Context, rate, n int, send func(context.Context, int) sample) (samples []sample, lag, wall time.Duration) {
	samples = make([]sample, n)
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			n = i
			break
		}
		lag = max(lag, time.Since(due))
		wg.Add(1)
		go func() {
			defer wg.Done()
			samples[i] = send(ctx, i)
		}()
	}
	wg.Wait()
	return samples[:n], lag, time.Since(start)
}
