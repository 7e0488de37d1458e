// Package server is the HTTP face of the PRIMA Partner API: an Echo server whose routes,
// request validation and typed responses come from the OpenAPI document (gen/), with
// middleware for request ids, authentication, idempotency and errors, and thin handlers
// that call booking/.
package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"
	"go.yaml.in/yaml/v3"

	"github.com/prima-dining/partner-api/docs/portal"
	"github.com/prima-dining/partner-api/docs/swaggerui"
	"github.com/prima-dining/partner-api/gen"
	"github.com/prima-dining/partner-api/internal/access"
	"github.com/prima-dining/partner-api/internal/audit"
	"github.com/prima-dining/partner-api/internal/booking"
	"github.com/prima-dining/partner-api/internal/idempotency"
	"github.com/prima-dining/partner-api/internal/inventory"
	"github.com/prima-dining/partner-api/internal/metrics"
	"github.com/prima-dining/partner-api/internal/webhooks"
	"github.com/prima-dining/partner-api/openapi"
)

// Authenticator checks bearer tokens and describes them.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (access.Principal, error)
	Get(ctx context.Context, id string) (access.Token, error)
}

// Database is what readiness checks.
type Database interface {
	Ping(ctx context.Context) error
	MigrationStatus(ctx context.Context) (current, latest int64, err error)
}

// Deps are the server's collaborators.
type Deps struct {
	// Reservations, Changes, Payments and VenueReservations are the booking services
	// (booking.New); WebhookEndpoints is the partners' webhook endpoint registry.
	Reservations      *booking.Reservations
	Changes           *booking.Changes
	Payments          *booking.Payments
	VenueReservations *booking.VenueReservations
	// Watches are partners' notify-me watches.
	Watches          *booking.Watches
	WebhookEndpoints *webhooks.Endpoints
	// Events are partners' events (GET /v1/events) and their redelivery.
	Events *webhooks.Events
	Tokens Authenticator
	// PartnerTokens is partners' management of their tokens (/v1/tokens); nil takes
	// Tokens' own when Tokens is an *access.Service, else those operations answer 404.
	PartnerTokens TokenAdmin
	Idempotency   *idempotency.Service
	Database      Database
	Logger        *slog.Logger
	// PublicURL is the externally visible base URL, used in doc_url links; empty means
	// the request's own scheme and host.
	PublicURL string
	// MaxBodyBytes caps request bodies (default 1 MB); larger ones answer 413.
	MaxBodyBytes int64
	// RateLimit is each token's bucket unless its partner has its own (zero means
	// DefaultRateLimit).
	RateLimit RateLimit
	// AuthFailureLimit is each client address's bucket of failed authentications; an
	// empty bucket answers 429 before any token is checked (zero means
	// DefaultAuthFailureLimit).
	AuthFailureLimit RateLimit
	// SharedRateLimits, when set, holds both kinds of bucket for every process
	// (PRIMA_REDIS_URL: internal/ratelimit); while it fails, each process limits on its
	// own buckets, says so in the log and in Metrics, and tries it again every second.
	// Nil keeps the buckets in this process only.
	SharedRateLimits SharedBuckets
	// TrustProxyHeaders takes the client address from X-Forwarded-For / X-Real-IP set by
	// a proxy on a private or loopback address; otherwise it is the connection's peer.
	TrustProxyHeaders bool
	// Audit records every authenticated request and lists them; nil records nothing
	// (and GET /v1/audit_events answers 500).
	Audit *audit.Log
	// Metrics records each request's duration by route and status; nil records nothing.
	Metrics *metrics.Metrics
	// RequestTimeout bounds each request's work (default DefaultRequestTimeout;
	// PRIMA_REQUEST_TIMEOUT): past it, what waits on the database gives up and the
	// answer is 503 service_unavailable, so a database that accepts connections but never
	// answers cannot hold requests (and their clients) for ever.
	RequestTimeout time.Duration
	// Inventory serves the venue operators' inventory operations (/v1/operator/venues…,
	// /v1/operator/slots…); nil answers them 404 route_not_found.
	Inventory *inventory.Service
	// Stopping is closed when the process begins to shut down: from then on /readyz
	// answers 503 `stopping`, so a load balancer's health check drains the process
	// while it still serves (prima serve's PRIMA_SHUTDOWN_DELAY). nil never stops.
	Stopping <-chan struct{}
}

