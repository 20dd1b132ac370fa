package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/screening"
)

// REST routes, as Echo registers them (and as the OpenAPI document names them, with
// {id} for :id).
const (
	routePatientScreening = "/v1/patients/:id/screening"
	routeScreenings       = "/v1/screenings"
)

// registerREST adds the REST surface for referral portals and its OpenAPI document.
func (s *Server) registerREST(e *echo.Echo) {
	// Admission before authentication: under overload, a refusal costs less than a
	// token check.
	e.GET(routePatientScreening, s.getScreening, s.admit, s.authenticate())
	e.POST(routeScreenings, s.postScreening, s.admit, s.payForBody, s.authenticate())
	e.GET("/openapi.json", s.openAPI)
}

// callerKey holds the authenticated Caller in the Echo context.
const callerKey = "trialscreen.caller"

func callerOf(c echo.Context) Caller {
	caller, _ := c.Get(callerKey).(Caller)
	return caller
}

// callerAnonymous is the caller when REST is open: demo mode without Auth. Nobody signs
// in to a demo, so its one user may do everything a coordinator does.
var callerAnonymous = Caller{ID: "anonymous", Role: RoleCoordinator}

// authenticate applies s.cfg.Auth, or a signed-in session. A request with an
// Authorization header is a bearer caller, as always; one without it but with a session
// cookie is that session's person. A request refused gets a bare 401: the reason goes to
// the debug log only (authenticators never put the token in their errors).
func (s *Server) authenticate() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if s.cfg.Auth == nil && s.cfg.Demo {
				c.Set(callerKey, callerAnonymous)
				return next(c)
			}
			var caller Caller
			var err error
			switch id := s.sessionID(r); {
			case r.Header.Get("Authorization") == "" && id != "" && s.cfg.SignIn != nil:
				caller, err = s.sessionCaller(r.Context(), id)
				if errors.As(err, new(*storeUnavailable)) {
					return err
				}
			case s.cfg.Auth != nil:
				caller, err = s.cfg.Auth.Authenticate(r)
			default:
				err = errors.New("no session cookie, and no bearer authentication is configured")
			}
			if err == nil && caller.ID == "" {
				err = errors.New("the authenticator gave no caller id")
			}
			if err != nil {
				s.log.Debug("REST request not authenticated", "route", c.Path(), "reason", err.Error())
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, "Bearer")
				return errUnauthenticated
			}
			c.Set(callerKey, caller)
			return next(c)
		}
	}
}

