package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// handlerFunc is an API handler: it writes a success response itself and
// returns any failure, which [Server.handle] renders as a problem.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// Errors of the HTTP layer: the application layer's kinds (app.Describe
// holds the one table of both edges).
var (
	errInvalidRequest   = app.ErrInvalidRequest
	errUnauthenticated  = app.ErrUnauthenticated
	errTooLarge         = app.ErrTooLarge
	errMethodNotAllowed = app.ErrMethodNotAllowed
	errUnavailable      = app.ErrNotReady
)

// problemTypeBase prefixes the code in a problem's "type".
const problemTypeBase = "urn:kinerja:problem:"

// Problem is an RFC 9457 problem detail, the body of every error answer
// (application/problem+json).
type Problem struct {
	// Type is a URI naming the kind: "urn:kinerja:problem:" + Code.
	Type string `json:"type"`
	// Title is a short summary of the kind.
	Title string `json:"title"`
	// Status is the HTTP status.
	Status int `json:"status"`
	// Detail explains this occurrence; generic for 500.
	Detail string `json:"detail"`
	// Code is the stable machine-readable code of api.md.
	Code string `json:"code"`
	// Errors lists each invalid field (validation_failed, invalid_request).
	Errors []domain.FieldError `json:"errors"`
	// RequestID is the X-Request-ID of the request, for support.
	RequestID string `json:"request_id,omitempty"`
}

// requestError is a 400 about one field, parameter or header.
type requestError struct {
	field, msg string
}

func (e *requestError) Error() string {
	if e.field == "" {
		return e.msg
	}
	return e.field + ": " + e.msg
}

func (e *requestError) Unwrap() error { return errInvalidRequest }

func badRequest(field, format string, args ...any) error {
	return &requestError{field: field, msg: fmt.Sprintf(format, args...)}
}

// authError wraps why a token was refused; only the kind is shown.
type authError struct{ err error }

func (e *authError) Error() string { return "unauthenticated: " + e.err.Error() }
func (e *authError) Unwrap() error { return errUnauthenticated }

// problemOf maps err to its problem (without the request ID): the kind's
// status, code and title from app.Describe, and a detail that is either
// the kind's or the message of an error written for people (app.Detail,
// a 400's own), never an internal error's string.
func problemOf(err error) Problem {
	k := app.Describe(err)
	p := Problem{Type: problemTypeBase + k.Code, Title: k.Title, Status: k.Status, Code: k.Code, Detail: k.Detail, Errors: []domain.FieldError{}}
	var ve *domain.ValidationError
	var re *requestError
	switch {
	case k.Code == "invalid_request" && errors.Is(err, skps.ErrBadCursor):
		p.Errors = append(p.Errors, domain.FieldError{Field: "cursor", Message: "not one this service issued"})
	case k.Fixed:
		// One body for every 404 ("missing" and "you may not see it" must
		// not differ), and nothing of the cause of a 5xx or a refused
		// token.
	case errors.As(err, &ve):
		p.Errors = append(p.Errors, ve.Fields...)
	case errors.As(err, &re):
		p.Detail = re.Error()
		if re.field != "" {
			p.Errors = append(p.Errors, domain.FieldError{Field: re.field, Message: re.msg})
		}
	default:
		if d := app.Detail(err); d != "" {
			p.Detail = d
		}
	}
	return p
}

// handle turns a handlerFunc into an http.Handler that renders its error.
func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// writeError renders err as a problem and logs it: 5xx with the error,
// others at debug level with the code only.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p := problemOf(err)
	if errors.Is(err, domain.ErrConcurrency) {
		// Retryable: not the answer a repeat of the key should get.
		if st, ok := r.Context().Value(idemStateKey).(*idemState); ok {
			st.retryable.Store(true)
		}
	}
	p.RequestID = requestID(r)
	record(r).code = p.Code
	route := routeTemplate(r)
	switch {
	case p.Status >= 500:
		s.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "request_failed", slog.String("request_id", p.RequestID),
			slog.String("method", r.Method), slog.String("route", route), slog.Int("status", p.Status), slog.String("error", err.Error()))
	default:
		s.cfg.Logger.LogAttrs(r.Context(), slog.LevelDebug, "request_refused", slog.String("request_id", p.RequestID),
			slog.String("method", r.Method), slog.String("route", route), slog.Int("status", p.Status), slog.String("code", p.Code))
	}
	b, _ := json.Marshal(p)
	// Nothing a handler set before it failed (an ETag, a Location, a
	// projection position) describes the error; a 404 in particular must
	// look the same whatever was found first.
	h := w.Header()
	for k := range h {
		if k != "X-Request-Id" {
			delete(h, k)
		}
	}
	if p.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="kinerja", error="invalid_token"`)
	}
	if after := retryAfter(p.Code); after != "" {
		h.Set("Retry-After", after)
	}
	h.Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	w.Write(b)
}

// retryAfter is the Retry-After (seconds) of the answers a client should
// repeat later: contention clears when the other writers are done, an
// outage of a dependency takes longer.
func retryAfter(code string) string {
	switch code {
	case "contention":
		return "1"
	case "unavailable":
		return "5"
	}
	return ""
}

// routeTemplate returns the matched route's path template, or "unmatched".
func routeTemplate(r *http.Request) string {
	if route := mux.CurrentRoute(r); route != nil {
		if t, err := route.GetPathTemplate(); err == nil {
			return t
		}
	}
	return "unmatched"
}
