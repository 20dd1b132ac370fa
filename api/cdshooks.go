package api

import "github.com/labstack/echo/v4"

// CDSConfig configures the CDS Hooks surface.
type CDSConfig struct{}

// registerCDS adds the CDS Hooks surface for EHRs.
func (s *Server) registerCDS(e *echo.Echo) {}
