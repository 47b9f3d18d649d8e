package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

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
// another request is 422 idempotency_key_reused. Keys are scoped to the
// caller, so one caller's keys tell nothing about another's.
//
// Two mechanisms make this hold:
//
//  1. The first response (2xx or 4xx; never a 5xx, nor the retryable 409 of
//     a command whose every attempt lost a race: the client should repeat
//     those) is kept in the IdempotencyStore and replayed. Requests with
//     the same key are serialised in this process, so a repeat arriving
//     while the first is running waits for its response.
//
//  2. Crash safety. The response is stored after the events are appended;
//     a crash between the two loses it, and the repeat runs the command
//     again. To make that harmless, a keyed request runs on services whose
//     domain.Handler has a per-request log (keyedLog) and ID generator: the
//     IDs of the events it appends are derived from (caller, key, request
//     fingerprint, index within the append), so the same request always
//     appends the same event IDs. The repeat then meets its own earlier
//     events: keyedLog.Load sees the derived ID of the first event in a
//     stream the command reads and stops the command with alreadyApplied,
//     and if the events are appended after the load (a race), the event
//     store refuses the repeated IDs (eventstore.ErrIdempotency, see
//     eventstore.CheckRepeat), which keyedLog.Append also turns into
//     alreadyApplied. Either way nothing is appended twice, and the API
//     answers with the success status of the route and the current
//     representation of the resource the events went to (the first
//     response's exact body is gone), marked
//     "Idempotency-Replayed: reconstructed".
//
// The fingerprint is part of the derivation so that a key reused for
// another request after its record expired never collides with the
// earlier events.

// idemRecord is the stored first response.
type idemRecord struct {
	Fingerprint string            `json:"fingerprint"`
	Status      int               `json:"status"`
	Header      map[string]string `json:"header,omitempty"`
	Body        []byte            `json:"body"`
	At          time.Time         `json:"at"`
}

// replayedHeaders are the response headers a replay repeats.
var replayedHeaders = []string{"Content-Type", "ETag", "Location"}

// MaxIdempotencyKeyLen bounds Idempotency-Key (1 to 200 printable
// characters).
const MaxIdempotencyKeyLen = 200

// sweepEvery is how often expired records are removed (inline, after a
// store).
const sweepEvery = time.Hour

func sum(parts ...string) [32]byte {
	h := sha256.New()
	for _, p := range parts {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// idempotent is the middleware of every mutation route.
func (s *Server) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, keyed := r.Header["Idempotency-Key"]
		if !keyed {
			next.ServeHTTP(w, r)
			return
		}
		if len(key) != 1 || !validToken(key[0], MaxIdempotencyKeyLen) {
			s.writeError(w, r, badRequest("Idempotency-Key", "must be one value of 1 to %d printable characters", MaxIdempotencyKeyLen))
			return
		}
		body, err := readBody(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		caller := principal(r).ID
		fp := sum(r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("If-Match"), string(body))
		fingerprint := hex.EncodeToString(fp[:])
		storeKey := sum("kinerja/idempotency/v1", caller, key[0])
		sk := hex.EncodeToString(storeKey[:])

		ctx := r.Context()
		unlock, err := s.keyLocks.Lock(ctx, sk)
		if err != nil {
			s.writeError(w, r, err) // the client went away while it waited
			return
		}
		defer unlock()
		raw, ok, err := s.cfg.Idempotency.Get(ctx, sk, s.cfg.Now())
		if err != nil {
			s.writeError(w, r, fmt.Errorf("idempotency store: %w", err))
			return
		}
		if ok {
			var rec idemRecord
			if err := json.Unmarshal(raw, &rec); err != nil {
				s.writeError(w, r, fmt.Errorf("idempotency record: %w", err))
				return
			}
			if rec.Fingerprint != fingerprint {
				s.writeError(w, r, errKeyReused)
				return
			}
			s.metrics.replays.Inc()
			for k, v := range rec.Header {
				w.Header().Set(k, v)
			}
			w.Header().Set("Idempotency-Replayed", "true")
			w.WriteHeader(rec.Status)
			w.Write(rec.Body)
			return
		}

		ids := &keyedIDs{seed: sum("kinerja/idempotency-ids/v1", caller, key[0], fingerprint)}
		st := &idemState{}
		r = r.WithContext(context.WithValue(context.WithValue(ctx, keyedKey, ids), idemStateKey, st))
		r.Body = readCloser{bytes.NewReader(body)}
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 || rec.status >= 500 || rec.reconstructed || st.retryable.Load() {
			return
		}
		stored := idemRecord{Fingerprint: fingerprint, Status: rec.status, Body: rec.buf.Bytes(), At: s.cfg.Now(), Header: map[string]string{}}
		for _, h := range replayedHeaders {
			if v := rec.header[h]; v != "" {
				stored.Header[h] = v
			}
		}
		b, err := json.Marshal(stored)
		if err == nil {
			now := s.cfg.Now()
			err = s.cfg.Idempotency.Put(ctx, sk, b, now, now.Add(s.cfg.IdempotencyRetention))
		}
		if err != nil {
			// The answer is right; a repeat will be recognised by its
			// derived event IDs instead.
			s.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "idempotency_store_failed", slog.String("request_id", requestID(r)), slog.String("error", err.Error()))
		}
		s.sweepIdempotency(ctx)
	})
}

