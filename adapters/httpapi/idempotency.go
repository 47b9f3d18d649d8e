package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Idempotency-Key, as the contract has it: a repeat of a keyed mutation
// (same caller, key, method, path, If-Match and body) gets the first
// response, status and body, and appends nothing; the same key with
// another request is 422 idempotency_key_reused. The machinery is the
// application layer's (app.App.Keyed: the stored first answers, the turns
// per key, the event IDs derived from the key); the API keeps the first
// response unless it is a 5xx, a 499 (the client went away; the request
// may not have run) or the retryable 409 of a command whose every attempt
// lost a race (the client should repeat those), and answers
// a request whose events an earlier attempt appended (its response lost in
// a crash) with the route's success status and the current representation
// of the resource the events went to, marked
// "Idempotency-Replayed: reconstructed", and keeps that answer as the
// key's when it is a 2xx: later repeats replay it (app.Keyed stores it,
// completing the claim the events left). A reconstruction that failed is
// not kept, and the next repeat reconstructs again.

// replayedHeaders are the response headers a replay repeats.
var replayedHeaders = []string{"Content-Type", "ETag", "Location"}

// MaxIdempotencyKeyLen bounds Idempotency-Key (1 to 200 printable
// characters).
const MaxIdempotencyKeyLen = app.MaxKeyLen

// idempotent is the middleware of every mutation route.
func (s *Server) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, keyed := r.Header["Idempotency-Key"]
		if !keyed {
			next.ServeHTTP(w, r)
			return
		}
		if len(key) != 1 || !app.ValidKey(key[0]) {
			s.writeError(w, r, badRequest("Idempotency-Key", "must be one value of 1 to %d printable characters", MaxIdempotencyKeyLen))
			return
		}
		body, err := readBody(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		k := app.Key{Caller: principal(r).ID, Key: key[0],
			Fingerprint: app.Fingerprint(r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("If-Match"), string(body))}
		ans, replayed, err := s.app.Keyed(r.Context(), k, func(ctx context.Context) (app.Answer, bool) {
			st := &idemState{}
			r := r.WithContext(context.WithValue(ctx, idemStateKey, st))
			r.Body = readCloser{bytes.NewReader(body)}
			rec := &recorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			ans := app.Answer{Status: rec.status, Body: rec.buf.Bytes(), Header: map[string]string{}}
			for _, h := range replayedHeaders {
				if v := rec.header[h]; v != "" {
					ans.Header[h] = v
				}
			}
			// A 499 (the client went away, perhaps before the append) is
			// never the key's answer. A reconstruction is kept only when
			// it succeeded: one that failed (the client went away while
			// the representation was read, a refusal before the command
			// met its events) would replay a failure for a request that
			// was applied.
			keep := rec.status != 0 && rec.status < 500 && rec.status != statusClientClosed && !st.retryable.Load() &&
				(!rec.reconstructed || rec.status >= 200 && rec.status < 300)
			return ans, keep
		})
		switch {
		case err != nil:
			s.writeError(w, r, err)
		case replayed:
			s.metrics.replays.Inc()
			for k, v := range ans.Header {
				w.Header().Set(k, v)
			}
			w.Header().Set("Idempotency-Replayed", "true")
			w.WriteHeader(ans.Status)
			w.Write(ans.Body)
		}
	})
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// recorder passes a response through and keeps a copy.
type recorder struct {
	http.ResponseWriter
	status int
	header map[string]string
	buf    bytes.Buffer
	// reconstructed: the answer is answerApplied's (a request an earlier
	// attempt applied).
	reconstructed bool
}

// statusClientClosed is the status of a request whose client went away
// (app's kind of context.Canceled).
const statusClientClosed = 499

func (r *recorder) WriteHeader(code int) {
	if r.status != 0 {
		return
	}
	r.status = code
	r.header = map[string]string{}
	for _, h := range replayedHeaders {
		r.header[h] = r.ResponseWriter.Header().Get(h)
	}
	r.reconstructed = r.ResponseWriter.Header().Get("Idempotency-Replayed") != ""
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	r.buf.Write(b)
	return r.ResponseWriter.Write(b)
}

// idemState is what a keyed request's handlers tell the idempotency
// middleware.
type idemState struct {
	// retryable: the answer is a retryable refusal (every retry lost a
	// race), which a repeat of the key must not get again.
	retryable atomic.Bool
}

// services are the domain services a handler runs commands on.
type services struct {
	units     *orgunit.Service
	employees *employee.Service
	skps      *skp.Service
	dist      *distribution.Service
}

// svc returns the services for r: the configured ones, or for a keyed
// request copies whose handlers derive their IDs from the key
// (app.App.Services).
func (s *Server) svc(r *http.Request) services {
	v := s.app.Services(r.Context())
	return services{v.Units, v.Employees, v.SKPs, v.Distribution}
}

// answerApplied answers a keyed request whose events were appended by an
// earlier attempt whose response was lost: the route's success status and
// the current representation of the stream's resource, as the caller may
// see it.
func (s *Server) answerApplied(w http.ResponseWriter, r *http.Request, status int, a *app.AppliedError) error {
	w.Header().Set("Idempotency-Replayed", "reconstructed")
	ctx, caller := r.Context(), principal(r)
	switch {
	case strings.HasPrefix(a.Stream, domain.SKPStreamPrefix):
		if v, err := s.cfg.SKPs.Read(ctx, caller, strings.TrimPrefix(a.Stream, domain.SKPStreamPrefix), skp.AsOf{}); err == nil {
			return writeVersioned(w, status, v.Revision, v)
		}
	case strings.HasPrefix(a.Stream, domain.UnitStreamPrefix):
		if u, err := s.cfg.Units.Get(ctx, strings.TrimPrefix(a.Stream, domain.UnitStreamPrefix)); err == nil {
			return writeVersioned(w, status, u.View(s.today()).Revision, s.unitView(ctx, u))
		}
	case strings.HasPrefix(a.Stream, domain.EmployeeStreamPrefix):
		if v, err := s.cfg.Employees.Read(ctx, caller, strings.TrimPrefix(a.Stream, domain.EmployeeStreamPrefix)); err == nil {
			return writeVersioned(w, status, v.Revision, v)
		}
	}
	for ev, err := range s.cfg.Store.ReadStream(ctx, a.Stream, eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.End, Limit: 1}) {
		if err != nil {
			return err
		}
		return writeVersioned(w, status, ev.Revision, map[string]any{"revision": ev.Revision})
	}
	return writeJSON(w, status, map[string]any{})
}
