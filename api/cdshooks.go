package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/internal/jsonscan"
	"github.com/trialscreen/trialscreen/screening"
)

const (
	cdsServiceID = "trialscreen-patient-view"
	cdsHook      = "patient-view"
)

// cdsHandler serves the CDS Hooks surface of one Server.
type cdsHandler struct {
	s        *Server
	verifier *cdsVerifier
	reports  *reportCache // the screenings behind report links that could not be stored
}

// registerCDS adds the CDS Hooks surface for EHRs, and the report page its cards link to.
func (s *Server) registerCDS(e *echo.Echo) {
	h := &cdsHandler{
		s: s, verifier: newCDSVerifier(s.cfg.CDS, s.cdsServiceURL(), s.cfg.Now, s.log),
		reports: newReportCache(reportLinkTTL, reportCacheEntries, reportCacheBytes, s.cfg.Now),
	}
	h.verifier.shared, h.verifier.storeCall = s.cfg.JTIs, s.storeCall
	e.GET("/cds-services", h.discovery)
	e.POST("/cds-services/"+cdsServiceID, h.patientView, s.admit, s.payForBody)
	e.GET(routeReport, h.report)
	h.registerFeedback(e)
}

// cdsServiceURL is the service endpoint, the audience the EHR's JWT must name. The spec
// makes aud the endpoint being invoked, so the discovery URL is not accepted for a hook
// call. "" when PublicURL is not set.
func (s *Server) cdsServiceURL() string {
	if s.cfg.PublicURL == "" {
		return ""
	}
	return strings.TrimRight(s.cfg.PublicURL, "/") + "/cds-services/" + cdsServiceID
}

type cdsService struct {
	Hook              string            `json:"hook"`
	ID                string            `json:"id"`
	Title             string            `json:"title"`
	Description       string            `json:"description"`
	Prefetch          map[string]string `json:"prefetch"`
	UsageRequirements string            `json:"usageRequirements,omitempty"`
}

// discovery lists the one service. It is open: it holds no patient data, and EHRs read
// it while being set up.
func (h *cdsHandler) discovery(c echo.Context) error {
	p := h.s.cfg.Protocol
	title := p.Info.Title
	svc := cdsService{
		Hook:  cdsHook,
		ID:    cdsServiceID,
		Title: "Clinical trial pre-screening: " + title,
		Description: "Screens the patient in view against the " + title + " trial's eligibility criteria " +
			"and returns one card with the verdict (potentially eligible, ineligible, or insufficient data), " +
			"the criteria that fail, are unknown or need review, and a link to the full report.",
		Prefetch: prefetchTemplates(p),
		UsageRequirements: "Send every prefetch key, or fhirServer with fhirAuthorization for a FHIR server " +
			"agreed with the service's operator; otherwise the service answers 412.",
	}
	return c.JSON(http.StatusOK, map[string]any{"services": []cdsService{svc}})
}

// hookRequest is a CDS Hooks call (spec: "Calling a CDS Service").
type hookRequest struct {
	Hook              string `json:"hook"`
	HookInstance      string `json:"hookInstance"`
	FHIRServer        string `json:"fhirServer"`
	FHIRAuthorization *struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	} `json:"fhirAuthorization"`
	Context *struct {
		PatientID string `json:"patientId"`
		UserID    string `json:"userId"`
	} `json:"context"`
	// Prefetch is read apart from the rest (decodePrefetch): its values are slices of
	// the body, not copies.
	Prefetch map[string]json.RawMessage `json:"-"`
}

var cdsHookInstancePattern = regexp.MustCompile(`^[\x21-\x7e]{1,128}$`) // a UUID in practice; bounded, printable

// decodeHookRequest reads and checks the body; a 400 names the field at fault.
func decodeHookRequest(c echo.Context) (*hookRequest, error) {
	var rq hookRequest
	// Read whole before decoding: a decoder can finish a value from the read that also
	// crossed the body limit, and an oversize body must be refused however it ends.
	data, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return nil, bodyReadError(c.Request(), err)
	}
	if err := json.Unmarshal(data, &rq); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, invalid(te.Field, "is JSON %s, not %s", te.Value, te.Type.Kind())
		}
		return nil, invalid("body", "is not a JSON CDS Hooks request: %v", err)
	}
	if rq.Prefetch, err = decodePrefetch(data); err != nil {
		return nil, err
	}
	switch {
	case rq.Hook == "":
		return nil, invalid("hook", "is required")
	case rq.Hook != cdsHook:
		return nil, invalid("hook", "is %q; this service answers %q", rq.Hook, cdsHook)
	case rq.HookInstance == "":
		return nil, invalid("hookInstance", "is required")
	case !cdsHookInstancePattern.MatchString(rq.HookInstance):
		return nil, invalid("hookInstance", "must be 1 to 128 printable characters (a UUID)")
	case rq.Context == nil:
		return nil, invalid("context", "is required")
	case rq.Context.PatientID == "":
		return nil, invalid("context.patientId", "is required")
	case !isFHIRID(rq.Context.PatientID):
		return nil, checkFHIRID("context.patientId", rq.Context.PatientID)
	case len(rq.Context.UserID) > 256:
		return nil, invalid("context.userId", "is longer than 256 characters")
	}
	if rq.FHIRServer != "" {
		if u, err := url.Parse(rq.FHIRServer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, invalid("fhirServer", "is not an absolute http(s) URL")
		}
	}
	if a := rq.FHIRAuthorization; a != nil {
		if rq.FHIRServer == "" {
			return nil, invalid("fhirServer", "is required with fhirAuthorization")
		}
		if a.AccessToken == "" {
			return nil, invalid("fhirAuthorization.access_token", "is required")
		}
		if a.TokenType != "" && !strings.EqualFold(a.TokenType, "Bearer") {
			return nil, invalid("fhirAuthorization.token_type", "is %q; only Bearer is supported", a.TokenType)
		}
	}
	return &rq, nil
}

