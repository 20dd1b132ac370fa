package api

import (
	"mime"
	"net/http"
	"net/url"
	"slices"

	"github.com/labstack/echo/v4"
)

// reviewFormFields are the fields a browser's review form posts; CSRFField is the token
// the csrf middleware checks (this handler only tolerates it).
var reviewFormFields = []string{"decision", "note", "screening_id", CSRFField}

// registerReviewForms adds the routes browsers post forms to. The csrf middleware
// (routes(), for every route) has checked a session's token before authenticate()
// finds the caller, from the session or a bearer token; requireDecider refuses viewers.
func (s *Server) registerReviewForms(e *echo.Echo) {
	e.POST(routeReview, s.postReviewForm, s.authenticate(), s.requireDecider())
}

// postReviewForm records a decision posted from the report page's review panel, as the
// JSON PUT does, and sends the browser back to the report of the screening it was made
// on (303, so a reload does not post again).
func (s *Server) postReviewForm(c echo.Context) error {
	r := c.Request()
	if mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); err != nil || mt != echo.MIMEApplicationForm {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "Content-Type must be application/x-www-form-urlencoded (a form with decision, note and screening_id)")
	}
	// The body only: a value in the query string would be a link someone else made.
	form, err := readForm(r)
	if err != nil {
		return err
	}
	for name := range form {
		if !slices.Contains(reviewFormFields, name) {
			return invalid(name, "unknown field (the fields are decision, note, screening_id)")
		}
		if len(form[name]) > 1 {
			return invalid(name, "is given %d times; give it once", len(form[name]))
		}
	}
	rq := decisionRequest{PatientID: c.Param("id"), Criterion: c.Param("criterion"), Surface: surfaceReport,
		Decision: form.Get("decision"), Note: form.Get("note"), ScreeningID: form.Get("screening_id")}
	if _, err := s.decide(c, rq); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, storedScreeningPath(rq.ScreeningID)+"#review-"+rq.Criterion)
}

// readForm parses a urlencoded body within the body limit; a malformed one is a 400.
// When the csrf middleware has parsed it already (a session's form: the body is read),
// its fields are those.
func readForm(r *http.Request) (url.Values, error) {
	if r.PostForm != nil {
		return r.PostForm, nil
	}
	data, err := readJSONBody(r, nil) // the body as read by every route: limits and errors alike
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(data))
	if err != nil {
		return nil, invalid("body", "is not a urlencoded form: %v", err)
	}
	return form, nil
}
