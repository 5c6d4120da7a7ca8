package web

import "github.com/labstack/echo/v4"

// EchoForTest exposes the router, for a test that adds a route of its own
// (one that panics: no real route should).
func (s *Server) EchoForTest() *echo.Echo { return s.e }
