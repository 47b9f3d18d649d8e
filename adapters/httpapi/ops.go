package httpapi

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// openAPIDoc is the contract as OpenAPI 3.1, kept true by
// TestOpenAPIMatchesRoutes and TestOpenAPIUpToDate.
//
//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns the OpenAPI 3.1 document served at /openapi.json.
func OpenAPI() []byte { return append([]byte(nil), openAPIDoc...) }

// registerOps registers the unauthenticated operational routes.
func (s *Server) registerOps(r *mux.Router) {
	s.read(r, http.MethodGet, "/healthz", func(w http.ResponseWriter, _ *http.Request) error {
		return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.read(r, http.MethodGet, "/readyz", func(w http.ResponseWriter, r *http.Request) error {
		if s.cfg.Readiness != nil {
			return s.writeReadiness(w, r, s.cfg.Readiness(r.Context()))
		}
		if s.cfg.Ready != nil {
			if err := s.cfg.Ready(r.Context()); err != nil {
				return notReady(err)
			}
		}
		return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	metrics := s.cfg.MetricsHandler
	if metrics == nil {
		metrics = promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{})
	}
	r.Handle("/metrics", metrics).Methods(http.MethodGet)
	s.read(r, http.MethodGet, "/openapi.json", func(w http.ResponseWriter, _ *http.Request) error {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, err := w.Write(openAPIDoc)
		return err
	})
}

// The statuses of Readiness.
const (
	// ReadyOK: everything serves and is current.
	ReadyOK = "ready"
	// ReadyDegraded: the instance serves, but something needs an operator
	// (a projection stopped at an event, a relay failing); taking the
	// instance out of rotation would not help: 200.
	ReadyDegraded = "degraded"
	// ReadyNot: the instance cannot serve well now (its store is
	// unreachable, a projection fails or lags): 503.
	ReadyNot = "not_ready"
)

// Readiness is the answer of /readyz: its status, the reasons for it, and
// each projection's state. 200 unless Status is ReadyNot, then 503 as a
// problem (code unavailable) that carries the same fields, the status
// under "readiness".
type Readiness struct {
	Status      string                `json:"status"`
	Reasons     []string              `json:"reasons,omitempty"`
	Projections []ProjectionReadiness `json:"projections,omitempty"`
	// HistoryCheck is the background check of the history below a loaded
	// read-model snapshot (embedded read models only; absent when no
	// snapshot was loaded).
	HistoryCheck *HistoryCheckState `json:"history_check,omitempty"`
}

// HistoryCheckState is the progress of the check, after /readyz first
// answered 200, that the store's events below the loaded read-model
// snapshot are still the ones it was built from (docs/projections.md,
// "Snapshots"). Status is pending (not started), running, ok, or failed
// (the history changed: the instance stops serving and exits, so that its
// restart rebuilds the read models from the log).
type HistoryCheckState struct {
	Status  string `json:"status"`
	Checked uint64 `json:"checked"`
	Total   uint64 `json:"total"`
}

// ProjectionReadiness is one projection's state in Readiness.
type ProjectionReadiness struct {
	Name   string `json:"name"`
	Policy string `json:"policy"`
	// Condition is ok, lagging, failing or stalled (stopped at an event).
	Condition  string  `json:"condition"`
	Checkpoint uint64  `json:"checkpoint"`
	LagSeconds float64 `json:"lag_seconds"`
	// StalledAt names the event a stalled projection is held at.
	StalledAt *StalledEvent `json:"stalled_at,omitempty"`
	// LastError is the failure of a failing or stalled projection.
	LastError string `json:"last_error,omitempty"`
}

// StalledEvent is the event a projection is held at and why. It names
// the event by position, ID and type, never by its stream: /readyz answers
// without a token, and stream names carry NIPs.
type StalledEvent struct {
	Position uint64    `json:"position"`
	EventID  string    `json:"event_id"`
	Type     string    `json:"type"`
	Reason   string    `json:"reason"`
	Since    time.Time `json:"since"`
}

// writeReadiness answers /readyz from rd.
func (s *Server) writeReadiness(w http.ResponseWriter, r *http.Request, rd Readiness) error {
	if rd.Status != ReadyNot {
		return writeJSON(w, http.StatusOK, rd)
	}
	p := problemOf(notReady(errors.New(strings.Join(rd.Reasons, "; "))))
	p.RequestID = requestID(r)
	// The problem's "status" is the HTTP status: the readiness status
	// goes under "readiness".
	b, err := json.Marshal(struct {
		Problem
		Readiness    string                `json:"readiness"`
		Reasons      []string              `json:"reasons,omitempty"`
		Projections  []ProjectionReadiness `json:"projections,omitempty"`
		HistoryCheck *HistoryCheckState    `json:"history_check,omitempty"`
	}{p, rd.Status, rd.Reasons, rd.Projections, rd.HistoryCheck})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_, err = w.Write(b)
	return err
}

// notReady says why /readyz fails: an error of kind unavailable whose
// detail is the reason (operators read it), which names components, never
// data.
func notReady(err error) error {
	return app.Visible(fmt.Errorf("%w: %w", errUnavailable, err), "not ready: "+err.Error())
}

// metrics are the API's Prometheus collectors.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	replays  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "kinerja", Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests by route template, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "kinerja", Subsystem: "http", Name: "request_duration_seconds",
			Help:    "HTTP request latency by route template and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		replays: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "kinerja", Subsystem: "http", Name: "idempotent_replays_total",
			Help: "Keyed mutations answered with the stored first response.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.replays} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// metricsMiddleware counts and times requests by route template (never by
// raw path, which would carry NIPs and make the series unbounded).
func (s *Server) metricsMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		route := routeTemplate(r)
		record(r).route = route
		next.ServeHTTP(sw, r)
		s.metrics.requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.status)).Inc()
		s.metrics.duration.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
	})
}

// ProjectionState is one projection's state, for operators.
type ProjectionState struct {
	Name       string `json:"name"`
	Policy     string `json:"policy"`
	Checkpoint uint64 `json:"checkpoint"`
	Head       uint64 `json:"head"`
	// LagEvents counts the unapplied events the projection reads (capped;
	// LagCapped says so); LagSeconds is the oldest one's age.
	LagEvents            int     `json:"lag_events"`
	LagCapped            bool    `json:"lag_capped,omitempty"`
	LagSeconds           float64 `json:"lag_seconds"`
	CheckpointAgeSeconds float64 `json:"checkpoint_age_seconds"`
	Stalled              bool    `json:"stalled"`
	LastError            string  `json:"last_error,omitempty"`
	DeadLetters          int     `json:"dead_letters"`
}

// ProjectionList is the answer of GET /v1/ops/projections.
type ProjectionList struct {
	Items []ProjectionState `json:"items"`
}

// registerOpsV1 registers the authenticated operational routes.
func (s *Server) registerOpsV1(r *mux.Router) {
	s.read(r, http.MethodGet, "/v1/ops/projections", func(w http.ResponseWriter, r *http.Request) error {
		if err := s.app.Authorize(principal(r), authz.ReadOps); err != nil {
			return err
		}
		if s.cfg.Projections == nil {
			return fmt.Errorf("%w: projections do not run in this process", domain.ErrNotFound)
		}
		items, err := s.cfg.Projections(r.Context())
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, ProjectionList{Items: items})
	})
}
