// Package httpapi is kinerjad's HTTP API, version 1: the contract of
// api.md on a gorilla/mux router.
//
// # Shape
//
// Routes are registered per resource (units.go, employees.go, skps.go,
// evaluations.go, history.go, audit.go, reports.go, ops.go). Every
// handler has the signature func(w, r) error; one table (errors.go) maps
// the error to a status and an RFC 9457 problem. Authentication is
// middleware on the /v1 subrouter; authorisation is the domain's (package
// authz, from the reporting lines in effect on the date of the action): the
// API only turns a request into a [domain.Request] and a command.
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
// 507 insufficient_storage, never 500 (faults.go); what net/http refuses
// before any handler becomes a problem too (Listener).
//
// # Retries
//
// A command that keeps losing the race for its stream (the domain Handler's
// Runner gives up) is 409 contention with Retry-After: nothing was written.
// Every mutation accepts an Idempotency-Key (idempotency.go): the first
// response is kept at least 30 days and replayed to a repeat; the event IDs
// of a keyed request are derived from the key, so a repeat after a crash
// that lost the kept response cannot append twice.
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
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kinerja-ledger/kinerja/app"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/objections"
	"github.com/kinerja-ledger/kinerja/projections/scores"
	"github.com/kinerja-ledger/kinerja/projections/skps"
	"github.com/kinerja-ledger/kinerja/projections/timeline"
)

// Authenticator verifies a bearer token (package jwtauth implements it).
// It is safe for concurrent use. Any error means 401 unauthenticated; the
// error is logged, never shown.
type Authenticator interface {
	// Authenticate returns the caller named by token.
	Authenticate(ctx context.Context, token string) (domain.Principal, error)
}

// IdempotencyStore keeps the first response to each keyed mutation
// (Idempotency-Key) for at least the configured retention, across
// restarts. Records are opaque to the store. Implementations
// (boltstore.Idempotency in embedded mode, a PostgreSQL table otherwise)
// are safe for concurrent use.
type IdempotencyStore interface {
	// Get returns the record stored under key, or ok=false when there is
	// none or it expired at or before now.
	Get(ctx context.Context, key string, now time.Time) (record []byte, ok bool, err error)
	// Put stores record under key until expires, durably when it returns.
	// When an unexpired record is already stored under key it keeps that
	// one (the first response wins) and returns nil.
	Put(ctx context.Context, key string, record []byte, now, expires time.Time) error
	// DeleteExpired removes the records that expired at or before now and
	// returns how many.
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
}

// Report is one report's answer, in the two shapes the API renders: JSON
// (any value that encodes as JSON), and a table (Columns and Rows) for CSV
// and XLSX.
type Report struct {
	// JSON is the application/json body: a value to encode, or a
	// json.RawMessage already encoded (written as it is).
	JSON any
	// Columns are the table's header; Rows its cells, as text.
	Columns []string
	Rows    [][]string
	// Position is how far the projections the report read had read (the
	// Kinerja-Projection-Position header).
	Position eventstore.Position
}

// Reporter computes the reports of /v1/reports from the projections. The
// API has authorised the caller before it calls. Errors: a
// [*domain.ValidationError] for bad parameters (422), an error matching
// [domain.ErrNotFound] or directory.ErrNotFound for an unknown unit (404).
type Reporter interface {
	// Progress counts SKPs by status, late ones and missing ones, per unit
	// of unit's subtree, for year.
	Progress(ctx context.Context, unit string, year int) (Report, error)
	// Distribution checks the predikat counts of unit and its sub-units for
	// period against the distribution pattern.
	Distribution(ctx context.Context, unit, period string) (Report, error)
	// Objections lists the objections of unit's subtree ("" for all), with
	// status ("" for any) and overdue (nil for either).
	Objections(ctx context.Context, unit, status string, overdue *bool) (Report, error)
}

// Verifier recomputes the audit trail from the event store and checks it
// against the stored tree and signed checkpoints (POST /v1/audit/verify).
type Verifier interface {
	// Verify returns what it found; an error only when it could not read.
	Verify(ctx context.Context) (audit.Report, error)
}

// Positions tells how far a projection has read, for the
// Kinerja-Projection-Position header of answers served from it.
type Positions interface {
	// Checkpoint returns the position of the last event the projection
	// named (directory.Name, skps.Name, audit.Name, …) applied.
	Checkpoint(ctx context.Context, projection string) (eventstore.Position, error)
}