// Server implements gen.StrictServerInterface.
type Server struct {
	deps   Deps
	log    *slog.Logger
	router routers.Router
	routes map[string]*routers.Route // by "METHOD /echo/:template" (routeIndex)
	// specJSON is the partner document served (with or without the sandbox);
	// operatorJSON the operator API's; specYAML the partner document as YAML.
	specJSON, operatorJSON, specYAML []byte
	// tokenBuckets are per token id, authFailures per client address.
	tokenBuckets *limiter
	authFailures *limiter
	// apiVersion is the spec's info.version, sent as API-Version on every answer.
	apiVersion string
	// sunsets are the Deprecation and Sunset headers of each deprecated operation.
	sunsets map[*openapi3.Operation]deprecation
	// validated are the reads that passed the contract's checks (checkRequest).
	validated *validatedRequests
}

var _ gen.StrictServerInterface = (*Server)(nil)

// DefaultRequestTimeout is Deps.RequestTimeout's default (prima serve's write timeout is
// at least 10 s longer, so the 503 still reaches the client).
const DefaultRequestTimeout = 20 * time.Second

// New returns the configured Echo instance, for main and for tests alike.
func New(deps Deps) (*echo.Echo, error) {
	if deps.Reservations == nil || deps.Changes == nil || deps.Payments == nil || deps.VenueReservations == nil ||
		deps.WebhookEndpoints == nil || deps.Events == nil || deps.Tokens == nil || deps.Idempotency == nil || deps.Database == nil {
		return nil, errors.New("server: Reservations, Changes, Payments, VenueReservations, WebhookEndpoints, Events, Tokens, Idempotency and Database are required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if svc, ok := deps.Tokens.(*access.Service); ok && deps.PartnerTokens == nil {
		deps.PartnerTokens = svc.Partner()
	}
	if deps.MaxBodyBytes <= 0 {
		deps.MaxBodyBytes = 1 << 20
	}
	if deps.RateLimit.PerSecond <= 0 || deps.RateLimit.Burst <= 0 {
		deps.RateLimit = DefaultRateLimit
	}
	if deps.RequestTimeout <= 0 {
		deps.RequestTimeout = DefaultRequestTimeout
	}
	if deps.AuthFailureLimit.PerSecond <= 0 || deps.AuthFailureLimit.Burst <= 0 {
		deps.AuthFailureLimit = DefaultAuthFailureLimit
	}
	var shared *sharedBuckets
	if deps.SharedRateLimits != nil {
		shared = &sharedBuckets{store: deps.SharedRateLimits, log: deps.Logger}
		if err := deps.Metrics.WatchSharedRateLimits(shared.stats); err != nil {
			return nil, fmt.Errorf("server: metrics of the shared rate limits: %w", err)
		}
	}
	s := &Server{
		deps: deps, log: deps.Logger,
		tokenBuckets: newLimiter("token", shared), authFailures: newLimiter("auth_failures", shared),
		validated: newValidatedRequests(),
	}

	sp, err := parsedSpec()
	if err != nil {
		return nil, err
	}
	s.specJSON, s.operatorJSON, s.specYAML = sp.partner, sp.operator, sp.partnerYAML
	if !deps.Payments.SandboxActive() {
		// The sandbox is not mounted with a real gateway, so it is not advertised either.
		s.specJSON = sp.partnerWithoutSandbox
	}
	s.router, s.routes, s.apiVersion, s.sunsets = sp.router, sp.routes, sp.version, sp.sunsets

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	// The client address keys the failed-authentication limit, so it must not be
	// whatever a client writes in a header.
	e.IPExtractor = echo.ExtractIPDirect()
	if deps.TrustProxyHeaders {
		e.IPExtractor = echo.ExtractIPFromXFFHeader()
	}
	e.Use(composed(s.securityHeaders, s.requestID, s.recoverPanics, s.accessLog, s.deadline, s.contract))

	gen.RegisterHandlers(e, gen.NewStrictHandler(s, nil))

	// The partner portal: guides (package portal), the two references (Swagger UI, laid
	// out with the portal's navigation) and the error catalogue.
	reference := swaggerui.HandlerWithLayout(portal.Reference, portal.PartnerSpec, "API reference", portal.Layout(portal.Reference))
	operatorReference := swaggerui.HandlerWithLayout(portal.OperatorRef, portal.OperatorSpec, "Operator API reference", portal.Layout(portal.OperatorRef))
	for _, mount := range []string{portal.Home, portal.Reference, portal.OperatorRef} {
		e.GET(strings.TrimSuffix(mount, "/"), redirectTo(mount))
	}
	e.GET(portal.Reference+"*", docsHandler(reference))
	e.GET(portal.OperatorRef+"*", docsHandler(operatorReference))
	e.GET(portal.Errors, s.errorDocs)
	e.GET(portal.Home+"*", docsHandler(portal.Handler()))
	e.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusFound, portal.Home) })
	return e, nil
}

