package bodymem

import (
	"context"
	"io"
)

// growStep is how much of a body of unknown length is paid for at a time: a share grown
// per Read would take the budget's lock per network packet, and one grown by what the
// caller's buffer could hold would pay for up to twice the body (io.ReadAll doubles it).
const growStep = 256 << 10

// Body makes s pay for the bytes of a request body before the caller reads them. A body
// of declared length (length >= 0) was paid for when the share was taken, and the HTTP
// server reads no more than it declares: it is returned as it is. One sent in chunks
// (length < 0) grows the share a step at a time; a read that cannot get its step within
// the wait fails with the share's error (a BusyError, a TooLargeError, ctx's error).
func (s *Share) Body(ctx context.Context, body io.ReadCloser, length int64) io.ReadCloser {
	if s == nil || length >= 0 {
		return body
	}
	return &paidBody{ReadCloser: body, s: s, ctx: ctx}
}

type paidBody struct {
	io.ReadCloser
	s    *Share
	ctx  context.Context
	read int64 // bytes handed to the caller
	paid int64 // bytes the share pays for
}

func (b *paidBody) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return b.ReadCloser.Read(p)
	}
	if b.read >= b.paid {
		want := b.read + growStep
		if most := b.s.l.capacity / b.s.l.costs.PerBodyByte; want > most && most > b.read {
			want = most // a last step that would not fit in the budget is cut to what does
		}
		if err := b.s.Grow(b.ctx, want, 0); err != nil {
			// The body may be at its end, which only a read can tell: one byte costs
			// nothing to speak of.
			var one [1]byte
			if n, rerr := b.ReadCloser.Read(one[:]); n == 0 && rerr == io.EOF {
				return 0, io.EOF
			}
			return 0, err
		}
		b.paid = want
	}
	if rest := b.paid - b.read; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	return n, err
}
