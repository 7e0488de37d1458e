package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"

	"github.com/prima-dining/partner-api/internal/access"
	"github.com/prima-dining/partner-api/internal/idempotency"
	"github.com/prima-dining/partner-api/internal/ids"
	"github.com/prima-dining/partner-api/internal/locale"
)

// requestID gives every request an id, in the Request-Id header and in its context.
func (s *Server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := ids.New("req")
		req := c.Request()
		ctx := withState(req.Context(), &requestState{id: id, scheme: c.Scheme(), host: req.Host})
		// The language of the text PRIMA writes (summaries) when the guest's is unknown.
		ctx = locale.WithAcceptLanguage(ctx, req.Header.Get("Accept-Language"))
		c.SetRequest(req.WithContext(ctx))
		c.Response().Header().Set("Request-Id", id)
		c.Response().Header().Set("API-Version", s.apiVersion)
		return next(c)
	}
}

// deadline gives every request's context Deps.RequestTimeout: a database call still
// waiting then fails as unavailable (503 with Retry-After) instead of hanging. The key's
// answer is stored, and the audit event written, without the deadline.
func (s *Server) deadline(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), s.deps.RequestTimeout)
		defer cancel()
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

// recoverPanics turns a panic into a 500 in the error format, logged with its stack.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if err, ok := r.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(r)
				}
				s.log.ErrorContext(c.Request().Context(), "panic", "request_id", RequestID(c.Request().Context()),
					"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = newProblem(CodeInternal, "", "")
			}
		}()
		return next(c)
	}
}

// accessLog writes one line per request, without query strings or bodies (they can carry
// guest details) and without tokens.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := now()
		err := next(c)
		if err != nil {
			c.Error(err) // answer now, so the logged status is the one sent
		}
		ctx := c.Request().Context()
		// One clock read for the metric, the audit event and the line alike. The route
		// template, never the raw path: ids must not become label values.
		took := now().Sub(start)
		s.deps.Metrics.ObserveRequest(c.Request().Method, c.Path(), c.Response().Status, took)
		s.recordAudit(c, start, took)
		// Attrs, not key-value pairs: nothing is boxed, and nothing is built when the
		// level filters the line out.
		st := stateOf(ctx)
		who := st.principal()
		s.log.LogAttrs(ctx, slog.LevelInfo, "request",
			slog.String("request_id", st.id),
			slog.String("method", c.Request().Method),
			slog.String("route", c.Path()),
			slog.Int("status", c.Response().Status),
			slog.Float64("duration_ms", float64(took.Microseconds())/1000),
			slog.String("partner_id", who.PartnerID),
			slog.String("token_id", who.TokenID),
		)
		return nil
	}
}

// contract enforces the OpenAPI document on every operation it describes: the body size
// limit, authentication and scope, request validation, and idempotency, all before the
// handler runs. Paths the document does not describe (the docs) pass through untouched,
// and unknown routes are left to Echo's 404 and 405.
func (s *Server) contract(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		route, pathParams, err := s.findRoute(c)
		if err != nil {
			return next(c)
		}
		body, err := s.readBody(req)
		if err != nil {
			return err
		}
		ctx := req.Context()
		st := stateOf(ctx)
		st.rawBody = body
		// For the operations that answer in more than one media type.
		st.accept = req.Header.Get(echo.HeaderAccept)
		op := route.Operation
		if d, ok := s.sunsets[op]; ok {
			d.setHeaders(c.Response().Header())
		}
		authenticated := op.Security == nil || len(*op.Security) > 0
		var who access.Principal
		if authenticated {
			who, err = s.authenticate(c)
			if err != nil {
				return err
			}
			if p := tokenKindProblem(route.Path, who); p != nil {
				return p
			}
			if scope, _ := op.Extensions["x-required-scope"].(string); scope != "" && scope != "any" && !who.HasScope(scope) {
				return newProblem(CodeInsufficientScope, fmt.Sprintf("This call needs the %s scope; the token has %s.", scope, strings.Join(who.Scopes, ", ")), "")
			}
			st.authenticated = true // st.caller is who
		}
		if strings.HasPrefix(route.Path, "/v1/sandbox/") && !s.deps.Payments.SandboxActive() ||
			strings.HasPrefix(route.Path, "/v1/webhooks/") && !s.deps.Payments.WebhooksEnabled() {
			return echo.ErrNotFound // not mounted in this configuration
		}
		if err := s.checkRequest(req, route, pathParams, body); err != nil {
			return err
		}
		if policy, ok := cachePolicies[op.OperationID]; ok && req.Method == http.MethodGet {
			return s.conditional(c, policy, next)
		}
		if key := req.Header.Get("Idempotency-Key"); key != "" && (req.Method == http.MethodPost || req.Method == http.MethodPatch) && authenticated {
			return s.idempotent(c, who.AccountID(), key, idempotency.Fingerprint(req.Method, req.URL.Path, body), secretBearing[op.OperationID], next)
		}
		return next(c)
	}
}

