package batch

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Display shows a run's progress on w: a progress bar when w is a terminal (bytes
// while the input is grouped, then patients with rate and ETA), else a plain log line
// every interval. Messages go through it so that they do not tear the bar.
type Display struct {
	mu       sync.Mutex
	w        io.Writer
	p        *Progress
	tty      bool
	interval time.Duration
	bar      *progressbar.ProgressBar
	phase    string
	lastLog  time.Time
	start    time.Time // of the screening phase, for the logged rate
	stop     chan struct{}
	done     chan struct{}
}

// NewDisplay starts showing p on w; Stop ends it.
func NewDisplay(w io.Writer, p *Progress, tty bool, interval time.Duration) *Display {
	d := &Display{w: w, p: p, tty: tty, interval: interval, lastLog: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	tick := 200 * time.Millisecond
	if !tty {
		tick = min(interval, time.Second)
	}
	go func() {
		defer close(d.done)
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-d.stop:
				return
			case <-t.C:
				d.update()
			}
		}
	}()
	return d
}

// Printf writes a message line, clearing the bar first.
func (d *Display) Printf(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.bar != nil {
		_ = d.bar.Clear()
	}
	fmt.Fprintf(d.w, format+"\n", args...)
}

// Stop ends the display, leaving the bar at its final state.
func (d *Display) Stop() {
	close(d.stop)
	<-d.done
	d.update()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.bar != nil {
		_ = d.bar.Finish()
		fmt.Fprintln(d.w)
		d.bar = nil
	}
}

func (d *Display) update() {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.p.Snapshot()
	if s.Phase != d.phase {
		d.phase = s.Phase
		if s.Phase == PhaseScreening {
			d.start = time.Now()
		}
		if d.tty {
			d.newBar(s)
		}
	}
	if d.tty {
		switch {
		case d.bar == nil:
		case s.Phase == PhaseReading:
			_ = d.bar.Set64(s.BytesRead)
		default:
			if s.PatientsTotal >= 0 && s.PatientsDone > s.PatientsTotal {
				d.bar.ChangeMax64(s.PatientsDone) // the total is an estimate
			}
			_ = d.bar.Set64(s.PatientsDone)
		}
		return
	}
	if time.Since(d.lastLog) < d.interval {
		return
	}
	d.lastLog = time.Now()
	switch s.Phase {
	case PhaseReading:
		fmt.Fprintf(d.w, "batch: reading input: %d of %d MB\n", s.BytesRead>>20, s.BytesTotal>>20)
	case PhaseScreening:
		rate := float64(s.PatientsDone) / time.Since(d.start).Seconds()
		line := fmt.Sprintf("batch: screened %d patients (%.0f/s)", s.PatientsDone, rate)
		if s.PatientsTotal > 0 && rate > 0 {
			left := max(s.PatientsTotal-s.PatientsDone, 0)
			line += fmt.Sprintf(" of about %d, ETA %s", s.PatientsTotal, (time.Duration(float64(left)/rate) * time.Second).Round(time.Second))
		}
		fmt.Fprintln(d.w, line)
	}
}

func (d *Display) newBar(s Snapshot) {
	if d.bar != nil {
		_ = d.bar.Finish()
		fmt.Fprintln(d.w)
		d.bar = nil
	}
	common := []progressbar.Option{progressbar.OptionSetWriter(d.w), progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionSetPredictTime(true), progressbar.OptionSetWidth(30), progressbar.OptionSetRenderBlankState(true)}
	switch s.Phase {
	case PhaseReading:
		d.bar = progressbar.NewOptions64(s.BytesTotal, append(common, progressbar.OptionSetDescription("reading"),
			progressbar.OptionShowBytes(true), progressbar.OptionShowTotalBytes(true))...)
	case PhaseScreening:
		total := s.PatientsTotal
		if total < 0 {
			total = -1 // unknown: a spinner
		}
		d.bar = progressbar.NewOptions64(total, append(common, progressbar.OptionSetDescription("screening"),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("patients"))...)
	}
}