// sweepIdempotency removes expired records at most once per sweepEvery.
func (s *Server) sweepIdempotency(ctx context.Context) {
	now := s.cfg.Now()
	last := s.lastSweep.Load()
	if now.Unix()-last < int64(sweepEvery/time.Second) || !s.lastSweep.CompareAndSwap(last, now.Unix()) {
		return
	}
	if _, err := s.cfg.Idempotency.DeleteExpired(ctx, now); err != nil {
		s.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "idempotency_sweep_failed", slog.String("error", err.Error()))
	}
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// recorder passes a response through and keeps a copy.
type recorder struct {
	http.ResponseWriter
	status        int
	header        map[string]string
	buf           bytes.Buffer
	reconstructed bool
}

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

// keyedIDs derives the IDs of one keyed request.
type keyedIDs struct {
	seed     [32]byte
	entities atomic.Uint64
}

// derive returns a version-8 (custom) UUID from the seed, a kind and an
// index.
func (k *keyedIDs) derive(kind string, i uint64) uuid.UUID {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], i)
	h := sha256.Sum256(slices.Concat(k.seed[:], []byte(kind), n[:]))
	var u uuid.UUID
	copy(u[:], h[:16])
	u[6] = u[6]&0x0f | 0x80 // version 8
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return u
}

// eventID is the ID of the i-th event of the request's append.
func (k *keyedIDs) eventID(i int) uuid.UUID { return k.derive("event", uint64(i)) }

// newEntityID is the domain's NewID for the request: RHK, indicator,
// objection … IDs, in the order the command asks for them.
func (k *keyedIDs) newEntityID() uuid.UUID { return k.derive("entity", k.entities.Add(1)) }

// alreadyApplied stops a keyed command whose events are already in stream.
type alreadyApplied struct{ stream string }

func (e *alreadyApplied) Error() string {
	return "the request was applied before (its events are in " + e.stream + ")"
}

// keyedLog is the event log of a keyed request (see the comment at the top
// of this file).
type keyedLog struct {
	inner domain.EventLog
	ids   *keyedIDs
}

// Load implements domain.EventLog; it stops the command when the stream
// already holds the request's first event.
func (l keyedLog) Load(ctx context.Context, stream string) ([]domain.Stored, uint64, bool, error) {
	evs, rev, ok, err := l.inner.Load(ctx, stream)
	if err != nil {
		return evs, rev, ok, err
	}
	first := l.ids.eventID(0)
	for _, e := range evs {
		if e.ID == first {
			return nil, 0, false, &alreadyApplied{stream: stream}
		}
	}
	return evs, rev, ok, nil
}

// Append implements domain.EventLog with the request's derived event IDs.
func (l keyedLog) Append(ctx context.Context, stream string, expected domain.Expected, events []domain.NewEvent) (uint64, error) {
	out := slices.Clone(events)
	for i := range out {
		out[i].ID = l.ids.eventID(i)
	}
	rev, err := l.inner.Append(ctx, stream, expected, out)
	if errors.Is(err, eventstore.ErrIdempotency) {
		return 0, &alreadyApplied{stream: stream}
	}
	return rev, err
}

// services are the domain services a handler runs commands on.
type services struct {
	units     *orgunit.Service
	employees *employee.Service
	skps      *skp.Service
	dist      *distribution.Service
}

// svc returns the services for r: the configured ones, or for a keyed
// request copies whose handlers use the request's keyedLog and IDs.
func (s *Server) svc(r *http.Request) services {
	base := services{s.cfg.Units, s.cfg.Employees, s.cfg.SKPs, s.cfg.Distribution}
	ids, ok := r.Context().Value(keyedKey).(*keyedIDs)
	if !ok {
		return base
	}
	keyed := func(h *domain.Handler) *domain.Handler {
		c := *h
		c.Log = keyedLog{inner: h.Log, ids: ids}
		c.NewID = ids.newEntityID
		return &c
	}
	u, e, k, d := *base.units, *base.employees, *base.skps, *base.dist
	u.Handler, e.Handler, k.Handler, d.Handler = keyed(u.Handler), keyed(e.Handler), keyed(k.Handler), keyed(d.Handler)
	return services{&u, &e, &k, &d}
}

// answerApplied answers a keyed request whose events were appended by an
// earlier attempt whose response was lost: the route's success status and
// the current representation of the stream's resource, as the caller may
// see it.
func (s *Server) answerApplied(w http.ResponseWriter, r *http.Request, status int, a *alreadyApplied) error {
	w.Header().Set("Idempotency-Replayed", "reconstructed")
	ctx, caller := r.Context(), principal(r)
	switch {
	case strings.HasPrefix(a.stream, domain.SKPStreamPrefix):
		if v, err := s.cfg.SKPs.Read(ctx, caller, strings.TrimPrefix(a.stream, domain.SKPStreamPrefix), skp.AsOf{}); err == nil {
			return writeVersioned(w, status, v.Revision, v)
		}
	case strings.HasPrefix(a.stream, domain.UnitStreamPrefix):
		if u, err := s.cfg.Units.Get(ctx, strings.TrimPrefix(a.stream, domain.UnitStreamPrefix)); err == nil {
			return writeVersioned(w, status, u.View(s.today()).Revision, s.unitView(ctx, u))
		}
	case strings.HasPrefix(a.stream, domain.EmployeeStreamPrefix):
		if v, err := s.cfg.Employees.Read(ctx, caller, strings.TrimPrefix(a.stream, domain.EmployeeStreamPrefix)); err == nil {
			return writeVersioned(w, status, v.Revision, v)
		}
	}
	for ev, err := range s.cfg.Store.ReadStream(ctx, a.stream, eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.End, Limit: 1}) {
		if err != nil {
			return err
		}
		return writeVersioned(w, status, ev.Revision, map[string]any{"revision": ev.Revision})
	}
	return writeJSON(w, status, map[string]any{})
}