// composed is middleware, outermost first, as one middleware whose chain is built once.
// Echo applies e.Use's middleware to every request anew, a closure per middleware per
// request; composed builds them once around the handler Echo routed the request to
// (c.Handler(): the next that Echo hands every request's chain).
func composed(middleware ...echo.MiddlewareFunc) echo.MiddlewareFunc {
	chain := func(c echo.Context) error { return c.Handler()(c) }
	for i := len(middleware) - 1; i >= 0; i-- {
		chain = middleware[i](chain)
	}
	return func(echo.HandlerFunc) echo.HandlerFunc { return chain }
}

func redirectTo(path string) echo.HandlerFunc {
	return func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, path) }
}

// docsHandler serves a docs handler's answers, except its 404s and 405s (plain text,
// http.NotFound and http.Error), which become the API's own error answers.
func docsHandler(h http.Handler) echo.HandlerFunc {
	return func(c echo.Context) error {
		w := &docsRefusal{ResponseWriter: c.Response()}
		h.ServeHTTP(w, c.Request())
		switch w.status {
		case http.StatusNotFound:
			return echo.ErrNotFound
		case http.StatusMethodNotAllowed:
			return echo.ErrMethodNotAllowed
		}
		return nil
	}
}

// docsRefusal passes an answer through unless its status is 404 or 405, whose plain-text
// body it drops so that the error handler can answer instead.
type docsRefusal struct {
	http.ResponseWriter
	status int
}

func (w *docsRefusal) WriteHeader(status int) {
	if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
		w.status = status
		w.Header().Del("Content-Type")
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *docsRefusal) Write(b []byte) (int, error) {
	if w.status != 0 {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// spec is the embedded document, parsed and checked once per process: every Server
// shares it, read only (the router, the deprecations, and the JSON it serves).
type spec struct {
	router  routers.Router
	version string
	sunsets map[*openapi3.Operation]deprecation
	// The published documents (openapi.Documents): the partner API's, served at
	// /v1/openapi.json (without the sandbox when it is not mounted) and, as YAML, at
	// /v1/openapi.yaml; and the operator API's, at /v1/operator/openapi.json.
	partner, partnerWithoutSandbox, operator []byte
	partnerYAML                              []byte
	// servers is the documents' servers list as encoded in each of them: the served
	// documents put the serving server before it (servedSpec).
	servers []byte
	// routes are the document's operations by method and Echo route template, so a
	// request Echo has routed finds its operation without matching the path again.
	routes map[string]*routers.Route
}

// routeIndex maps "METHOD /echo/:template" to each operation of doc: Echo's router has
// already matched the path (gen.RegisterHandlers registers the document's paths with
// {param} written :param), so the contract needs only a map lookup where the document's
// own router would run a regular expression per route.
func routeIndex(doc *openapi3.T) map[string]*routers.Route {
	out := map[string]*routers.Route{}
	for path, item := range doc.Paths.Map() {
		template := echoTemplate(path)
		for method, op := range item.Operations() {
			out[method+" "+template] = &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}
		}
	}
	return out
}

// echoTemplate writes an OpenAPI path template the way Echo's routes are written.
func echoTemplate(path string) string {
	var b strings.Builder
	for {
		open := strings.IndexByte(path, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(path[open:], '}')
		if end < 0 {
			break
		}
		b.WriteString(path[:open])
		b.WriteByte(':')
		b.WriteString(path[open+1 : open+end])
		path = path[open+end+1:]
	}
	b.WriteString(path)
	return b.String()
}

var parsedSpec = sync.OnceValues(func() (*spec, error) {
	doc, err := loadSpec()
	if err != nil {
		return nil, err
	}
	sp := &spec{version: doc.Info.Version}
	full, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("server: encode spec: %w", err)
	}
	if sp.partner, sp.operator, err = openapi.Documents(full); err != nil {
		return nil, err
	}
	bare, err := loadSpec()
	if err != nil {
		return nil, err
	}
	for path := range bare.Paths.Map() {
		if strings.HasPrefix(path, "/v1/sandbox/") {
			bare.Paths.Delete(path)
		}
	}
	bare.Tags = slicesDeleteTag(bare.Tags, "Sandbox")
	if full, err = json.Marshal(bare); err != nil {
		return nil, fmt.Errorf("server: encode spec: %w", err)
	}
	if sp.partnerWithoutSandbox, _, err = openapi.Documents(full); err != nil {
		return nil, err
	}
	var partner any
	if err := json.Unmarshal(sp.partner, &partner); err != nil {
		return nil, err
	}
	var probe struct {
		Servers json.RawMessage `json:"servers"`
	}
	if err := json.Unmarshal(sp.partner, &probe); err != nil {
		return nil, err
	}
	sp.servers = probe.Servers
	member := append([]byte(`"servers":`), sp.servers...)
	for _, d := range [][]byte{sp.partner, sp.partnerWithoutSandbox, sp.operator} {
		if !bytes.Contains(d, member) {
			return nil, errors.New("server: a published document has no servers member to extend")
		}
	}
	if sp.partnerYAML, err = yaml.Marshal(partner); err != nil {
		return nil, fmt.Errorf("server: encode spec as YAML: %w", err)
	}
	doc.Servers = nil // route on paths alone, whatever host the server is reached by
	if sp.router, err = gorillamux.NewRouter(doc); err != nil {
		return nil, fmt.Errorf("server: build router: %w", err)
	}
	sp.routes = routeIndex(doc)
	if sp.sunsets, err = deprecations(doc); err != nil {
		return nil, err
	}
	return sp, nil
})

// loadSpec parses the embedded document; each caller gets its own copy to change.
func loadSpec() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.YAML)
	if err != nil {
		return nil, fmt.Errorf("server: load spec: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("server: invalid spec: %w", err)
	}
	return doc, nil
}

