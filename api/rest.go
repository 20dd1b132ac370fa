package api

import "github.com/labstack/echo/v4"

// registerREST adds the REST surface for referral portals.
func (s *Server) registerREST(e *echo.Echo) {}
