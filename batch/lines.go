package batch

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// lineReader reads lines of any length up to max; longer ones are skipped whole and
// reported as too long, so that one huge line cannot take the memory.
type lineReader struct {
	br   *bufio.Reader
	max  int
	buf  []byte
	line uint64
}

// next returns the next line without its newline; tooLong is set (and line nil) for a
// line over the limit. io.EOF after the last line.
func (r *lineReader) next() (line []byte, tooLong bool, err error) {
	r.buf = r.buf[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		if !tooLong {
			if len(r.buf)+len(chunk) > r.max {
				tooLong, r.buf = true, r.buf[:0]
			} else if errors.Is(err, bufio.ErrBufferFull) || len(r.buf) > 0 {
				r.buf = append(r.buf, chunk...)
				chunk = r.buf
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(chunk) == 0 && !tooLong && len(r.buf) == 0:
			return nil, false, io.EOF
		case err != nil && err != io.EOF:
			return nil, false, err
		}
		r.line++
		if tooLong {
			return nil, true, nil
		}
		return bytes.TrimRight(chunk, "\r\n \t"), false, nil
	}
}