func slicesDeleteTag(tags openapi3.Tags, name string) openapi3.Tags {
	out := tags[:0]
	for _, t := range tags {
		if t.Name != name {
			out = append(out, t)
		}
	}
	return out
}

// requestState is what the middleware learns about a request, in the one value its
// context carries from requestID on: the chain fills it in as it goes, where a context
// value (and a copy of the request) per item would cost an allocation or two each.
// Only the middleware writes it, before the handler runs; the accessors below read it.
type requestState struct {
	id string
	// scheme and host make the request's own base URL (publicURL), joined only when an
	// answer needs it.
	scheme, host string
	// rawBody is the body as sent (the Stripe webhook's signature covers these bytes).
	rawBody []byte
	// accept is the Accept header, for the operations that answer in more than one
	// media type.
	accept string
	// caller is who an authentication attempt identified (an empty Principal when it
	// identified none; authAttempted says there was an attempt), so that refused and
	// rate-limited requests are audited too (recordAudit). authenticated says the
	// contract accepted the caller (token, kind and scope): the request's principal.
	caller                       access.Principal
	authAttempted, authenticated bool
}

type stateKey struct{}

// withState is ctx carrying st.
func withState(ctx context.Context, st *requestState) context.Context {
	return context.WithValue(ctx, stateKey{}, st)
}

// stateOf is the state of the request ctx belongs to; outside a request, an empty one
// that nothing keeps.
func stateOf(ctx context.Context) *requestState {
	if st, ok := ctx.Value(stateKey{}).(*requestState); ok {
		return st
	}
	return &requestState{}
}

// principal is the authenticated caller; the contract middleware guarantees one on every
// operation that declares security.
func principal(ctx context.Context) access.Principal {
	return stateOf(ctx).principal()
}

// principal is the caller once the contract has accepted it, else an empty Principal.
func (st *requestState) principal() access.Principal {
	if st.authenticated {
		return st.caller
	}
	return access.Principal{}
}

// partner is the caller as the booking layer knows it.
func partner(ctx context.Context) booking.Partner {
	p := principal(ctx)
	return booking.Partner{ID: p.PartnerID, TokenID: p.TokenID, AllVenues: p.AllVenues}
}

// RequestID returns the id of the request ctx belongs to.
func RequestID(ctx context.Context) string {
	return stateOf(ctx).id
}

