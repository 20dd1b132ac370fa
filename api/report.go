package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/trialscreen/trialscreen/screening"
)

// renderReport writes the coordinator's HTML report of a screening.
func (s *Server) renderReport(c echo.Context, result *screening.Screening) error {
	return c.String(http.StatusNotImplemented, "report page: not yet")
}
