package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/internal/bodymem"
)

// payForBody makes a request with a body hold its share of the memory budget for
// bodies (Config.BodyMemory) from before its body is read until its answer is written:
// read, parsed and screened, a large body takes several times its size. A body of
// declared length pays for it at once; a chunked one as it is read. A request whose
// share is not free within the budget's short wait gets a 503 with Retry-After. It is
// the middleware of the routes that read a body, within the request's timeout (a wait
// for memory counts against it): a path without a route, or a method the route does
// not take, is a 404 or 405 whatever the budget holds.
func (s *Server) payForBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if s.cfg.BodyMemory == nil || r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			return next(c)
		}
		share, err := s.cfg.BodyMemory.Take(r.Context(), max(r.ContentLength, 0))
		if err != nil {
			return ownWork(err, "waiting for memory to read the body")
		}
		defer share.Release()
		ctx := bodymem.WithShare(r.Context(), share)
		r = r.WithContext(ctx)
		r.Body = share.Body(ctx, r.Body, r.ContentLength)
		c.SetRequest(r)
		return next(c)
	}
}

// payForEntries checks the entries of the record a caller sent (field, worded as what),
// counted and not yet read, against the cap on a record's entries (a 413 naming the
// count and the cap), then makes the request's share pay for a body of n bytes holding
// them: a body of tiny entries costs more than its bytes say.
func (s *Server) payForEntries(r *http.Request, field, what string, n, entries int) error {
	if max := s.reader.MaxEntries(); entries > max {
		return &tooLarge{field: field, msg: (&fhirbundle.TooManyEntriesError{What: what, Count: entries, Max: max}).Error()}
	}
	return bodymem.ShareOf(r.Context()).Grow(r.Context(), int64(n), int64(entries))
}
