package app

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
	"slices"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Keyed commands. A request that carries an idempotency key (the API's
// Idempotency-Key header; the key every rendered form carries) runs under
// it: a repeat of the same request with the same key gets the first answer
// and appends nothing; the same key with another request is refused with
// ErrKeyReused. Keys are scoped to the caller, so one caller's keys tell
// nothing about another's.
//
// Two mechanisms make this hold:
//
//  1. The first answer (what the edge chooses to keep: the API keeps 2xx
//     and 4xx, never a 5xx nor a retryable refusal; the dashboard keeps
//     its successes) is stored in the IdempotencyStore and replayed.
//     Requests with the same key are serialised in this process, so a
//     repeat arriving while the first runs waits for its answer.
//
//  2. Crash safety. The answer is stored after the events are appended; a
//     crash between the two loses it, and the repeat runs the command
//     again. With an IdempotencyClaimer (PostgreSQL's pgidempotency with pgstore, and on bbolt the records in
//     the event store's own file, boltstore.Store.Idempotency) a claim
//     carrying the fingerprint commits in the events' transaction and the
//     answer completes it: a crash can lose only the answer, and the claim
//     still refuses the key with another request; the repeat of the same
//     request runs again, as follows. A claim takes only when no unexpired
//     record is stored under the key, and Complete replaces only this
//     request's own claim (its bytes carry a nonce); otherwise the answer
//     goes through Put, where the first write wins, so two instances racing
//     with one key never flip the stored answer. On a store this process
//     alone uses (Config.IdempotencyExclusive: bbolt) a 2xx answer whose
//     events committed is returned before its claim is completed, which the
//     answer writer does in the background (answers.go); until then a
//     repeat gets the answer from memory, and a crash in that window leaves
//     the claim, as above. Only a store without claims (a file of its own,
//     boltstore.OpenIdempotency: idempotency.db, which kinerjad opens only
//     when its event store is not bbolt and its read models are not in
//     PostgreSQL) loses the whole record in a crash; the key can then be used for
//     another request. The answer is stored
//     with the request's values but not its cancellation, so a client that
//     went away still leaves its answer. To make that harmless, a keyed command runs on services
//     ([App.Services] with the context Keyed passes) whose domain.Handler
//     has a per-request log (keyedLog) and ID generator: the IDs of the
//     events it appends are derived from (caller, key, request
//     fingerprint, index within the append), so the same request always
//     appends the same event IDs. The repeat then meets its own earlier
//     events: keyedLog.Load sees the derived ID of the first event in a
//     stream the command reads and stops the command with an
//     [*AppliedError], and if the events are appended after the load (a
//     race), the event store refuses the repeated IDs
//     (eventstore.ErrIdempotency), which keyedLog.Append also turns into
//     an *AppliedError. Either way nothing is appended twice; the edge
//     answers as for a success (the API with the resource's current
//     representation, the dashboard by going on to the page).
//
//  3. The reconstructed answer completes the record. The edge keeps the
//     answer it reconstructs, and Keyed stores it like a first answer, so
//     the first repeat after a lost answer is the only one reconstructed:
//     later repeats replay it ("Idempotency-Replayed: true"), for the
//     record's whole retention. Without a claim (a store that does not
//     claim) Put stores it. With a claim, Keyed first takes the claim over
//     (takeOver): Complete replaces the claim it read with a claim of its
//     own, a compare-and-swap on the record's bytes, and the reconstructed
//     answer then completes that one, but only a 2xx answer reconstructed
//     from the request's own events (keyedLog returned an *AppliedError):
//     any other answer of a lease holder (the client went away while the
//     answer was read, a refusal before the command met its events) is
//     not stored, and the lease is left for the next repeat (endClaim),
//     which reconstructs again. Of two repeats at once only one
//     takes it: in one process the key's lock orders them and the second
//     finds the answer; in two processes on one PostgreSQL the second's
//     swap fails, and it waits for the record's answer and returns it, so
//     both get the same answer and one is stored. A claim on a shared
//     store may be a first request still running in another process (its
//     events committed, its answer on its way): the repeat waits for that
//     answer, and takes the claim over only when it has seen the claim
//     unchanged for claimPatience (its holder presumably died), or at once
//     when the claim's stamp is older than claimStale (a minute: the
//     stamp is the claiming process's clock, taken before its command
//     ran, so it is trusted only beyond any clock skew and command run). A claim this
//     process's own request left without its answer is taken at once, but
//     a lease another process took over from it is not (takeOver).

// The fingerprint is part of the derivation so that a key reused for
// another request after its record expired never collides with the
// earlier events.

// MaxKeyLen bounds an idempotency key (1 to 200 printable characters).
const MaxKeyLen = 200

// Key names a keyed command.
type Key struct {
	// Caller is the principal's ID: keys are scoped to it.
	Caller string
	// Key is the client's idempotency key: 1 to MaxKeyLen printable ASCII
	// characters.
	Key string
	// Fingerprint identifies the request, so that the same key with
	// another request is recognised: a hash of everything that makes two
	// requests the same (the API: method, path, query, If-Match, body;
	// a form: its action and values).
	Fingerprint string
}

// Answer is the first answer to a keyed command, as the edge rendered it;
// it is stored and replayed as it is.
type Answer struct {
	// Status is the HTTP status.
	Status int `json:"status"`
	// Header holds the response headers a replay repeats.
	Header map[string]string `json:"header,omitempty"`
	// Body is the response body.
	Body []byte `json:"body"`
}

// keyRecord is the stored first answer. Its JSON shape is persisted (the
// records outlive a release): add fields, never rename one.
type keyRecord struct {
	Fingerprint string            `json:"fingerprint"`
	Status      int               `json:"status"`
	Header      map[string]string `json:"header,omitempty"`
	Body        []byte            `json:"body"`
	At          time.Time         `json:"at"`
	// Nonce is random and set on claims only, so that the bytes of one
	// request's claim are its own: Complete replaces only them.
	Nonce string `json:"nonce,omitempty"`
}

// claimStatus marks a claim: a record written with a keyed command's
// events, before its answer (IdempotencyClaimer). No answer has status 0.
const claimStatus = 0

// ErrKeyReused refuses an idempotency key repeated with another request.
var ErrKeyReused = errors.New("idempotency key reused with a different request")

// AppliedError stops a keyed command whose events an earlier attempt
// already appended (its answer was lost). It matches ErrApplied.
type AppliedError struct {
	// Stream is the stream that holds the earlier attempt's events.
	Stream string
}

// ErrApplied matches an [*AppliedError].
var ErrApplied = errors.New("the request was applied before")

// Error names the stream.
func (e *AppliedError) Error() string {
	return "the request was applied before (its events are in " + e.Stream + ")"
}

// Unwrap returns ErrApplied.
func (e *AppliedError) Unwrap() error { return ErrApplied }

// storeTimeout bounds the write of an answer (Complete, Put). The write
// does not use the request's cancellation: a client that goes away after
// its command ran must not leave the claim without its answer.
const storeTimeout = 5 * time.Second

// SweepEvery is how often SweepIdempotency removes expired records in
// kinerjad.
const SweepEvery = time.Hour

// ValidKey reports whether key is 1 to MaxKeyLen printable ASCII
// characters.
func ValidKey(key string) bool {
	if key == "" || len(key) > MaxKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// Fingerprint hashes the parts of a request into a Key.Fingerprint; each
// part is length-prefixed, so that no two different lists of parts hash
// alike.
func Fingerprint(parts ...string) string {
	s := sum(parts...)
	return hex.EncodeToString(s[:])
}

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

// Keyed runs a command under k. When an answer to k is stored it returns
// that answer with replayed=true, and run is not called; when it was
// stored for another fingerprint, ErrKeyReused. Otherwise it calls run
// with a context whose [App.Services] derive their IDs from k, and stores
// the answer run returns when keep is true. Calls with the same caller and
// key take turns. Errors: ErrKeyReused, a *ValidationError for a key that
// is not 1 to MaxKeyLen printable characters, ctx's error while it waits
// for its turn, and the store's (wrapped).
func (a *App) Keyed(ctx context.Context, k Key, run func(ctx context.Context) (ans Answer, keep bool)) (ans Answer, replayed bool, err error) {
	if !ValidKey(k.Key) {
		return Answer{}, false, domain.Invalid("idempotency_key", "must be 1 to %d printable characters", MaxKeyLen)
	}
	storeKey := sum("kinerja/idempotency/v1", k.Caller, k.Key)
	sk := hex.EncodeToString(storeKey[:])
	unlock, err := a.keyLocks.Lock(ctx, sk)
	if err != nil {
		return Answer{}, false, err // the client went away while it waited
	}
	defer unlock()
	// An answer still on its way to the store (answers.go) is found
	// first: under the key's lock, it is the stored one.
	raw, ok := a.answers.lookup(sk)
	if !ok {
		raw, ok, err = a.cfg.Idempotency.Get(ctx, sk, a.cfg.Now())
		if err != nil {
			return Answer{}, false, fmt.Errorf("app: idempotency store: %w", err)
		}
	}
	claimer, canClaim := a.cfg.Idempotency.(IdempotencyClaimer)
	// lease: the claim this request holds on a record whose answer was
	// lost (the top of this file, point 3).
	var lease []byte
	var leaseAt time.Time
	if ok {
		rec, err := a.decodeRecord(raw, k)
		if err != nil {
			return Answer{}, false, err
		}
		if rec.Status != claimStatus {
			return Answer{Status: rec.Status, Header: rec.Header, Body: rec.Body}, true, nil
		}
		// A claim whose answer was lost: run again, and the repeat is
		// recognised by its events (the top of this file). Take the claim
		// over first, so that the answer this run reconstructs completes
		// it, and only one run's answer ever does.
		if canClaim {
			var replay *keyRecord
			lease, leaseAt, replay, err = a.takeOver(ctx, claimer, sk, k, raw, rec)
			if err != nil {
				return Answer{}, false, err
			}
			if replay != nil {
				return Answer{Status: replay.Status, Header: replay.Header, Body: replay.Body}, true, nil
			}
		}
	}
	ids := &keyedIDs{seed: sum("kinerja/idempotency-ids/v1", k.Caller, k.Key, k.Fingerprint)}
	runCtx := context.WithValue(ctx, keyedIDsKey{}, ids)
	var claimed func() bool
	var claim []byte
	if lease != nil {
		// The record is this request's lease: Complete replaces it.
		claim, claimed = lease, func() bool { return true }
		ids.renewer = a.renewClaim(ctx, claimer, sk, k.Fingerprint, lease, leaseAt, claimed)
	} else if canClaim {
		now := a.cfg.Now()
		if c, err := json.Marshal(keyRecord{Fingerprint: k.Fingerprint, Status: claimStatus, At: now, Nonce: uuid.NewString()}); err == nil {
			claim = c
			runCtx, claimed = claimer.Claim(runCtx, sk, c, now, now.Add(a.cfg.IdempotencyRetention))
			ids.renewer = a.renewClaim(ctx, claimer, sk, k.Fingerprint, c, now, claimed)
		}
	}
	if ids.renewer != nil {
		// A run that panics (net/http recovers a handler's panic) must not
		// leave its claim renewed until a restart: a renewed claim keeps
		// its stamp young, and waiters in every process would wait on it
		// for ever. Its claim is ended, so that a repeat in this process
		// takes it over at once (claimEnded) and reconstructs.
		defer func() {
			cur, _ := ids.renewer.stop()
			if p := recover(); p != nil {
				if claimed != nil && claimed() {
					a.answers.endClaim(sk, cur)
				}
				panic(p)
			}
		}()
	}
	ans, keep := run(runCtx)
	var maybeClaims [][]byte
	if ids.renewer != nil {
		// The claim as last renewed (claimrenew.go) is the one the answer
		// completes, or one of the renewals whose outcome is unknown.
		claim, maybeClaims = ids.renewer.stop()
	}
	if lease != nil && !(ids.applied.Load() && ans.Status >= 200 && ans.Status < 300) {
		// A lease is completed only by an answer reconstructed from the
		// request's own events (keyedLog met them) and successful: anything
		// else (the client went away while the answer was read, a refusal
		// returned before the command met its events) would become the
		// key's answer for the whole retention although the request was
		// applied. The lease is left for the next repeat, which takes it
		// at once in this process (endClaim) and reconstructs.
		keep = false
	}
	if !keep {
		if claimed != nil && claimed() {
			a.answers.endClaim(sk, claim)
		}
		return ans, false, nil
	}
	now := a.cfg.Now()
	b, err := json.Marshal(keyRecord{Fingerprint: k.Fingerprint, Status: ans.Status, Header: ans.Header, Body: ans.Body, At: now})
	if err == nil && lease == nil && a.cfg.IdempotencyExclusive && ids.appended.Load() && ans.Status >= 200 && ans.Status < 300 {
		// The events are durable and recognise a repeat: the answer is
		// written in the background (answers.go).
		p := &pendingAnswer{key: sk, record: b, now: now, expires: now.Add(a.cfg.IdempotencyRetention), ctx: context.WithoutCancel(ctx)}
		if claimed != nil && claimed() {
			p.claim = claim
		}
		if a.answers.enqueue(a, p) {
			return ans, false, nil
		}
	}
	storeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	completed := false
	if err == nil && claimed != nil && claimed() {
		// The claim took and committed with the events: it already makes
		// the outcome durable, the answer need not wait for a flush.
		// Complete replaces only this request's own claim.
		completed, err = claimer.Complete(storeCtx, sk, claim, b, now, now.Add(a.cfg.IdempotencyRetention))
		for i := len(maybeClaims) - 1; err == nil && !completed && i >= 0; i-- {
			completed, err = claimer.Complete(storeCtx, sk, maybeClaims[i], b, now, now.Add(a.cfg.IdempotencyRetention))
		}
	}
	if err == nil && !completed {
		// No claim of ours to complete (nothing appended, the claim did not
		// take because another request's record was there, or that record
		// replaced ours): the durable first write wins, as without claims.
		err = a.cfg.Idempotency.Put(storeCtx, sk, b, now, now.Add(a.cfg.IdempotencyRetention))
	}
	if err != nil {
		// The answer is right; a repeat will be recognised by its derived
		// event IDs instead.
		if claimed != nil && claimed() {
			a.answers.endClaim(sk, claim)
		}
		a.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "idempotency_store_failed", slog.String("error", err.Error()))
	}
	return ans, false, nil
}

// SweepIdempotency removes the expired idempotency records at once and
// then every interval, until ctx ends; the owner of the App runs it on a
// goroutine of its own (kinerjad: one of serve's background goroutines,
// stopped and joined at shutdown before the store closes). A sweep never
// runs inside a request: DeleteExpired of a month of records is a long
// write that would add to one keyed command's latency. A failed sweep is
// logged; the next one retries. (An expired record is never served
// meanwhile: Get ignores it, and Put and Claim replace it.)
func (a *App) SweepIdempotency(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := a.cfg.Idempotency.DeleteExpired(ctx, a.cfg.Now()); err != nil {
			if ctx.Err() != nil {
				return
			}
			a.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "idempotency_sweep_failed", slog.String("error", err.Error()))
		} else if n > 0 {
			a.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "idempotency_swept", slog.Int("records", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

type keyedIDsKey struct{}

// keyedIDs derives the IDs of one keyed request.
type keyedIDs struct {
	seed     [32]byte
	entities atomic.Uint64
	// appended: an append of the request's events committed.
	appended atomic.Bool
	// applied: keyedLog met the request's events, appended by an earlier
	// attempt (it returned an *AppliedError).
	applied atomic.Bool
	// renewer renews the request's claim while it runs (claimrenew.go);
	// nil without a claim.
	renewer *claimRenewer
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
			l.ids.applied.Store(true)
			return nil, 0, false, &AppliedError{Stream: stream}
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
		l.ids.applied.Store(true)
		return 0, &AppliedError{Stream: stream}
	}
	if err == nil {
		l.ids.appended.Store(true)
		l.ids.renewer.appended()
	}
	return rev, err
}

// Services returns the services a command runs on: the configured ones,
// or, within [App.Keyed]'s run, copies whose handlers use the keyed
// request's log and IDs.
func (a *App) Services(ctx context.Context) Services {
	base := Services{a.cfg.Units, a.cfg.Employees, a.cfg.SKPs, a.cfg.Distribution}
	ids, ok := ctx.Value(keyedIDsKey{}).(*keyedIDs)
	if !ok {
		return base
	}
	keyed := func(h *domain.Handler) *domain.Handler {
		c := *h
		c.Log = keyedLog{inner: h.Log, ids: ids}
		c.NewID = ids.newEntityID
		return &c
	}
	u, e, k, d := *base.Units, *base.Employees, *base.SKPs, *base.Distribution
	u.Handler, e.Handler, k.Handler, d.Handler = keyed(u.Handler), keyed(e.Handler), keyed(k.Handler), keyed(d.Handler)
	return Services{Units: &u, Employees: &e, SKPs: &k, Distribution: &d}
}

// claimPatience is how long a repeat waits on a claim without an answer,
// from the moment it first read those exact bytes (this process's
// monotonic clock), before it takes the claim over; see takeOver. The claim
// may belong to a request still running in another process: its events
// committed (a repeat cannot read the claim before), and its holder renews
// it every claimRenew while it runs (claimrenew.go), so bytes unchanged
// for claimPatience mean a holder that died (or stalled that long). A dead
// holder's young claim thus costs the first repeat up to claimPatience.
const claimPatience = 2 * storeTimeout

// claimStale is the age by a claim's own stamp (keyRecord.At: the claiming
// process's wall clock when the claim was made, before its command ran, or
// when its holder last renewed it) beyond which a repeat takes the claim at
// once instead of waiting claimPatience. It must exceed the clock skew
// between the processes sharing a store plus claimRenew: a running holder
// renews its claim every claimRenew (claimrenew.go), so a claim that is
// younger by a skewed clock is waited on, however long its command runs.
const claimStale = time.Minute

// claimPoll is how often a repeat waiting on another process's claim reads
// the record again.
const claimPoll = 20 * time.Millisecond

// decodeRecord parses a stored record and refuses it for another request.
func (a *App) decodeRecord(raw []byte, k Key) (keyRecord, error) {
	var rec keyRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return rec, fmt.Errorf("app: idempotency record: %w", err)
	}
	if rec.Fingerprint != k.Fingerprint {
		return rec, ErrKeyReused
	}
	return rec, nil
}

// takeOver makes this request the holder of a claim whose answer is
// missing (raw, rec: the claim as read), so that the answer it
// reconstructs completes the record (point 3 at the top of this file). It
// replaces the claim with a claim of its own (a new nonce), through
// Complete, which replaces only the bytes it read: of two repeats racing
// in two processes only one takes it. It returns that lease; or, when
// another request's answer completed the record meanwhile, that answer
// (replay), which is then the answer of this request too.
//
// A claim that may belong to a request still running elsewhere (the store
// is shared, Config.IdempotencyExclusive is false, this request has seen
// it unchanged for less than claimPatience, and its own stamp is younger
// than claimStale) is waited on, reading it every claimPoll, until it is
// completed or old enough. With an exclusive store no other process
// exists, and a claim the key's lock lets this request read is nobody's:
// it is taken at once; so is a claim this process's own request left
// without its answer (answerWriter.endClaim), but only those bytes: when
// the swap fails because a repeat in another process took that claim over
// meanwhile, the lease read next is that repeat's, still reconstructing,
// and is waited on like any other. leaseAt is the lease's stamp. The
// holder of a claim or lease renews it while it runs (claimrenew.go), so a
// live holder's claim keeps changing and stays young.
func (a *App) takeOver(ctx context.Context, claimer IdempotencyClaimer, sk string, k Key, raw []byte, rec keyRecord) (lease []byte, leaseAt time.Time, replay *keyRecord, err error) {
	timing := a.timing()
	seen := time.Now()
	// ownEnded: raw is the claim this process's own request left without
	// its answer. It says so of those bytes only: once the record is
	// another (a repeat in another process took the claim over and is
	// reconstructing), its holder may be running, and it is waited on
	// like any claim of a shared store. (Keeping it for the next record
	// let a repeat take over a live lease: two reconstructions, two
	// answers; TestKeyedTakeOverOwnEndedClaimRace.)
	ownEnded := a.answers.claimEnded(sk, raw)
	for {
		now := a.cfg.Now()
		// The claim's age is judged by this process's monotonic clock
		// (seen), never by rec.At alone: rec.At is another process's wall
		// clock, stamped before its command ran. Only a claim older than
		// claimStale by it, a margin far beyond any skew between kinerjad
		// hosts and any command's run, is taken at once.
		if a.cfg.IdempotencyExclusive || ownEnded || now.Sub(rec.At) >= timing.stale || time.Since(seen) >= timing.patience {
			a.takeOverStep("swap")
			b, err := json.Marshal(keyRecord{Fingerprint: k.Fingerprint, Status: claimStatus, At: now, Nonce: uuid.NewString()})
			if err != nil {
				return nil, time.Time{}, nil, fmt.Errorf("app: idempotency record: %w", err)
			}
			// Not the request's cancellation: a client that goes away
			// after the swap committed must not leave a lease nobody
			// holds (later repeats would wait claimPatience for it).
			storeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
			took, err := claimer.Complete(storeCtx, sk, raw, b, now, now.Add(a.cfg.IdempotencyRetention))
			cancel()
			if err != nil {
				// The swap may have committed: the lease is this
				// process's, and nobody holds it.
				a.answers.endClaim(sk, b)
				return nil, time.Time{}, nil, fmt.Errorf("app: idempotency store: %w", err)
			}
			if took {
				return b, now, nil, nil
			}
		} else {
			a.takeOverStep("wait")
			t := time.NewTimer(timing.poll)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, time.Time{}, nil, ctx.Err()
			case <-t.C:
			}
		}
		got, ok, err := a.cfg.Idempotency.Get(ctx, sk, a.cfg.Now())
		if err != nil {
			return nil, time.Time{}, nil, fmt.Errorf("app: idempotency store: %w", err)
		}
		if !ok {
			// Expired meanwhile: the key is free, the request runs as new.
			return nil, time.Time{}, nil, nil
		}
		next, err := a.decodeRecord(got, k)
		if err != nil {
			return nil, time.Time{}, nil, err
		}
		if next.Status != claimStatus {
			return nil, time.Time{}, &next, nil
		}
		if !bytes.Equal(got, raw) {
			raw, rec, seen, ownEnded = got, next, time.Now(), false
		}
	}
}

// takeOverStep calls the test hook, if any.
func (a *App) takeOverStep(step string) {
	if a.takeOverHook != nil {
		a.takeOverHook(step)
	}
}