// decodePrefetch reads the prefetch of a valid JSON request body, as a decode of it
// would (the member's name in any case, the last one given winning) but without copying
// its values, which are most of a body of up to MaxBodyBytes.
func decodePrefetch(data []byte) (map[string]json.RawMessage, error) {
	var raw []byte
	jsonscan.Members(data, func(name, val []byte) bool {
		if strings.EqualFold(memberName(name), "prefetch") {
			raw = val
		}
		return true
	})
	switch {
	case raw == nil || isJSONNull(raw):
		return nil, nil
	case raw[0] != '{':
		return nil, invalid("prefetch", "is JSON %s, not map", jsonKind(raw))
	}
	return decodeObject(raw)
}

// patientView answers the hook: authenticate the EHR, read the request, screen the
// patient from the prefetch or (only on an allowed server) the EHR's FHIR server, keep
// the result for the card's report link, and return one card.
func (h *cdsHandler) patientView(c echo.Context) error {
	s := h.s
	ehr, err := h.verifier.verify(c.Request())
	if err != nil {
		// The reason is for operators; the caller learns nothing that would help forge.
		s.log.Info("cds hook call refused", "reason", err.Error())
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="cds-services"`)
		return c.NoContent(http.StatusUnauthorized)
	}
	rq, err := decodeHookRequest(c)
	if err != nil {
		return err
	}
	settings, err := s.settings("", "")
	if err != nil {
		return err
	}
	patientID := rq.Context.PatientID
	// The card's uuid is made now so that the audit record carries it.
	cardUUID := newCardUUID()
	sr := screenRequest{
		Surface: surfaceCDS, Caller: Caller{ID: ehr.issuer, User: rq.Context.UserID},
		Address: remoteAddr(c.Request()), PatientID: patientID, Settings: settings,
		Audit:    map[string]string{"cds-card-uuid": cardUUID, "cds-hook-instance": rq.HookInstance},
		CardUUID: cardUUID,
	}

	prefetched, missing, incomplete, err := h.readPrefetch(c.Request(), rq)
	if err != nil {
		return err
	}
	var src screening.Source
	switch {
	case len(missing) > 0:
		if src, err = h.fhirSource(ehr, rq, "the prefetch lacks "+strings.Join(missing, ", ")); err != nil {
			return err
		}
	case len(incomplete) > 0 && rq.FHIRServer != "":
		// A failed or partial prefetched search is filled like a missing key: the whole
		// record from the EHR's FHIR server, when the service may fetch from it. When it
		// may not, the prefetch is screened as it is; its incomplete types make the
		// criteria that read them unknown.
		if src, err = h.fhirSource(ehr, rq, "the prefetched "+strings.Join(incomplete, ", ")+" are incomplete"); err != nil {
			s.log.Info("cds prefetch incomplete, fhirServer not usable: screening the prefetch", "reason", err.Error())
			src = nil
		}
	}
	res, fhirBase, err := h.screenFrom(c, sr, rq, src, prefetched)
	if err != nil {
		var br *badRequest
		if errors.As(err, &br) || shedReason(err) != "" {
			return err // a 400, or a 503 busy: the data may be fetchable a moment later
		}
		// fhirclient errors hold no patient data or token (they are redacted).
		s.log.Warn("cds record fetch failed", "error", err.Error())
		return cdsPrecondition("the record could not be read from fhirServer: %v", err)
	}
	var link string
	if s.cfg.PublicURL != "" {
		// A stored screening is read back by id on whichever replica the browser reaches;
		// one that could not be stored is kept here, for this replica to serve.
		link = s.reportLink(cardUUID, reportLinkClaims{ScreeningID: res.ScreeningID, User: rq.Context.UserID, FHIRBase: fhirBase})
		if res.ScreeningID == "" {
			h.reports.put(&cachedReport{uuid: cardUUID, result: res, patientID: patientID, issuer: ehr.issuer})
		}
	}
	card := s.buildCard(res, cardUUID, link)
	from := "prefetch"
	if fhirBase != "" {
		from = "fhir"
	}
	// For audit: the card's uuid ties what the EHR showed to this call. No patient id:
	// the audit log, written by screen, names the patient.
	s.log.Info("cds card", "uuid", card.UUID, "verdict", string(res.Verdict), "hook_instance", rq.HookInstance, "source", from)
	return c.JSON(http.StatusOK, map[string]any{"cards": []cdsCard{card}})
}

// readPrefetch reads the prefetch: the record when every key is there and the Patient
// usable (else the keys missing), and the needed types whose prefetched search failed
// or is partial. The searches' entries together are one patient's record: over the cap
// they are a 413, and under it the request's share of the memory budget grows to what
// they cost before any is read.
func (h *cdsHandler) readPrefetch(r *http.Request, rq *hookRequest) (rec *screening.Record, missing, incomplete []string, err error) {
	p := h.s.cfg.Protocol
	if missing = missingPrefetch(p, rq.Prefetch); len(missing) > 0 {
		return nil, missing, nil, nil
	}
	ok, err := patientPrefetched(rq.Prefetch[prefetchPatientKey], rq.Context.PatientID)
	if err != nil {
		return nil, nil, nil, err
	}
	if !ok {
		return nil, []string{prefetchPatientKey}, nil, nil
	}
	entries, size := 0, 0
	for _, t := range p.NeededTypes() {
		n, _ := fhirbundle.CountEntries(rq.Prefetch[t])
		entries, size = entries+n, size+len(rq.Prefetch[t])
	}
	if err := h.s.payForEntries(r, "prefetch", "the prefetch (its searches together)", size, entries); err != nil {
		return nil, nil, nil, err
	}
	if rec, err = h.s.recordFromPrefetch(r.Context(), rq.Prefetch, rq.Context.PatientID); err != nil {
		return nil, nil, nil, err
	}
	for _, t := range p.NeededTypes() {
		if rec.Sources[t].State != screening.FetchComplete {
			incomplete = append(incomplete, t)
		}
	}
	return rec, nil, incomplete, nil
}

// screenFrom screens the record from src (the EHR's FHIR server, with its token) or,
// without one, the prefetched record. A fetch that fails where the prefetch holds an
// incomplete record falls back to it: its partial marks are better than no card. Both
// attempts are audited. fhirBase is the server the screened record came from ("" for
// the prefetch).
func (h *cdsHandler) screenFrom(c echo.Context, sr screenRequest, rq *hookRequest, src screening.Source, prefetched *screening.Record) (res *screening.Screening, fhirBase string, err error) {
	ctx := c.Request().Context()
	if src != nil {
		sr.Source, sr.SourceName = src, "fhir:"+rq.FHIRServer
		res, err = h.s.screen(fhirclient.WithToken(ctx, rq.FHIRAuthorization.AccessToken), sr)
		if err == nil {
			return res, strings.TrimRight(rq.FHIRServer, "/"), nil
		}
		if prefetched == nil || ctx.Err() != nil {
			return nil, "", err
		}
		h.s.log.Warn("cds record fetch failed: screening the incomplete prefetch", "error", err.Error())
	}
	sr.Source, sr.Record, sr.SourceName = nil, prefetched, "prefetch"
	res, err = h.s.screen(ctx, sr)
	return res, "", err
}

// fhirSource decides, before any connection is made, whether the record may be fetched
// from the EHR's FHIR server, and returns the source to fetch it with. Every refusal is
// the spec's 412: the service cannot get the data it needs.
func (h *cdsHandler) fhirSource(ehr *ehrClient, rq *hookRequest, lacks string) (screening.Source, error) {
	switch {
	case rq.FHIRServer == "":
		return nil, cdsPrecondition("%s, and the request names no fhirServer to fetch them from", lacks)
	case !ehr.allows(rq.FHIRServer):
		h.s.log.Warn("cds fhirServer refused: not on the EHR's allow-list", "issuer", ehr.issuer, "fhir_server", cdsClip(rq.FHIRServer, 200))
		return nil, cdsPrecondition("%s, and fhirServer %q is not a server this service may fetch from for this EHR", lacks, rq.FHIRServer)
	case rq.FHIRAuthorization == nil || rq.FHIRAuthorization.AccessToken == "":
		return nil, cdsPrecondition("%s, and the request has no fhirAuthorization.access_token for fhirServer", lacks)
	case h.s.cfg.CDS.NewSource == nil:
		return nil, cdsPrecondition("%s, and this service is configured to use prefetched data only", lacks)
	}
	src, err := h.s.cfg.CDS.NewSource(strings.TrimRight(rq.FHIRServer, "/"))
	if err != nil {
		return nil, fmt.Errorf("cds: record source for an allowed fhirServer: %w", err)
	}
	return src, nil
}

// precondition is the spec's 412 Precondition Failed: the FHIR data needed could not be
// obtained, from the prefetch or the FHIR server.
func cdsPrecondition(format string, args ...any) error {
	return echo.NewHTTPError(http.StatusPreconditionFailed, fmt.Sprintf(format, args...))
}
