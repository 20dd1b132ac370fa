package batch

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
)

// The grouping pass is a pipeline, so that every core works while the input is read:
// one goroutine reads the files and cuts them into chunks of whole lines, workers peek
// at every line of a chunk (validity, type, patient, stub or not), and one goroutine
// takes the chunks back in input order and applies them (problems, Medications, the
// sort). Applying in input order keeps what a sequential pass does: the same problems
// in the same order, the first Medication of an id winning, the same sort content.

// chunkSize is about how many bytes of lines one chunk carries.
const chunkSize = 1 << 20

// tooLongHead is how much of a line over MaxLine is kept, to tell its type and patient:
// the subject comes early in any resource an exporter writes.
const tooLongHead = 64 << 10

// chunk is a run of lines of one file, handed from the reader to a worker to the
// applier and then back to the reader for reuse.
type chunk struct {
	file   int
	bundle bool // the file is a Bundle: the applier scans it whole
	data   []byte
	lines  []chunkLine
	out    []lineOut     // one per line, filled by the worker
	done   chan struct{} // the worker is done (capacity 1)
}

type chunkLine struct {
	no       uint64
	off, end int // in data
	tooLong  bool
}

func (c *chunk) reset(file int) {
	if cap(c.data) > 4*chunkSize {
		c.data = nil // a huge line's buffer is not kept
	}
	c.file, c.bundle = file, false
	c.data, c.lines, c.out = c.data[:0], c.lines[:0], c.out[:0]
}

// scanAll runs the grouping pass over every input file.
func (s *scanner) scanAll(ctx context.Context) error {
	workers := runtime.GOMAXPROCS(0)
	inFlight := 2*workers + 2
	g, gctx := errgroup.WithContext(ctx)
	free := make(chan *chunk, inFlight)
	for range inFlight {
		free <- &chunk{done: make(chan struct{}, 1)}
	}
	work := make(chan *chunk)
	ordered := make(chan *chunk, inFlight) // never blocks: at most inFlight chunks exist
	// The bytes in flight are bounded too: a chunk holding a huge line (up to MaxLine)
	// takes the whole allowance, so such lines go one at a time.
	allowance := int64(inFlight * chunkSize)
	inBytes := semaphore.NewWeighted(allowance)
	weight := func(c *chunk) int64 { return min(int64(len(c.data)), allowance) }

	g.Go(func() error {
		defer close(ordered)
		defer close(work)
		send := func(c *chunk) error {
			if err := inBytes.Acquire(gctx, weight(c)); err != nil {
				return err
			}
			ordered <- c
			select {
			case work <- c:
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		take := func(file int) (*chunk, error) {
			if err := gctx.Err(); err != nil {
				return nil, err
			}
			select {
			case c := <-free:
				c.reset(file)
				return c, nil
			case <-gctx.Done():
				return nil, gctx.Err()
			}
		}
		for i := range s.files {
			if err := s.readFile(i, take, send); err != nil {
				return err
			}
		}
		return nil
	})
	for range workers {
		g.Go(func() error {
			for c := range work {
				for _, l := range c.lines {
					if l.tooLong {
						// Its first bytes may still tell its type and patient.
						c.out = append(c.out, s.unreadableLine(c.file, c.data[l.off:l.end], fmt.Sprintf("longer than %d bytes", s.maxLine), nil))
						continue
					}
					c.out = append(c.out, s.routeLine(c.file, l.no, c.data[l.off:l.end]))
				}
				c.done <- struct{}{}
			}
			return nil
		})
	}
	g.Go(func() error {
		for c := range ordered {
			select {
			case <-c.done:
			case <-gctx.Done():
				return gctx.Err()
			}
			if err := s.apply(c); err != nil {
				return err
			}
			inBytes.Release(weight(c))
			free <- c
		}
		return nil
	})
	return g.Wait()
}

// readFile cuts one input file into chunks of whole lines.
func (s *scanner) readFile(idx int, take func(int) (*chunk, error), send func(*chunk) error) error {
	f := s.files[idx]
	c, err := take(idx)
	if err != nil {
		return err
	}
	if f.kind == fileBundle {
		c.bundle = true
		return send(c)
	}
	fh, err := os.Open(f.path)
	if err != nil {
		return fmt.Errorf("batch: input %w", err)
	}
	defer fh.Close()
	var r io.Reader = &countingReader{r: fh, p: s.env.Progress}
	if f.kind == fileNDJSONGzip {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("batch: input %s: %w", f.path, err)
		}
		defer gz.Close()
		r = gz
	}
	lr := &lineReader{br: bufio.NewReaderSize(r, 1<<20), max: s.maxLine, head: tooLongHead}
	for {
		line, tooLong, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("batch: input %s line %d: %w", f.path, lr.line+1, err)
		}
		if tooLong || len(line) > 0 {
			off := len(c.data)
			c.data = append(c.data, line...)
			c.lines = append(c.lines, chunkLine{no: lr.line, off: off, end: len(c.data), tooLong: tooLong})
		}
		if len(c.data) >= chunkSize || len(c.lines) >= chunkSize/64 {
			if err := send(c); err != nil {
				return err
			}
			if c, err = take(idx); err != nil {
				return err
			}
		}
	}
	return send(c)
}

// apply does, in input order, what the worker found for each line of a chunk.
func (s *scanner) apply(c *chunk) error {
	if c.bundle {
		return s.scanBundle(c.file)
	}
	for i := range c.out {
		o := &c.out[i]
		no := c.lines[i].no
		if o.fatal != "" {
			return fmt.Errorf("batch: input %s line %d: %s", s.files[c.file].path, no, o.fatal)
		}
		if o.problem != "" {
			s.problem(c.file, no, "%s", o.problem)
		}
		if o.patient {
			s.patients++
		}
		switch o.act {
		case actMed:
			conflict, err := s.meds.add(o.medID, c.data[c.lines[i].off:c.lines[i].end])
			if err != nil {
				return err
			}
			if conflict {
				s.problem(c.file, no, "a Medication with the id of an earlier Medication line but other content: which drug a medicationReference to that id means cannot be told, so every such reference counts as unreadable")
			}
		case actMedBad:
			s.meds.markBad(o.medID)
		case actRunUnreadable:
			s.anyone.add(fmt.Sprintf("%s line %d", s.files[c.file].path, no), o.unread)
		case actRecord:
			// The worker does not know where the line is; the sort needs it.
			o.rec.file, o.rec.line = uint32(c.file), no
			if err := s.sort.Add(&o.rec); err != nil {
				return err
			}
		}
	}
	return nil
}