// checkRequest runs the contract's checks of the request's path, query and body, then
// the document's validation, unless the same bodiless request passed them before
// (validatedRequests).
func (s *Server) checkRequest(req *http.Request, route *routers.Route, pathParams map[string]string, body []byte) error {
	key, remembered := s.validated.key(req, route, body)
	if remembered && s.validated.passed(key, req) {
		return nil
	}
	query := req.URL.Query() // parsed once, for the checks and the validation alike
	if p := unstorableText(req.URL.Path, pathParams, query, body); p != nil {
		return p
	}
	if p := unknownQuery(route, query); p != nil {
		return p
	}
	if p := invalidTextProblem(req.Header.Get(echo.HeaderContentType), body); p != nil {
		return p
	}
	if len(body) > 0 && isJSON(req.Header.Get(echo.HeaderContentType)) && !jsonObject(body) {
		return newProblem(CodeBodyInvalid, "The body is not a valid JSON object.", "")
	}
	err := openapi3filter.ValidateRequest(req.Context(), &openapi3filter.RequestValidationInput{
		Request:     req,
		PathParams:  pathParams,
		QueryParams: query,
		Route:       route,
		Options:     validationOptions,
	})
	if err != nil {
		return validationProblem(err)
	}
	if remembered {
		s.validated.remember(key, req)
	}
	return nil
}

// validationOptions are the request validation's: the contract has authenticated the
// caller already. openapi3filter only reads them.
var validationOptions = &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}

// findRoute is the operation of the request and its path parameters: the one Echo routed
// it to when the document has it, else whatever the document's router matches (nothing,
// for the docs and unknown routes).
func (s *Server) findRoute(c echo.Context) (*routers.Route, map[string]string, error) {
	route, ok := s.routes[c.Request().Method+" "+c.Path()]
	if !ok {
		return s.router.FindRoute(c.Request())
	}
	names := c.ParamNames()
	params := make(map[string]string, len(names))
	for i, name := range names {
		v := c.ParamValues()[i]
		if strings.IndexByte(v, '%') >= 0 {
			// Echo matches the escaped path; the document's router gave decoded values.
			if u, err := url.PathUnescape(v); err == nil {
				v = u
			}
		}
		params[name] = v
	}
	return route, params, nil
}

// readBody reads the whole body, up to the limit, and puts it back for the handler.
func (s *Server) readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	if req.ContentLength > s.deps.MaxBodyBytes {
		return nil, newProblem(CodeBodyTooLarge, "", "")
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, s.deps.MaxBodyBytes+1))
	_ = req.Body.Close()
	if err != nil {
		return nil, newProblem(CodeBodyInvalid, "The body could not be read.", "")
	}
	if int64(len(body)) > s.deps.MaxBodyBytes {
		return nil, newProblem(CodeBodyTooLarge, "", "")
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	req.ContentLength = int64(len(body))
	return body, nil
}

func bearerToken(req *http.Request) string {
	h := req.Header.Get(echo.HeaderAuthorization)
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		if h != "" {
			return "malformed" // present but not a bearer token: invalid, not missing
		}
		return ""
	}
	return strings.TrimSpace(token)
}

// idempotent runs the request once per key: it replays a stored response, refuses a key
// reused for another request or still in flight, and otherwise runs the handler and
// stores what it answered. Server errors are not stored, so the client can retry them:
// the retry runs again, or, when the first run had committed an effect (its recovery
// point), resumes from there.
//
// redactSecret stores the answer with its "secret" null: a token's secret is kept only
// as a hash, never in a stored answer, so a replay says the token exists but not its
// secret.
func (s *Server) idempotent(c echo.Context, partnerID, key, fingerprint string, redactSecret bool, next echo.HandlerFunc) error {
	ctx := c.Request().Context()
	stored, rec, err := s.deps.Idempotency.Begin(ctx, partnerID, key, fingerprint)
	if err != nil {
		if errors.Is(err, idempotency.ErrInUse) || errors.Is(err, idempotency.ErrReused) {
			return problemFor(err)
		}
		return fmt.Errorf("idempotency: %w", err)
	}
	if stored != nil {
		c.Response().Header().Set("Idempotent-Replayed", "true")
		return c.JSONBlob(stored.Status, stored.Body)
	}
	// The domain records the key's recovery point in the transaction of each effect it
	// makes (see idempotency.Recorder); a run that takes over a key whose request died
	// resumes from that point, so the effect is never made twice.
	c.SetRequest(c.Request().WithContext(idempotency.NewContext(ctx, rec)))
	body := &recorder{ResponseWriter: c.Response().Writer}
	c.Response().Writer = body
	if err := next(c); err != nil {
		c.Error(err) // answer here so the answer can be stored
	}
	status := c.Response().Status
	bg := contextWithoutCancel(ctx)
	if status >= 500 {
		if err := s.deps.Idempotency.Release(bg, partnerID, key); err != nil {
			s.log.WarnContext(ctx, "release idempotency key", "request_id", RequestID(ctx), "error", err)
		}
		return nil
	}
	kept := body.body.Bytes()
	if redactSecret {
		kept = withoutSecret(kept)
	}
	if err := s.deps.Idempotency.Complete(bg, partnerID, key, idempotency.Response{Status: status, Body: kept}); err != nil {
		s.log.ErrorContext(ctx, "store idempotent response", "request_id", RequestID(ctx), "error", err)
	}
	return nil
}

