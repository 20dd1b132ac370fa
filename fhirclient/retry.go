package fhirclient

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// get makes a GET (or POSTs a batch of GETs) through the circuit breaker, retrying what
// may pass (5xx, 429, connection failures) up to Config.Attempts times. Only requests
// without side effects come here: retrying anything else could repeat a change.
func (c *Client) get(ctx context.Context, rq *request) ([]byte, error) {
	if c.breaker == nil {
		body, e := c.retry(ctx, rq)
		if e != nil {
			return nil, e
		}
		return body, nil
	}
	body, e, refused := c.breaker.run(func() ([]byte, *Error, circuitOutcome) {
		body, e := c.retry(ctx, rq)
		if e != nil {
			return nil, e, judge(e, ctx.Err() != nil)
		}
		return body, nil, circuitSuccess
	})
	if refused != nil {
		c.obs.Request(rq.resourceType(), classOpen, 0)
		return nil, c.breaker.refusal(rq, refused)
	}
	if e != nil {
		return nil, e
	}
	return body, nil
}

// retry makes up to Config.Attempts attempts, and one more after a 401 when a new token
// can be had; the breaker sees its result as one.
func (c *Client) retry(ctx context.Context, rq *request) ([]byte, *Error) {
	renewed := false
	for n := 1; ; n++ {
		body, e, retryAfter := c.attempt(ctx, rq)
		if e == nil {
			return body, nil
		}
		e.Attempts = n
		if e.Status == http.StatusUnauthorized && c.dropToken(rq.sentToken) && !renewed && ctx.Err() == nil {
			renewed = true
			if c.haveNewToken(ctx, rq, e) {
				c.obs.Retry(rq.resourceType())
				continue
			}
		}
		if !e.retryable || n >= c.cfg.Attempts || ctx.Err() != nil {
			return nil, e
		}
		wait := c.backoff(n)
		if retryAfter >= 0 {
			if retryAfter > c.cfg.MaxRetryAfter {
				e.note("the server asks to retry after %s, longer than MaxRetryAfter (%s)", retryAfter, c.cfg.MaxRetryAfter)
				return nil, e
			}
			wait = max(retryAfter, wait) // Retry-After: 0 must not mean retrying at once
		}
		// Waiting only to be cut off by the deadline helps no one: say so now, while
		// the caller still has time to do something else.
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
			e.note("retrying after %s would pass the deadline", wait.Round(time.Millisecond))
			return nil, e
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
			c.obs.Retry(rq.resourceType())
		case <-ctx.Done():
			t.Stop()
			e.note("%s while waiting to retry", ctxWord(ctx.Err()))
			return nil, e
		}
	}
}

// TokenInvalidator is implemented by a TokenSource that caches tokens (SMARTBackend).
// The Client calls Invalidate with the token a server refused with 401 (a token can be
// revoked before it expires); the source drops it if it is still the one it would give,
// so that the next Token call gets a new one.
type TokenInvalidator interface {
	Invalidate(token string)
}

// dropToken tells the token source that the server refused tok; false when there was no
// token or the source cannot drop it.
func (c *Client) dropToken(tok string) bool {
	inv, ok := c.cfg.Token.(TokenInvalidator)
	if !ok || tok == "" {
		return false
	}
	inv.Invalidate(tok)
	return true
}

// haveNewToken reports whether the token source now gives a token other than the refused
// one: only then can another attempt help.
func (c *Client) haveNewToken(ctx context.Context, rq *request, e *Error) bool {
	tok, err := c.cfg.Token.Token(ctx)
	if err != nil {
		e.note("a new token could not be had: %s", rq.secrets.clean(err.Error()))
		return false
	}
	return tok != "" && tok != rq.sentToken
}

func ctxWord(err error) string {
	if err == context.DeadlineExceeded {
		return "the deadline passed"
	}
	return "canceled"
}

// backoff is the wait before attempt n+1: exponential, capped, with "equal jitter" (half
// fixed, half random) so that clients failing together do not retry together.
func (c *Client) backoff(n int) time.Duration {
	d := c.cfg.MaxBackoff
	if n-1 < 31 {
		if x := c.cfg.BaseBackoff << (n - 1); x > 0 && x < d {
			d = x
		}
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP date; -1 when absent or
// unreadable (then the usual backoff applies).
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return -1
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return -1
		}
		if secs > int64(24*time.Hour/time.Second) {
			return 24 * time.Hour // beyond any cap; avoids overflow
		}
		return time.Duration(secs) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return -1
	}
	if d := t.Sub(now); d > 0 {
		return d
	}
	return 0
}
