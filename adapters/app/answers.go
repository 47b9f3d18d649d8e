package app

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"time"
)

// Answers written after they are returned (issue 15: a mutation's p99 was
// twice its append's, because the answer waited for a second durable write
// after the events' own).
//
// When a keyed command's events are committed (durable) and the
// IdempotencyStore is this process's alone (Config.IdempotencyExclusive:
// bbolt), its answer need not be durable before it is returned: a repeat of the same request is
// recognised by its derived event IDs (keyed.go) even if the answer is
// lost. Keyed then hands the record to the App's answer writer and returns
// at once. The writer keeps the record in memory (pending), where a repeat
// in this process finds it under the key's lock exactly as it would find
// the stored one, and writes it to the IdempotencyStore in the background:
// every record queued while the previous write ran goes out together, after
// a short linger (answerLinger) so that a batch carries more, then leaves
// pending. The claim completions go side by side (on bbolt, whose records
// live in the event store's file, they ride its group commits, an fsync
// shared with the appends); the Puts (a store without claims, or a claim
// that did not take) in one transaction through IdempotencyBatcher.
//
// What a crash (or a store failure) in that window loses is the answer
// only, never an event: the first repeat of the same request is answered
// "Idempotency-Replayed: reconstructed" (the resource as it stands), and
// that answer is stored (keyed.go, point 3), so the later repeats replay it.
// The claim written with the events still refuses the key with another
// request; only on a store without claims (a file of its own,
// boltstore.OpenIdempotency: idempotency.db beside an event store that is
// not bbolt) is
// the whole record lost, and the key can then be used for another request. (The writer also completes
// PostgreSQL claims, but kinerjad does not defer answers there: a repeat
// balanced to another process would find only the claim and wait for the
// answer, then take the claim over and reconstruct, instead of replaying
// the first one.)
//
// Answers without committed events (a 4xx, which the events cannot
// reconstruct) are still written durably before they are returned. So are
// all answers while more than maxPendingAnswers wait: the background writes
// never fall further behind than that.

// answerLinger is how long the background writer waits for more answers
// before a write, so that one fsync carries more of them: on bbolt every
// write of the records is part of a group commit of the event store, an
// fsync the appends wait for too. It lengthens only the window in which a
// crash loses answers.
const answerLinger = 5 * time.Millisecond

// maxPendingAnswers bounds the answers waiting for their background write;
// past it, Keyed writes in the request again (backpressure).
const maxPendingAnswers = 4096

// IdempotencyBatcher is an IdempotencyStore that writes many records in one
// durable transaction (boltstore.Idempotency): the answer writer uses it
// for the answers queued together. Record i is stored under keys[i] until
// expires[i], as by Put (the first unexpired record under a key wins).
// (Plain slices, so that a store implements it without importing this
// package.)
type IdempotencyBatcher interface {
	IdempotencyStore
	PutMany(ctx context.Context, now time.Time, keys []string, records [][]byte, expires []time.Time) error
}

// pendingAnswer is an answer waiting for its background write.
type pendingAnswer struct {
	key     string
	record  []byte // the keyRecord's JSON, as stored
	claim   []byte // this request's claim, to complete (nil: Put)
	now     time.Time
	expires time.Time
	ctx     context.Context // the request's values, without its cancellation
}

// answerWriter writes pending answers in the background. Its zero value is
// ready; App.Close waits for it to finish.
type answerWriter struct {
	mu      sync.Mutex
	pending map[string]*pendingAnswer // by store key
	queue   []*pendingAnswer
	running bool
	closed  bool
	idle    *sync.Cond // signalled when the writer stops
	// ended holds, by store key, the claims of this process's requests
	// that ended without completing them (an unkept answer after the
	// append, a failed Complete): nobody is about to answer them, so a
	// repeat takes them over at once instead of waiting (keyed.go,
	// takeOver). At most maxPendingAnswers; past it, one is forgotten (its
	// repeat waits).
	ended map[string][]byte
}

// endClaim notes that claim under key will not be completed by its request.
func (w *answerWriter) endClaim(key string, claim []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended == nil {
		w.ended = map[string][]byte{}
	}
	for k := range w.ended {
		if len(w.ended) < maxPendingAnswers {
			break
		}
		delete(w.ended, k) // an arbitrary one: its repeat will wait
	}
	w.ended[key] = claim
}