// getScreening screens a patient of the record source by id. A browser (Accept
// preferring text/html) gets the coordinator's report page; everyone else the verdict
// document.
func (s *Server) getScreening(c echo.Context) error {
	c.Response().Header().Add(echo.HeaderVary, echo.HeaderAccept)
	id := c.Param("id")
	if err := checkFHIRID("id", id); err != nil {
		return err
	}
	st, err := s.settings(c.QueryParam("as_of"), c.QueryParam("lymphodepletion_date"))
	if err != nil {
		return err
	}
	html := prefersHTML(c.Request().Header.Get(echo.HeaderAccept))
	surface := surfaceREST
	if html {
		surface = surfaceReport
	}
	r := c.Request()
	result, err := s.screen(r.Context(), screenRequest{
		Surface: surface, Caller: callerOf(c), Address: remoteAddr(r),
		PatientID: id, SourceName: s.sourceName(), Settings: st,
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	if html {
		return s.renderReport(c, result)
	}
	return c.JSON(http.StatusOK, result)
}

// sourceName names the configured record source in audit records.
func (s *Server) sourceName() string {
	if s.cfg.Demo {
		return "demo"
	}
	return "fhir"
}

// screeningRequest is the body of POST /v1/screenings: a patient of the record source by
// id, or the patient's record as a FHIR Bundle (then patient_id, optional, chooses the
// patient when the Bundle holds several).
type screeningRequest struct {
	PatientID       string
	AsOf            string
	Lymphodepletion string
	Bundle          json.RawMessage // nil: fetch by PatientID
}

// screeningFields are the members a POST body may have.
var screeningFields = []string{"patient_id", "as_of", "lymphodepletion_date", "bundle"}

// postScreening screens the patient a JSON body names or carries.
func (s *Server) postScreening(c echo.Context) error {
	r := c.Request()
	if err := checkJSONContentType(r.Header.Get(echo.HeaderContentType)); err != nil {
		return err
	}
	// Settings travel in the body here; a query parameter would be silently ignored.
	data, err := readJSONBody(r, []string{"patient_id", "as_of", "lymphodepletion_date"})
	if err != nil {
		return err
	}
	req, err := parseScreeningRequest(data)
	if err != nil {
		return err
	}
	if req.Bundle == nil && req.PatientID == "" {
		return invalid("patient_id", "is required (or send the patient's record as bundle)")
	}
	if req.PatientID != "" {
		if err := checkFHIRID("patient_id", req.PatientID); err != nil {
			return err
		}
	}
	st, err := s.settings(req.AsOf, req.Lymphodepletion)
	if err != nil {
		return err
	}
	rq := screenRequest{
		Surface: surfaceREST, Caller: callerOf(c), Address: remoteAddr(r),
		PatientID: req.PatientID, SourceName: s.sourceName(), Settings: st,
	}
	if req.Bundle != nil {
		rec, err := s.readBundle(r, len(data), req.Bundle, req.PatientID)
		if err != nil {
			return err
		}
		rq.Record, rq.SourceName = rec, "bundle"
		if rq.PatientID == "" && rec.Patient != nil {
			rq.PatientID = rec.Patient.ID
			if rq.PatientID == "" {
				rq.PatientID = rec.Patient.Ref
			}
		}
	}
	result, err := s.screen(r.Context(), rq)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusOK, result)
}

// readBundle reads the record a caller sent as a Bundle (of a body of n bytes). Its
// entries are counted first: over the cap it is a 413, and under it the request's share
// of the memory budget grows to what they cost before any is read.
func (s *Server) readBundle(r *http.Request, n int, bundle json.RawMessage, patientID string) (*screening.Record, error) {
	entries, _ := fhirbundle.CountEntries(bundle)
	if err := s.payForEntries(r, "bundle", "the Bundle", n, entries); err != nil {
		return nil, err
	}
	rec, err := s.reader.ReadBundleContext(r.Context(), bundle, patientID)
	switch {
	case r.Context().Err() != nil && errors.Is(err, r.Context().Err()):
		return nil, ownWork(err, "reading the bundle")
	case err != nil:
		return nil, invalid("bundle", "%v", err)
	}
	return rec, nil
}

// checkJSONContentType accepts application/json (with parameters such as charset).
func checkJSONContentType(ct string) error {
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && mt == echo.MIMEApplicationJSON {
		return nil
	}
	got := "none"
	if ct != "" {
		got = strconv.Quote(ct)
	}
	return echo.NewHTTPError(http.StatusUnsupportedMediaType, fmt.Sprintf(
		`Content-Type must be application/json (got %s): send {"patient_id": ...} or {"bundle": <FHIR Bundle>, ...}`, got))
}

// parseScreeningRequest reads a POST body. Every error names the member at fault; an
// unknown member is an error, so that a misspelt setting is never silently ignored.
func parseScreeningRequest(data []byte) (screeningRequest, error) {
	var req screeningRequest
	members, err := jsonObject(data, screeningFields, "send a JSON object")
	if err != nil {
		return req, err
	}
	err = stringMembers(members, map[string]*string{
		"patient_id": &req.PatientID, "as_of": &req.AsOf, "lymphodepletion_date": &req.Lymphodepletion,
	})
	if err != nil {
		return req, err
	}
	if raw, ok := members["bundle"]; ok && !bytes.Equal(raw, []byte("null")) {
		if raw[0] != '{' {
			return req, invalid("bundle", "must be a FHIR Bundle (a JSON object)")
		}
		req.Bundle = raw
	}
	return req, nil
}

// prefersHTML reports whether an Accept header ranks text/html above application/json,
// as a browser's does. JSON is the default: no Accept, */*, or a tie.
func prefersHTML(accept string) bool {
	if accept == "" {
		return false
	}
	return acceptQuality(accept, "text", "html") > acceptQuality(accept, "application", "json")
}

// acceptQuality is the q an Accept header gives typ/sub: that of the most specific
// media range matching it (RFC 9110 12.5.1), 0 when none does.
func acceptQuality(accept, typ, sub string) float64 {
	best, q := -1, 0.0
	for _, rng := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(rng))
		if err != nil {
			continue
		}
		rt, rs, _ := strings.Cut(mt, "/")
		spec := -1
		switch {
		case rt == typ && rs == sub:
			spec = 2
		case rt == typ && rs == "*":
			spec = 1
		case rt == "*" && rs == "*":
			spec = 0
		}
		if spec <= best {
			continue
		}
		rq := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
				rq = f
			}
		}
		best, q = spec, rq
	}
	return q
}
