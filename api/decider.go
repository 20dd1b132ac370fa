package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// errNotDecider refuses a viewer a page or action that records decisions.
var errNotDecider = echo.NewHTTPError(http.StatusForbidden,
	"this needs a coordinator: your role lets you read reports but not decide review items")

// requireDecider lets through only callers who may decide review items (coordinators
// and system callers, never viewers). It goes after authenticate() on a route:
//
//	e.PUT(path, h, s.authenticate(), s.requireDecider())
func (s *Server) requireDecider() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !callerOf(c).CanDecide() {
				return errNotDecider
			}
			return next(c)
		}
	}
}