// Config is everything the API needs. Services and readers are the real
// ones (or, in tests, working fakes); the API holds no state of its own
// apart from the idempotency records.
type Config struct {
	// Units, Employees, SKPs and Distribution are the domain services that
	// run commands and the authorised reads of one aggregate. Required.
	Units        *orgunit.Service
	Employees    *employee.Service
	SKPs         *skp.Service
	Distribution *distribution.Service
	// Store is the event store: GET /v1/skps/{id}/events reads it (for
	// positions and hashes). Required.
	Store eventstore.Store

	// Directory serves unit children and subtrees. Required.
	Directory directory.Reader
	// SKPList serves GET /v1/skps. Required.
	SKPList skps.Reader
	// Evaluations serves GET /v1/evaluations. Optional (the route answers
	// 404 without it).
	Evaluations evaluations.Reader
	// Scores serves GET /v1/employees/{nip}/score-history. Optional.
	Scores scores.Reader
	// Objections serves GET /v1/objections (the grievance register).
	// Optional.
	Objections objections.Reader
	// Timeline serves GET /v1/employees/{nip}/timeline. Optional.
	Timeline timeline.Reader
	// Audit serves the audit trail, checkpoints and proofs. Required.
	Audit audit.Reader
	// Reports computes /v1/reports. Required.
	Reports Reporter
	// Verifier serves POST /v1/audit/verify. Required.
	Verifier Verifier
	// Positions fills Kinerja-Projection-Position for answers read from a
	// projection. Optional (no header without it).
	Positions Positions

	// Authenticator verifies bearer tokens. Required.
	Authenticator Authenticator
	// Idempotency keeps the first response of keyed mutations. Required.
	Idempotency IdempotencyStore
	// IdempotencyRetention is how long a response is kept (default and
	// minimum 30 days, as the contract promises).
	IdempotencyRetention time.Duration

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

	// Policy is the domain configuration (dates in its zone). Default
	// policy.Default().
	Policy policy.Policy
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives the access log (one line per request, info level)
	// and the failures (default slog.Default()).
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies (default 1 MiB, the contract's).
	MaxBodyBytes int64
	// RenderCacheBytes bounds the cache of rendered SKP views (default
	// DefaultRenderCacheBytes).
	RenderCacheBytes int
}

// DefaultRenderCacheBytes is the default bound of the rendered-view cache.
const DefaultRenderCacheBytes = 32 << 20

// MinIdempotencyRetention is the contract's "kept at least 30 days".
const MinIdempotencyRetention = 30 * 24 * time.Hour

// DefaultMaxBodyBytes is the contract's body limit, 1 MiB.
const DefaultMaxBodyBytes = 1 << 20

func (c *Config) setDefaults() {
	if c.IdempotencyRetention == 0 {
		c.IdempotencyRetention = MinIdempotencyRetention
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
		c.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if c.Policy.Version == "" {
		c.Policy = policy.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
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
	missing := func(name string, ok bool) {
		if !ok {
			errs = append(errs, errors.New("httpapi: "+name+" is required"))
		}
	}
	missing("Units", c.Units != nil && c.Units.Handler != nil)
	missing("Employees", c.Employees != nil && c.Employees.Handler != nil)
	missing("SKPs", c.SKPs != nil && c.SKPs.Handler != nil)
	missing("Distribution", c.Distribution != nil && c.Distribution.Handler != nil)
	missing("Store", c.Store != nil)
	missing("Directory", c.Directory != nil)
	missing("SKPList", c.SKPList != nil)
	missing("Audit", c.Audit != nil)
	missing("Reports", c.Reports != nil)
	missing("Verifier", c.Verifier != nil)
	missing("Authenticator", c.Authenticator != nil)
	missing("Idempotency", c.Idempotency != nil)
	if c.IdempotencyRetention < MinIdempotencyRetention {
		errs = append(errs, errors.New("httpapi: IdempotencyRetention must be at least 30 days (the contract keeps keys that long)"))
	}
	if c.RenderCacheBytes < 0 {
		errs = append(errs, errors.New("httpapi: RenderCacheBytes must not be negative"))
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, errors.New("httpapi: MaxBodyBytes must be at least 1 KiB"))
	}
	if err := c.Policy.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Server is the API. It is an http.Handler, safe for concurrent use.
type Server struct {
	cfg     Config
	router  *mux.Router
	handler http.Handler // router behind the access log (which gives request IDs)
	metrics *metrics

	keyLocks  app.Keyed    // requests with the same (caller, Idempotency-Key) take turns
	lastSweep atomic.Int64 // Unix seconds of the last idempotency sweep
	renders   *renderCache // rendered SKP views, by revision
}

// New returns the API for cfg, after applying defaults and validating it.
func New(cfg Config) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, router: mux.NewRouter(), renders: newRenderCache(cfg.RenderCacheBytes)}
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.routesAll()
	s.handler = AccessLog(cfg.Logger, "unmatched", s.router)
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
	s.registerUnits(v1)
	s.registerEmployees(v1)
	s.registerSKPs(v1)
	s.registerEvaluations(v1)
	s.registerHistory(v1)
	s.registerAudit(v1)
	s.registerOpsV1(v1)
	s.registerReports(v1)
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
		var applied *alreadyApplied
		if errors.As(err, &applied) {
			return s.answerApplied(w, r, status, applied)
		}
		return err
	})))
}

func (s *Server) addRoute(r *mux.Router, method, path string, h http.Handler) {
	r.Handle(path, h).Methods(method)
}
