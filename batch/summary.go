package batch

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/trialscreen/trialscreen/funnel"
	"github.com/trialscreen/trialscreen/screening"
)

// SummaryHeader is the first row of summary.csv.
var SummaryHeader = []string{"patient_id", "verdict", "pass", "fail", "unknown", "review", "failing_criteria", "unknown_criteria"}

// summaryRow is one patient's row of summary.csv.
func summaryRow(s *screening.Screening) []string {
	var failing, unknown []string
	for _, r := range s.Criteria {
		switch r.Outcome {
		case screening.Fail:
			failing = append(failing, r.ID)
		case screening.Unknown:
			unknown = append(unknown, r.ID)
		}
	}
	c := s.Counts
	return []string{csvText(s.Patient.ID), csvText(string(s.Verdict)), strconv.Itoa(c.Pass), strconv.Itoa(c.Fail),
		strconv.Itoa(c.Unknown), strconv.Itoa(c.Review), csvText(strings.Join(failing, ";")), csvText(strings.Join(unknown, ";"))}
}

// csvText makes a text cell inert in a spreadsheet: one that begins with a character a
// spreadsheet reads as the start of a formula (=, +, -, @, tab, carriage return) gets a
// leading single quote, as OWASP's CSV injection advice has it. A FHIR id may begin
// with '-', and ids come from whoever wrote the export; any other cell is unchanged.
func csvText(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// Summarize reads verdict documents (NDJSON, as results.ndjson holds them) and writes the
// CSV summary to csvOut and counts each document in f. A line that is not a verdict
// document is an error naming its line: a summary that silently dropped patients would
// be wrong.
func Summarize(r io.Reader, csvOut io.Writer, f *funnel.Funnel) error {
	cw := csv.NewWriter(csvOut)
	if err := cw.Write(SummaryHeader); err != nil {
		return err
	}
	err := decodeDocs(r, func(s *screening.Screening) error {
		if err := cw.Write(summaryRow(s)); err != nil {
			return err
		}
		if f != nil {
			f.Add(s)
		}
		return nil
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// docBatch is some lines of results with their decoded documents.
type docBatch struct {
	first uint64 // line number of lines[0]
	lines [][]byte
	nos   []uint64
	docs  []*screening.Screening // nil: not a verdict document
	err   error                  // after the lines: reading stopped here
	done  chan struct{}
}

// decodeDocs reads verdict documents and calls put with each in order. The decoding
// (most of the time: a document is mostly evidence, which must still be scanned) runs
// on every core; put is called from one goroutine, in line order, and the first
// problem in line order is the one returned.
func decodeDocs(r io.Reader, put func(*screening.Screening) error) error {
	workers := runtime.GOMAXPROCS(0)
	work := make(chan *docBatch)
	ordered := make(chan *docBatch, 2*workers)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait() // r is not read any more once decodeDocs returns
	defer close(stop)
	wg.Add(1)
	go func() { // the reader
		defer wg.Done()
		defer close(ordered)
		defer close(work)
		lr := &lineReader{br: bufio.NewReaderSize(r, 1<<20), max: defaultMaxLine}
		b := &docBatch{done: make(chan struct{})}
		size := 0
		send := func() bool {
			select {
			case ordered <- b:
			case <-stop:
				return false
			}
			select {
			case work <- b:
			case <-stop:
				return false
			}
			b, size = &docBatch{done: make(chan struct{})}, 0
			return true
		}
		for {
			line, tooLong, err := lr.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.err = fmt.Errorf("batch: reading results line %d: %w", lr.line+1, err)
				send()
				return
			}
			if tooLong {
				b.err = fmt.Errorf("batch: results line %d: too long", lr.line)
				send()
				return
			}
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			b.lines = append(b.lines, bytes.Clone(line))
			b.nos = append(b.nos, lr.line)
			if size += len(line); size >= 1<<20 {
				if !send() {
					return
				}
			}
		}
		send()
	}()
	for range workers {
		go func() {
			for b := range work {
				b.docs = make([]*screening.Screening, len(b.lines))
				for i, line := range b.lines {
					b.docs[i] = decodeDoc(line)
				}
				b.lines = nil
				close(b.done)
			}
		}()
	}
	for b := range ordered {
		<-b.done
		for i, s := range b.docs {
			if s == nil {
				return fmt.Errorf("batch: results line %d: not a verdict document", b.nos[i])
			}
			if err := put(s); err != nil {
				return err
			}
		}
		if b.err != nil {
			return b.err
		}
	}
	return nil
}

// decodeDoc reads what the summary and the funnel need of one verdict document; nil
// when the line is not one.
func decodeDoc(line []byte) *screening.Screening {
	s := &screening.Screening{}
	if err := s.UnmarshalOutline(line); err != nil || s.Patient.ID == "" {
		return nil
	}
	return s
}

// Finish writes summary.csv, funnel.json and funnel.html from dir's results.ndjson and
// marks the run complete in run.json. Rebuilding from the results (rather than counting
// as the run goes) makes them the same whether or not the run was interrupted and
// resumed, or is a merge of shards. It returns the funnel, e.g. to print its table.
func Finish(dir string, p *screening.Protocol) (*funnel.Funnel, error) {
	in, err := os.Open(filepath.Join(dir, ResultsFile))
	if err != nil {
		return nil, fmt.Errorf("batch: %w", err)
	}
	defer in.Close()
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	f := funnel.New(p)
	// What was screened, for the funnel page (when the run started is left out: the
	// files must not depend on how the run went, resumed or merged).
	f.Inputs = m.Inputs
	err = writeFileWith(filepath.Join(dir, SummaryFile), func(w io.Writer) error { return Summarize(in, w, f) })
	if err != nil {
		return nil, err
	}
	var jb, hb bytes.Buffer
	if err := f.WriteJSON(&jb); err != nil {
		return nil, err
	}
	if err := f.WriteHTML(&hb); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, FunnelJSON), jb.Bytes()); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, FunnelHTML), hb.Bytes()); err != nil {
		return nil, err
	}
	m.Complete = true
	return f, writeManifest(dir, m)
}

// Stream is a Sink that writes the verdict documents as NDJSON to W (e.g. stdout) and
// counts them in Funnel when it is set.
type Stream struct {
	W      io.Writer
	Funnel *funnel.Funnel
}

func (s *Stream) Put(r *Result) error {
	if _, err := s.W.Write(append(r.JSON, '\n')); err != nil {
		return fmt.Errorf("batch: writing results: %w", err)
	}
	if s.Funnel != nil {
		s.Funnel.Add(r.Screening)
	}
	return nil
}
