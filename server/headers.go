package server

import (
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/prima-dining/partner-api/docs/swaggerui"
)

// hstsPolicy is sent when the public URL is https: browsers then refuse plain http to
// this host for a year. Subdomains are not included: they may be someone else's.
const hstsPolicy = "max-age=31536000"

// securityHeaders sets the headers every answer carries, whoever writes it (a handler,
// the error handler, Echo's 404, the docs): set before the rest of the chain runs, so
// even an early refusal has them.
//
//   - X-Content-Type-Options: nosniff everywhere, so a browser never reads an answer
//     as another type than the one declared.
//   - Cache-Control: no-store on answers to requests with credentials: they hold guest
//     details and are the partner's alone, so no browser or proxy may keep a copy. The
//     200s of the cacheable GETs (cachePolicies) replace it with a private policy and an
//     ETag (conditional).
//   - Content-Security-Policy on the docs pages (Swagger UI sets its own on its page;
//     the same policy covers /docs/errors, whose only inline content is a style).
//   - Strict-Transport-Security when the public URL is https.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	hsts := strings.HasPrefix(strings.ToLower(s.deps.PublicURL), "https://")
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if hsts {
			h.Set("Strict-Transport-Security", hstsPolicy)
		}
		req := c.Request()
		if req.Header.Get(echo.HeaderAuthorization) != "" {
			h.Set("Cache-Control", "no-store")
		}
		if p := req.URL.Path; p == "/docs" || strings.HasPrefix(p, "/docs/") {
			h.Set("Content-Security-Policy", swaggerui.ContentSecurityPolicy)
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("X-Frame-Options", "DENY")
		}
		return next(c)
	}
}
