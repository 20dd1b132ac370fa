package batch

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// lineReader reads lines of any length up to max; a longer one is reported as too long
// with only its first head bytes kept (to tell whose it is), so that one huge line
// cannot take the memory.
type lineReader struct {
	br   *bufio.Reader
	max  int
	head int // a too-long line's first head bytes (at most max) are returned
	buf  []byte
	line uint64
}

// next returns the next line without its newline; tooLong is set for a line over the
// limit, and line is then its first head bytes (nil when head is 0). io.EOF after the
// last line.
func (r *lineReader) next() (line []byte, tooLong bool, err error) {
	r.buf = r.buf[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		if !tooLong {
			if len(r.buf)+len(chunk) > r.max {
				tooLong = true
				keep := min(r.head, r.max)
				if len(r.buf) < keep {
					r.buf = append(r.buf, chunk[:min(keep-len(r.buf), len(chunk))]...)
				}
				r.buf = r.buf[:min(len(r.buf), keep)]
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
			if len(r.buf) == 0 {
				return nil, true, nil
			}
			return r.buf, true, nil
		}
		return bytes.TrimRight(chunk, "\r\n \t"), false, nil
	}
}
