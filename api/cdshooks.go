package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/screening"
)

// CDSConfig configures the CDS Hooks surface: which EHRs may call, and which FHIR servers
// each may have the service fetch from.
type CDSConfig struct {
	// Clients are the EHRs allowed to call, one per JWT issuer. None: every hook call is
	// refused (discovery stays open: it holds no patient data).
	Clients []CDSClient
	// NewSource gives the record source for a FHIR server an EHR names in fhirServer. It
	// is called only after that server was found on the calling EHR's allow-list, and the
	// source must take its bearer token from the context (fhirclient.ContextToken: the
	// service puts the EHR's fhirAuthorization.access_token there). Nil: the service never
	// fetches; records come from the prefetch only.
	NewSource func(fhirServer string) (screening.Source, error)
}

// CDSClient is one EHR allowed to call the CDS Hooks service.
type CDSClient struct {
	Issuer string // the iss of its JWTs
	// JWKSURL is where its public keys are (fetched on first use and cached); JWKS is
	// the key set itself. Exactly one is given.
	JWKSURL string
	JWKS    json.RawMessage
	// FHIRServers are the base URLs (exact, a trailing slash aside) this EHR may have the
	// service fetch from with the token it sends. Any other fhirServer is refused before
	// a connection is made: a caller must not be able to point the service at a server
	// of its choosing.
	FHIRServers []string
}

const (
	cdsServiceID = "trialscreen-patient-view"
	cdsHook      = "patient-view"
)

// cdsHandler serves the CDS Hooks surface of one Server.
type cdsHandler struct {
	s        *Server
	verifier *cdsVerifier
}

// registerCDS adds the CDS Hooks surface for EHRs.
func (s *Server) registerCDS(e *echo.Echo) {
	h := &cdsHandler{s: s, verifier: newCDSVerifier(s.cfg.CDS, s.cdsServiceURL(), s.log)}
	e.GET("/cds-services", h.discovery)
	e.POST("/cds-services/"+cdsServiceID, h.patientView)
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
	Prefetch map[string]json.RawMessage `json:"prefetch"`
}

var (
	cdsIDPattern           = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)
	cdsHookInstancePattern = regexp.MustCompile(`^[\x21-\x7e]{1,128}$`) // a UUID in practice; bounded, printable
)

// decodeHookRequest reads and checks the body; a 400 names the field at fault.
func decodeHookRequest(c echo.Context) (*hookRequest, error) {
	var rq hookRequest
	if err := json.NewDecoder(c.Request().Body).Decode(&rq); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, invalid(te.Field, "is JSON %s, not %s", te.Value, te.Type.Kind())
		}
		return nil, invalid("body", "is not a JSON CDS Hooks request: %v", err)
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
	case !cdsIDPattern.MatchString(rq.Context.PatientID):
		return nil, invalid("context.patientId", "is not a FHIR id (1 to 64 of A-Z a-z 0-9 - .)")
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

// patientView answers the hook: authenticate the EHR, read the request, screen the
// patient from the prefetch or (only on an allowed server) the EHR's FHIR server, and
// return one card.
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
	sr := screenRequest{
		Surface: surfaceCDS, Caller: Caller{ID: ehr.issuer, User: rq.Context.UserID},
		Address: remoteAddr(c.Request()), PatientID: patientID, Settings: settings,
	}
	ctx := c.Request().Context()

	missing := missingPrefetch(s.cfg.Protocol, rq.Prefetch)
	if len(missing) == 0 {
		ok, err := patientPrefetched(rq.Prefetch[prefetchPatientKey], patientID)
		if err != nil {
			return err
		}
		if !ok {
			missing = []string{prefetchPatientKey}
		}
	}
	if len(missing) == 0 {
		rec, err := s.recordFromPrefetch(rq.Prefetch, patientID)
		if err != nil {
			return err
		}
		sr.Record, sr.SourceName = rec, "prefetch"
	} else {
		src, err := h.fhirSource(ehr, rq, missing)
		if err != nil {
			return err
		}
		sr.Source, sr.SourceName = src, "fhir:"+rq.FHIRServer
		ctx = fhirclient.WithToken(ctx, rq.FHIRAuthorization.AccessToken)
	}
	// The card's uuid is made now so that the audit record carries it.
	cardUUID := newCardUUID()
	sr.Audit = map[string]string{"cds-card-uuid": cardUUID, "cds-hook-instance": rq.HookInstance}
	res, err := s.screen(ctx, sr)
	if err != nil {
		var br *badRequest
		if errors.As(err, &br) {
			return err
		}
		// fhirclient errors hold no patient data or token (they are redacted).
		s.log.Warn("cds record fetch failed", "error", err.Error())
		return cdsPrecondition("the record could not be read from fhirServer: %v", err)
	}
	card := s.buildCard(res, s.reportLink(patientID))
	card.UUID = cardUUID
	// For audit: the card's uuid ties what the EHR showed to this call. No patient id:
	// the audit log, written by screen, names the patient.
	s.log.Info("cds card", "uuid", card.UUID, "verdict", string(res.Verdict), "hook_instance", rq.HookInstance, "source", cdsSourceKind(sr.SourceName))
	return c.JSON(http.StatusOK, map[string]any{"cards": []cdsCard{card}})
}

func cdsSourceKind(name string) string {
	if strings.HasPrefix(name, "fhir:") {
		return "fhir"
	}
	return name
}

// fhirSource decides, before any connection is made, whether the record may be fetched
// from the EHR's FHIR server, and returns the source to fetch it with. Every refusal is
// the spec's 412: the service cannot get the data it needs.
func (h *cdsHandler) fhirSource(ehr *ehrClient, rq *hookRequest, missing []string) (screening.Source, error) {
	lacks := "the prefetch lacks " + strings.Join(missing, ", ")
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
