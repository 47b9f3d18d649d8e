// Package httpapi is kinerjad's HTTP API, version 1: the contract of
// api.md on a gorilla/mux router.
//
// # Shape
//
// Routes are registered per resource (units.go, employees.go, skps.go,
// evaluations.go, history.go, audit.go, reports.go, ops.go). Every
// handler has the signature func(w, r) error; the application layer's one
// table of error kinds (adapters/app, shared with the dashboard) gives
// the status and the RFC 9457 problem (errors.go). Authentication is
// middleware on the /v1 subrouter; authorisation is the domain's (package
// authz, from the reporting lines in effect on the date of the action),
// asked through the domain services or the application layer's reads: the
// API only turns a request into a [domain.Request] and a command, and
// never compares roles itself (layout_test.go).
//
// # The application layer
//
// The API translates for adapters/app (Config.App), which the dashboard
// shares: the domain services and readers (s.cfg embeds app.Config, so a
// handler reads s.cfg.SKPs, s.cfg.Directory, s.cfg.Now() …), keyed
// execution (s.svc(r) gives the services of a keyed request), the reports
// and the reads that need an access decision (s.app.ListSKPs,
// s.app.Progress, s.app.AuditEntries …).
//
// Commands go to the domain services; reads of one SKP replay its stream
// (so they are never stale and can go back in time with as_of or
// revision); lists, reports and the audit trail come from the projections'
// readers, and say in the Kinerja-Projection-Position header how far the
// projection had read.
//
// # What it refuses
//
// A body must be one JSON object with known fields of the right types
// (400); then every string in it is read raw for invalid UTF-8, unpaired
// surrogate escapes and control characters other than tab, LF and CR, and
// every null for a field that cannot be null (422 naming each, text.go);
// query parameters likewise (400). Every 404 has one body whatever said
// not found (errors.go). A dependency that is down is 503 unavailable or
// 507 insufficient_storage, never 500 (adapters/app's faults.go); what
// net/http refuses before any handler becomes a problem too (Listener).
//
// # Retries
//
// A command that keeps losing the race for its stream (the domain Handler's
// Runner gives up) is 409 contention with Retry-After: nothing was written.
// Every mutation accepts an Idempotency-Key (idempotency.go, on
// app.App.Keyed): the first response is kept at least 30 days and replayed
// to a repeat; the event IDs of a keyed request are derived from the key,
// so a repeat after a crash that lost the kept response cannot append
// twice.
//
// # Personal data
//
// Logs carry the request ID, the route template, the status, the problem
// code, the caller's subject (an NIP or a service account) and, for 5xx,
// the error; never a body, a token, a raw path or a name (accesslog.go).
package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/app/imports"
	"github.com/kinerja-ledger/kinerja/domain"
)

// Authenticator verifies a bearer token (package jwtauth implements it).
// It is safe for concurrent use. Any error means 401 unauthenticated; the
// error is logged, never shown.
type Authenticator interface {
	// Authenticate returns the caller named by token.
	Authenticate(ctx context.Context, token string) (domain.Principal, error)
}

// Config is everything the API needs besides the application layer it
// translates for; the API holds no state of its own.
type Config struct {
	// App is the application layer: the domain services, the readers, the
	// reports, keyed execution, the clock, the policy and the logger. The
	// dashboard is given the same value. Required.
	App *app.App

	// Authenticator verifies bearer tokens. Required.
	Authenticator Authenticator

	// Projections reports the projections' state for GET
	// /v1/ops/projections. Optional (the route answers 404 without it).
	Projections func(ctx context.Context) ([]ProjectionState, error)

	// Ready reports whether the service can serve (store reachable,
	// projections caught up); /readyz answers 503 with its error. Optional
	// (always ready).
	Ready func(ctx context.Context) error
	// Readiness, when set, answers /readyz instead of Ready, with each
	// projection's state (see Readiness).
	Readiness func(ctx context.Context) Readiness
	// Registry receives the API's metrics and is served at /metrics
	// (default: a new registry with the Go and process collectors).
	Registry *prometheus.Registry
	// MetricsHandler, when set, is served at /metrics instead of the
	// Registry (for a process that gathers several registries).
	MetricsHandler http.Handler

	// MaxBodyBytes bounds request bodies (default 1 MiB, the contract's).
	MaxBodyBytes int64
	// RenderCacheBytes bounds the cache of rendered SKP views (default
	// DefaultRenderCacheBytes).
	RenderCacheBytes int
	// Imports runs the bulk imports of master data (POST /v1/imports);
	// give the dashboard the same value so that both list the same jobs.
	// Optional: a new Importer over App by default.
	Imports *imports.Importer
}

// DefaultRenderCacheBytes is the default bound of the rendered-view cache.
const DefaultRenderCacheBytes = 32 << 20

// DefaultMaxBodyBytes is the contract's body limit, 1 MiB.
const DefaultMaxBodyBytes = 1 << 20

func (c *Config) setDefaults() {
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
		c.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.RenderCacheBytes == 0 {
		c.RenderCacheBytes = DefaultRenderCacheBytes
	}
}