// secretBearing names the operations whose answer carries a token's secret.
var secretBearing = map[string]bool{"createToken": true, "rotateToken": true}

// withoutSecret is a JSON object with its "secret" member null (as it was if it is not
// an object with one).
func withoutSecret(body []byte) []byte {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return body
	}
	if _, ok := obj["secret"]; !ok {
		return body
	}
	obj["secret"] = json.RawMessage("null")
	out, err := json.Marshal(obj)
	if err != nil {
		return body
	}
	return out
}

// recorder keeps a copy of the response body.
type recorder struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func isJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(strings.ToLower(mt))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// authenticate checks the bearer token under two limits: a client address whose failed
// authentications emptied its bucket is refused before its token is even looked at (so
// guessing tokens is slow), and an authenticated token spends one request of its bucket.
// Every authenticated answer carries the token's RateLimit headers.
func (s *Server) authenticate(c echo.Context) (access.Principal, error) {
	ctx := c.Request().Context()
	addr := c.RealIP()
	state := stateOf(ctx)
	state.caller, state.authAttempted = access.Principal{}, true // audited even when refused (recordAudit)
	if st := s.authFailures.peek(ctx, addr, "auth_failures", s.deps.AuthFailureLimit); !st.allowed {
		return access.Principal{}, rateLimited(st, "Too many failed authentications from this address. Retry after the time in the Retry-After header.")
	}
	who, err := s.deps.Tokens.Authenticate(ctx, bearerToken(c.Request()))
	if err != nil {
		p := problemFor(err)
		if p.Status == http.StatusUnauthorized {
			s.authFailures.take(ctx, addr, "auth_failures", s.deps.AuthFailureLimit)
		}
		return access.Principal{}, p
	}
	state.caller = who
	limit, policy := s.deps.RateLimit, "default"
	if who.RateLimitPerSecond > 0 && who.RateLimitBurst > 0 {
		limit, policy = RateLimit{PerSecond: who.RateLimitPerSecond, Burst: who.RateLimitBurst}, "partner"
	}
	st := s.tokenBuckets.take(ctx, who.TokenID, policy, limit)
	if !st.allowed {
		return access.Principal{}, rateLimited(st, "")
	}
	st.setHeaders(c.Response().Header())
	return who, nil
}

// unstorableText refuses text no database column can hold: a NUL character or invalid
// UTF-8 in a path parameter or query value, or a NUL in the body (raw or as \u0000).
// PostgreSQL rejects both in text, which would otherwise surface as a 500.
func unstorableText(path string, pathParams map[string]string, query url.Values, body []byte) *Problem {
	bad := func(v string) bool { return strings.ContainsRune(v, 0) || !utf8.ValidString(v) }
	for name, v := range pathParams { // first, so param names the parameter
		if u, err := url.PathUnescape(v); err == nil {
			v = u // the router's values are still escaped
		}
		if bad(v) {
			return newProblem(CodeParameterInvalid, "The path has a NUL character or invalid UTF-8.", name)
		}
	}
	if bad(path) {
		return newProblem(CodeParameterInvalid, "The path has a NUL character or invalid UTF-8.", "")
	}
	for name, vs := range query {
		for _, v := range vs {
			if bad(v) || bad(name) {
				return newProblem(CodeParameterInvalid, "A query parameter has a NUL character or invalid UTF-8.", name)
			}
		}
	}
	if bytes.IndexByte(body, 0) >= 0 || bytes.Contains(bytes.ToLower(body), []byte(`\u0000`)) {
		return newProblem(CodeBodyInvalid, "The body has a NUL character (\\u0000), which no field accepts.", "")
	}
	return nil
}
