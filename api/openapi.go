package api

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPIDocument describes every route the service registers; openapi_test.go checks
// it against the live routes and real responses.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPI serves the OpenAPI document. It is public: it describes the API, not patients.
func (s *Server) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDocument)
}