// Validate reports every problem of c, joined. It expects the defaults of
// New to have been applied for the optional fields.
func (c Config) Validate() error {
	var errs []error
	if c.App == nil {
		errs = append(errs, errors.New("httpapi: App is required"))
	}
	if c.Authenticator == nil {
		errs = append(errs, errors.New("httpapi: Authenticator is required"))
	}
	if c.RenderCacheBytes < 0 {
		errs = append(errs, errors.New("httpapi: RenderCacheBytes must not be negative"))
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, errors.New("httpapi: MaxBodyBytes must be at least 1 KiB"))
	}
	return errors.Join(errs...)
}

// settings is what the handlers read: the application layer's
// configuration (services, readers, policy, clock, logger; app.Config) and
// the API's own (Config). Reads that need an access decision go through
// the App's methods instead.
type settings struct {
	appConfig
	Config
}

// appConfig names app.Config for embedding beside Config.
type appConfig = app.Config

// Server is the API. It is an http.Handler, safe for concurrent use.
type Server struct {
	cfg     settings
	app     *app.App
	router  *mux.Router
	handler http.Handler // router behind the access log (which gives request IDs)
	metrics *metrics
	renders *renderCache // rendered SKP views, by revision
	imports *imports.Importer
	// prefetch holds, per route, what authenticate reads before it
	// resolves the caller (see readPrefetched); written only while the
	// routes are registered.
	prefetch map[*mux.Route]prefetchFunc
}

// prefetchFunc returns a context under which a route's reads cost the store
// one round trip (app.PrefetchSKP), for caller p.
type prefetchFunc func(ctx context.Context, p domain.Principal, r *http.Request) context.Context

// New returns the API for cfg, after applying defaults and validating it.
func New(cfg Config) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: settings{appConfig: cfg.App.Config(), Config: cfg}, app: cfg.App, router: mux.NewRouter(), renders: newRenderCache(cfg.RenderCacheBytes)}
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	if s.imports = cfg.Imports; s.imports == nil {
		if s.imports, err = imports.New(imports.Config{App: cfg.App}); err != nil {
			return nil, err
		}
	}
	s.routesAll()
	s.handler = AccessLog(s.cfg.Logger, "unmatched", s.router)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// routesAll registers every route: operations at the root, the API under
// /v1 behind authentication.
func (s *Server) routesAll() {
	r := s.router
	r.StrictSlash(false)
	r.Use(s.metricsMiddleware)
	r.NotFoundHandler = s.handle(func(_ http.ResponseWriter, r *http.Request) error {
		return &domain.NotFoundError{Kind: "route", ID: r.URL.Path}
	})
	r.MethodNotAllowedHandler = s.handle(func(http.ResponseWriter, *http.Request) error { return errMethodNotAllowed })
	s.registerOps(r)

	// The /v1 routes carry their full path on a subrouter without a path
	// prefix: with a prefix, gorilla/mux v1.8.1 answers 404 instead of 405
	// for a known path with another method (the prefix matcher of every
	// subroute clears the method mismatch).
	v1 := r.NewRoute().Subrouter()
	v1.Use(s.authenticate, s.limitBody)
	v1.NotFoundHandler = r.NotFoundHandler
	v1.MethodNotAllowedHandler = r.MethodNotAllowedHandler
	// gorilla/mux tries the routes in this order, each with its path's
	// regular expression: the SKP routes, GET /v1/skps/{id} the most
	// asked, come first (no other route's path matches theirs, so the
	// order decides nothing but the cost: ≈ 20 expressions per GET).
	s.registerSKPs(v1)
	s.registerUnits(v1)
	s.registerEmployeeSearch(v1)
	s.registerEmployees(v1)
	s.giverRoutes(v1)
	s.registerFeedback360(v1)
	s.registerCoaching(v1)
	s.registerEvidenceFiles(v1)
	s.registerEvaluations(v1)
	s.registerHistory(v1)
	s.registerAudit(v1)
	s.registerOpsV1(v1)
	s.registerReports(v1)
	s.registerConsequences(v1)
	s.registerDevelopment(v1)
	s.registerInbox(v1)
	s.registerDocuments(v1)
	s.registerImports(v1)
}

// read registers a route that changes nothing.
func (s *Server) read(r *mux.Router, method, path string, h handlerFunc) {
	s.addRoute(r, method, path, s.handle(h))
}

// mutation registers a route that runs a command: it honours
// Idempotency-Key. status is the route's success status, used when a
// keyed request turns out to have been applied by an earlier attempt (see
// idempotency.go).
func (s *Server) mutation(r *mux.Router, method, path string, status int, h handlerFunc) {
	s.addRoute(r, method, path, s.idempotent(s.handle(func(w http.ResponseWriter, r *http.Request) error {
		err := h(w, r)
		var applied *app.AppliedError
		if errors.As(err, &applied) {
			return s.answerApplied(w, r, status, applied)
		}
		return err
	})))
}

// readPrefetched is read for a route whose reads the authentication
// middleware starts, in one round trip with what the caller's tenancy
// check needs (the store's head for a claimless token: app.PrefetchSKP):
// the route then costs the store one statement, not two.
func (s *Server) readPrefetched(r *mux.Router, method, path string, h handlerFunc, pf prefetchFunc) {
	if s.prefetch == nil {
		s.prefetch = map[*mux.Route]prefetchFunc{}
	}
	s.prefetch[s.addRoute(r, method, path, s.handle(h))] = pf
}

func (s *Server) addRoute(r *mux.Router, method, path string, h http.Handler) *mux.Route {
	return r.Handle(path, h).Methods(method)
}
