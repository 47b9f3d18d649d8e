package app

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Claim renewal (a heartbeat). A repeat in another process waits on a
// claim without an answer (takeOver) until it has seen the claim's bytes
// unchanged for claimPatience, or at once when the claim's stamp is older
// than claimStale; then it takes the claim over and reconstructs. A
// request still running when either happens (a command that ran longer
// than claimStale before or after its append, an answer that took longer
// than claimPatience to render, a reconstruction holding a lease that
// long) would be taken over while alive, and the two would give two
// answers. So the holder renews its claim while it works: every claimRenew
// (well below claimPatience) it replaces the claim with a fresh one (its
// own fingerprint, a new stamp, a new nonce) through Complete, the same
// compare-and-swap on the record's bytes that completes it; a waiter sees
// new bytes, restarts its patience, and reads a young stamp. The renewal
// starts once the claim committed with the events (before that there is
// nothing to renew), and at once when the append came after claimRenew
// (the claim was stamped before the command ran, so a slow command's claim
// would appear already old): only the moment between the commit and that
// renewal, one round trip, still shows the old stamp. It stops when the
// command returns, before the answer completes the claim, and the answer
// completes the bytes last renewed. A renewal that finds another record
// (the claim was taken over, say after a pause of this process longer than
// claimPatience) stops renewing; the answer then goes through Put, where
// the first write wins. Renewing costs nothing for commands shorter than
// claimRenew (a stopped timer) and one small write per claimRenew beyond.
//
// The price stays where it was for a holder that died: a waiter sees its
// claim unchanged and takes it over after claimPatience (10 s), or at
// once when its last stamp is older than claimStale. A repeat of a request
// whose process crashed after the commit thus waits up to 10 s once; the
// first repeat after a restart finds an old stamp and does not wait.

// claimTiming holds the durations of claims; the zero value means the
// defaults (claimRenew, claimPatience, claimStale, claimPoll). Tests set
// shorter ones (App.claimTiming).
type claimTiming struct {
	renew, patience, stale, poll time.Duration
}

// claimRenew is how often a running request renews its claim: a quarter
// of claimPatience, so a waiter sees the claim change three times before
// its patience ends, even with a renewal delayed by a slow store.
const claimRenew = claimPatience / 4

// timing returns the App's claim durations, defaults filled in.
func (a *App) timing() claimTiming {
	t := a.claimTiming
	if t.renew <= 0 {
		t.renew = claimRenew
	}
	if t.patience <= 0 {
		t.patience = claimPatience
	}
	if t.stale <= 0 {
		t.stale = claimStale
	}
	if t.poll <= 0 {
		t.poll = claimPoll
	}
	return t
}

// claimRenewer renews one running request's claim.
type claimRenewer struct {
	a       *App
	claimer IdempotencyClaimer
	ctx     context.Context // the request's values, without its cancellation
	key, fp string
	every   time.Duration
	claimed func() bool // the claim committed (always true for a lease)

	mu  sync.Mutex
	cur []byte // the claim's bytes as this request last wrote them
	// maybe holds the bytes of renewals whose outcome is unknown (the swap
	// and the read after it failed): the record may hold any of them or
	// cur, and renewals and the answer try each (a few at most).
	maybe   [][]byte
	at      time.Time // their stamp
	stopped bool      // the request ended
	lost    bool      // the record is no longer this request's claim
	timer   *time.Timer
}

// renewClaim starts renewing claim (stamped at) under key, once claimed
// reports it committed, until stop.
//
// A store this process alone uses (Config.IdempotencyExclusive: bbolt) is
// not renewed: takeOver there takes a claim at once (no other process
// waits on it), so renewals would protect nothing and cost a write every
// claimRenew per long command; renewClaim returns nil.
func (a *App) renewClaim(ctx context.Context, claimer IdempotencyClaimer, key, fingerprint string, claim []byte, at time.Time, claimed func() bool) *claimRenewer {
	if a.cfg.IdempotencyExclusive {
		return nil
	}
	r := &claimRenewer{a: a, claimer: claimer, ctx: context.WithoutCancel(ctx), key: key, fp: fingerprint,
		every: a.timing().renew, claimed: claimed, cur: claim, at: at}
	r.mu.Lock() // a tick waits for r.timer
	r.timer = time.AfterFunc(r.every, r.tick)
	r.mu.Unlock()
	return r
}

// tick renews the claim if it committed, and schedules the next tick.
func (r *claimRenewer) tick() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped || r.lost {
		return
	}
	if r.claimed() {
		r.renewLocked()
	}
	if !r.stopped && !r.lost {
		r.timer.Reset(r.every)
	}
}

// appended is called when the request's append committed (and its claim
// with it): a claim stamped claimRenew ago or more is renewed at once, so
// that a waiter does not read a slow command's claim as stale.
func (r *claimRenewer) appended() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped || r.lost || !r.claimed() || r.a.cfg.Now().Sub(r.at) < r.every {
		return
	}
	r.renewLocked()
}

// renewLocked replaces the claim with a fresh one; r.mu is held.
func (r *claimRenewer) renewLocked() {
	now := r.a.cfg.Now()
	b, err := json.Marshal(keyRecord{Fingerprint: r.fp, Status: claimStatus, At: now, Nonce: uuid.NewString()})
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.ctx, storeTimeout)
	defer cancel()
	var ok bool
	for _, c := range r.candidates() {
		if ok, err = r.claimer.Complete(ctx, r.key, c, b, now, now.Add(r.a.cfg.IdempotencyRetention)); err != nil || ok {
			break
		}
	}
	switch {
	case err == nil && ok:
		r.cur, r.at, r.maybe = b, now, nil
	case err == nil:
		// Taken over or replaced: not this request's claim any more.
		r.lost = true
	default:
		// The swap may or may not have committed: read which bytes the
		// record holds.
		got, found, gerr := r.a.cfg.Idempotency.Get(ctx, r.key, now)
		switch {
		case gerr == nil && found && bytes.Equal(got, b):
			r.cur, r.at, r.maybe = b, now, nil
		case gerr == nil && found && r.holds(got):
			r.cur, r.maybe = got, nil
		case gerr == nil:
			r.lost = true
		default:
			// Unknown still: b is one more candidate.
			if len(r.maybe) == maxMaybe {
				r.maybe = r.maybe[1:]
			}
			r.maybe = append(r.maybe, b)
		}
		r.a.cfg.Logger.LogAttrs(r.ctx, slog.LevelWarn, "idempotency_claim_renewal_failed", slog.String("error", err.Error()))
	}
}

// maxMaybe bounds claimRenewer.maybe.
const maxMaybe = 4

// candidates returns the bytes the record may hold as this request's
// claim: the newest unknown renewal first, the last known one last.
func (r *claimRenewer) candidates() [][]byte {
	out := make([][]byte, 0, len(r.maybe)+1)
	for i := len(r.maybe) - 1; i >= 0; i-- {
		out = append(out, r.maybe[i])
	}
	return append(out, r.cur)
}

// holds reports whether raw is one of the candidates.
func (r *claimRenewer) holds(raw []byte) bool {
	for _, c := range r.candidates() {
		if bytes.Equal(c, raw) {
			return true
		}
	}
	return false
}

// stop ends the renewals (waiting for one under way) and returns the
// claim's bytes as last written, which the answer completes, and those of
// renewals whose outcome is unknown (the record may hold any of them: the
// answer tries each).
func (r *claimRenewer) stop() (cur []byte, maybe [][]byte) {
	if r == nil {
		return nil, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	r.timer.Stop()
	return r.cur, r.maybe
}