// claimEnded reports whether raw is a claim endClaim noted under key, and
// forgets the key.
func (w *answerWriter) claimEnded(key string, raw []byte) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.ended[key]
	delete(w.ended, key)
	return ok && bytes.Equal(c, raw)
}

// lookup returns the pending record under key.
func (w *answerWriter) lookup(key string) ([]byte, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p, ok := w.pending[key]
	if !ok {
		return nil, false
	}
	return p.record, true
}

// enqueue queues p; it reports false (write it in the request) when too
// many are pending or the App is closed.
func (w *answerWriter) enqueue(a *App, p *pendingAnswer) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || len(w.pending) >= maxPendingAnswers {
		return false
	}
	if w.pending == nil {
		w.pending = map[string]*pendingAnswer{}
	}
	w.pending[p.key] = p
	w.queue = append(w.queue, p)
	if !w.running {
		w.running = true
		go w.run(a)
	}
	return true
}

// run writes the queue until it is empty.
func (w *answerWriter) run(a *App) {
	for {
		time.Sleep(answerLinger)
		w.mu.Lock()
		batch := w.queue
		w.queue = nil
		if len(batch) == 0 {
			w.running = false
			if w.idle != nil {
				w.idle.Broadcast()
			}
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		a.writeAnswers(batch)
		w.mu.Lock()
		for _, p := range batch {
			if w.pending[p.key] == p {
				delete(w.pending, p.key)
			}
		}
		w.mu.Unlock()
	}
}

// close waits until every queued answer is written; later answers are
// written in their requests.
func (w *answerWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	w.waitIdle()
}

// flush waits until every answer queued so far is written.
func (w *answerWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.waitIdle()
}

// waitIdle waits, with w.mu held, until the writer stops.
func (w *answerWriter) waitIdle() {
	if w.idle == nil {
		w.idle = sync.NewCond(&w.mu)
	}
	for w.running {
		w.idle.Wait()
	}
}

// writeAnswers stores a batch: claims are completed side by side (each is
// its own statement), the rest put together when the store can.
func (a *App) writeAnswers(batch []*pendingAnswer) {
	var puts []*pendingAnswer
	var wg sync.WaitGroup
	var mu sync.Mutex
	claimer, _ := a.cfg.Idempotency.(IdempotencyClaimer)
	for _, p := range batch {
		if p.claim == nil || claimer == nil {
			puts = append(puts, p)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(p.ctx, storeTimeout)
			defer cancel()
			done, err := claimer.Complete(ctx, p.key, p.claim, p.record, p.now, p.expires)
			if err != nil {
				a.answerLost(p, err)
				return
			}
			if !done {
				// Another record replaced the claim: the first write
				// wins, as without claims.
				mu.Lock()
				puts = append(puts, p)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(puts) == 0 {
		return
	}
	if b, ok := a.cfg.Idempotency.(IdempotencyBatcher); ok && len(puts) > 1 {
		keys, recs, exps := make([]string, len(puts)), make([][]byte, len(puts)), make([]time.Time, len(puts))
		for i, p := range puts {
			keys[i], recs[i], exps[i] = p.key, p.record, p.expires
		}
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		if err := b.PutMany(ctx, a.cfg.Now(), keys, recs, exps); err != nil {
			for _, p := range puts {
				a.answerLost(p, err)
			}
		}
		return
	}
	for _, p := range puts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(p.ctx, storeTimeout)
			defer cancel()
			if err := a.cfg.Idempotency.Put(ctx, p.key, p.record, p.now, p.expires); err != nil {
				a.answerLost(p, err)
			}
		}()
	}
	wg.Wait()
}

// answerLost logs an answer the store refused: the answer was right, and a
// repeat will be recognised by its derived event IDs instead.
func (a *App) answerLost(p *pendingAnswer, err error) {
	a.cfg.Logger.LogAttrs(p.ctx, slog.LevelWarn, "idempotency_store_failed", slog.String("error", err.Error()))
}

// Close waits until the answers of keyed commands written in the
// background are stored; call it before closing the IdempotencyStore.
// Keyed commands after Close write their answers before they return.
func (a *App) Close() error {
	a.answers.close()
	return nil
}
