package funnel

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/trialscreen/trialscreen/screening"
)

// FromNDJSON rebuilds a funnel from verdict documents, one JSON document a line (what a
// batch run writes), e.g. to merge shards. Blank lines are skipped. Unlike Add, a line
// that is not a verdict document of this protocol is an error naming its line number:
// a merge that silently dropped patients would report a wrong funnel.
func FromNDJSON(p *screening.Protocol, r io.Reader) (*Funnel, error) {
	f := New(p)
	br := bufio.NewReaderSize(r, 64<<10)
	var s screening.Screening
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("funnel: reading NDJSON at line %d: %w", line, err)
		}
		if len(bytes.TrimSpace(b)) > 0 {
			if derr := f.addLine(b, &s); derr != nil {
				return nil, fmt.Errorf("funnel: NDJSON line %d: %w", line, derr)
			}
		}
		if err != nil { // io.EOF, after the last line
			return f, nil
		}
	}
}

// addLine decodes one line into s (reusing its slice) and counts it.
func (f *Funnel) addLine(b []byte, s *screening.Screening) error {
	if err := s.UnmarshalOutline(b); err != nil {
		return fmt.Errorf("not a verdict document: %w", err)
	}
	return f.add(s)
}