// handleError is Echo's error handler and the one place an error becomes an answer:
// routing's, the middleware's (a *Problem) and every handler's (a domain error, mapped by
// problemFor) leave as the one error format. It runs inside accessLog and, for a POST
// with an Idempotency-Key, inside idempotent, so the answer is logged, measured, audited
// and stored for replay like any typed response.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var (
		p  *Problem
		he *echo.HTTPError
	)
	switch {
	case errors.As(err, &p):
	case errors.As(err, &he):
		switch he.Code {
		case http.StatusNotFound:
			msg := fmt.Sprintf("There is no operation at %s %s. See /docs/reference/ for the API reference.", c.Request().Method, c.Request().URL.Path)
			if p := c.Request().URL.Path; p == "/docs" || strings.HasPrefix(p, "/docs/") {
				msg = fmt.Sprintf("There is no page at %s. The documentation starts at /docs/.", p)
			}
			p = newProblem(CodeRouteNotFound, msg, "")
		case http.StatusMethodNotAllowed:
			p = newProblem(CodeMethodNotAllowed, fmt.Sprintf("%s does not accept %s.", c.Request().URL.Path, c.Request().Method), "")
		case http.StatusRequestEntityTooLarge:
			p = newProblem(CodeBodyTooLarge, "", "")
		case http.StatusUnsupportedMediaType:
			p = newProblem(CodeUnsupportedMediaType, "", "")
		case http.StatusBadRequest:
			p = newProblem(CodeBodyInvalid, "", "")
		default:
			p = newProblem(CodeInternal, "", "")
		}
	default:
		p = problemFor(err)
	}
	if p.Status >= 500 {
		s.log.ErrorContext(c.Request().Context(), "request failed",
			"request_id", RequestID(c.Request().Context()), "method", c.Request().Method,
			"path", c.Path(), "error", err)
	}
	s.writeProblem(c, p)
}

// writeProblem answers p: its status, its headers (WWW-Authenticate, Allow, Retry-After …)
// and the error envelope with the request's id and the code's doc_url.
func (s *Server) writeProblem(c echo.Context, p *Problem) {
	ctx := c.Request().Context()
	d := p.Detail
	d.RequestId = RequestID(ctx)
	d.DocUrl = docURL(s.publicURL(ctx), p.Code)
	for k, v := range p.Headers {
		c.Response().Header().Set(k, v)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(p.Status)
		return
	}
	// Encoded as gen's typed responses encode a body (compact, one newline, one write),
	// never indented for ?pretty, so an error reads the same bytes as a success does.
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(gen.ErrorResponse{Error: d}); err != nil {
		s.log.ErrorContext(ctx, "encode error response", "error", err)
		return
	}
	if err := c.Blob(p.Status, echo.MIMEApplicationJSON, buf.Bytes()); err != nil {
		s.log.WarnContext(ctx, "write error response", "error", err)
	}
}

// publicURL is the base URL doc links start with: PublicURL, or the request's own.
func (s *Server) publicURL(ctx context.Context) string {
	if s.deps.PublicURL != "" {
		return s.deps.PublicURL
	}
	if st, ok := ctx.Value(stateKey{}).(*requestState); ok {
		return st.scheme + "://" + st.host
	}
	return ""
}

// servedSpec is a document this server publishes (doc: the partner or the operator
// document), with its servers list starting with the server itself (PublicURL, or the
// address the request reached), so that Swagger UI's "Try it out" and a client generated
// from the download call the server they came from; the production, sandbox and local
// servers of the file follow.
func (s *Server) servedSpec(ctx context.Context, doc []byte) ([]byte, error) {
	sp, err := parsedSpec()
	if err != nil {
		return nil, err
	}
	self, err := json.Marshal(openapi3.Server{URL: s.publicURL(ctx), Description: "This server"})
	if err != nil {
		return nil, err
	}
	member := append([]byte(`"servers":`), sp.servers...)
	extended := append([]byte(`"servers":[`), self...)
	if len(sp.servers) > 2 {
		extended = append(append(extended, ','), sp.servers[1:]...)
	} else {
		extended = append(extended, ']')
	}
	return bytes.Replace(doc, member, extended, 1), nil
}

// rawJSON is a pre-encoded JSON document served as is.
type rawJSON []byte

// VisitGetOperatorOpenAPIJSONResponse implements gen.GetOperatorOpenAPIJSONResponseObject.
func (b rawJSON) VisitGetOperatorOpenAPIJSONResponse(w http.ResponseWriter) error {
	return b.VisitGetOpenAPIJSONResponse(w)
}

// VisitGetOpenAPIJSONResponse implements gen.GetOpenAPIJSONResponseObject.
func (b rawJSON) VisitGetOpenAPIJSONResponse(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(b)
	return err
}

// now is used for log durations.
var now = time.Now
