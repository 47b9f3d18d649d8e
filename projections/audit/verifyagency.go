package audit

import (
	"context"
	"fmt"
	"iter"
	"math"
	"sort"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// agencyLogs recomputes agency logs while a verifier reads the store in
// order: the derivation state and, for each agency kept, its tree and the
// global seqs of its entries.
type agencyLogs struct {
	// only, when set, keeps the log of that one agency.
	only  *string
	state map[AgencyKey]string
	trees map[string]*agencyLog
}

type agencyLog struct {
	tree  *merkle.Tree
	nodes *merkle.MemNodes
	seqs  []uint64 // global seq of each entry, ascending
}

func newAgencyLogs(only *string) *agencyLogs {
	return &agencyLogs{only: only, state: map[AgencyKey]string{}, trees: map[string]*agencyLog{}}
}

func (l *agencyLogs) lookup(_ context.Context, k AgencyKey) (string, bool, error) {
	a, ok := l.state[k]
	return a, ok, nil
}

// add derives ev's agency and, when kept, appends e to its log. It returns
// the agency, the entry's index in it, and whether it is kept.
func (l *agencyLogs) add(ctx context.Context, ev eventstore.Event, e Entry) (string, uint64, bool, error) {
	agency, err := l.derive(ctx, ev)
	if err != nil {
		return "", 0, false, err
	}
	if l.only != nil && *l.only != agency {
		return agency, 0, false, nil
	}
	t := l.log(agency)
	idx := t.tree.Size()
	if err := t.nodes.Put(t.tree.Append(e.LeafHash)...); err != nil {
		return "", 0, false, err
	}
	t.seqs = append(t.seqs, e.Seq)
	return agency, idx, true, nil
}

// derive returns ev's agency and records the placements it makes.
func (l *agencyLogs) derive(ctx context.Context, ev eventstore.Event) (string, error) {
	agency, updates, err := AgencyOfEvent(ctx, l.lookup, ev)
	if err != nil {
		return "", err
	}
	for _, u := range updates {
		l.state[u.Key] = u.Agency
	}
	return agency, nil
}

func (l *agencyLogs) log(agency string) *agencyLog {
	t := l.trees[agency]
	if t == nil {
		t = &agencyLog{tree: merkle.NewTree(), nodes: merkle.NewMemNodes()}
		l.trees[agency] = t
	}
	return t
}

// sizeAt returns how many of agency's entries have a global seq below
// size: the agency's size when the trail had size entries.
func (l *agencyLogs) sizeAt(agency string, size uint64) uint64 {
	t := l.trees[agency]
	if t == nil {
		return 0
	}
	return uint64(sort.Search(len(t.seqs), func(i int) bool { return t.seqs[i] >= size }))
}

// checkCheckpoint checks a checkpoint's agency roots and agency
// checkpoints against the recomputed logs (those kept), and reports what
// does not match through add. The caller checks the national note's
// signature; the agency notes' are checked here.
func (l *agencyLogs) checkCheckpoint(ctx context.Context, c Checkpoint, keys []*merkle.Verifier, add func(Problem)) error {
	problem := func(format string, args ...any) {
		add(Problem{Position: c.Position, Stream: CheckpointStream, Problem: fmt.Sprintf(format, args...)})
	}
	if len(c.Agencies) > 0 {
		if l.only == nil {
			sum := uint64(0)
			for _, r := range c.Agencies {
				sum += r.Size
			}
			if sum != c.Size {
				problem("national checkpoint at size %d: its agency logs add up to %d entries", c.Size, sum)
			}
			for a := range l.trees {
				if _, ok := c.FindAgency(a); !ok && l.sizeAt(a, c.Size) > 0 {
					problem("national checkpoint at size %d does not list agency %q, which had %d entries", c.Size, a, l.sizeAt(a, c.Size))
				}
			}
		} else if _, ok := c.FindAgency(*l.only); !ok && l.sizeAt(*l.only, c.Size) > 0 {
			problem("national checkpoint at size %d does not list agency %q, which had %d entries", c.Size, *l.only, l.sizeAt(*l.only, c.Size))
		}
		for _, r := range c.Agencies {
			if l.only != nil && *l.only != r.Agency {
				continue
			}
			if err := l.checkRoot(ctx, r.Agency, r.Size, r.RootHash, c.Size); err != "" {
				problem("national checkpoint at size %d: agency %q: %s", c.Size, r.Agency, err)
			}
		}
	}
	for _, ac := range c.AgencyCheckpoints {
		if l.only != nil && *l.only != ac.Agency {
			continue
		}
		if len(keys) == 0 {
			problem("agency %q checkpoint at size %d: no key to verify its signature", ac.Agency, ac.Size)
		} else if err := OpenAgencyCheckpoint(ac, keys...); err != nil {
			problem("%v", err)
			continue
		}
		if err := InNational(c, ac); err != nil {
			problem("%v", err)
		}
		if err := l.checkRoot(ctx, ac.Agency, ac.Size, ac.RootHash, c.Size); err != "" {
			problem("agency %q checkpoint at size %d: %s", ac.Agency, ac.Size, err)
		}
	}
	return nil
}

// checkRoot says what is wrong with agency's signed (size, root) in a
// checkpoint of the global size global, or "".
func (l *agencyLogs) checkRoot(ctx context.Context, agency string, size uint64, root merkle.Hash, global uint64) string {
	if want := l.sizeAt(agency, global); want != size {
		return fmt.Sprintf("signs %d entries, the store gives %d at that point: entries were moved, added or removed", size, want)
	}
	if size == 0 {
		if root != merkle.EmptyRoot() {
			return "signs an empty log with a root that is not the empty root"
		}
		return ""
	}
	got, err := merkle.RootAt(ctx, l.log(agency).nodes, size)
	if err != nil {
		return err.Error()
	}
	if got != root {
		return fmt.Sprintf("signed root %s, the store gives %s: history changed", root, got)
	}
	return ""
}

// AgencyStored is the persisted agency log a verification compares with
// what it recomputes.
type AgencyStored interface {
	AgencyEntries(ctx context.Context, agency string, from, to uint64, limit int) ([]AgencyEntry, error)
	AgencySize(ctx context.Context, agency string) (uint64, error)
	AgencyNodes(agency string) merkle.NodeReader
	AgencyCheckpoints(ctx context.Context, agency string) ([]AgencyCheckpoint, error)
}

// AgencyVerifyOptions configures VerifyAgency.
type AgencyVerifyOptions struct {
	// Agency is the log to verify ("" the national log).
	Agency string
	// Keys verify the signed checkpoints.
	Keys []*merkle.Verifier
	// WriterKeys verify the writer signatures of the agency's events, as
	// VerifyOptions.WriterKeys does for the whole trail. Without them only
	// hash chains are checked.
	WriterKeys *eventstore.Keyring
	// AllSignatures checks the writer signature of every one of the
	// agency's events. Otherwise the agency's events below the trusted
	// national checkpoint (Witnessed, or else the latest one that lists
	// agency roots and whose signature verifies) are authenticated by the
	// agency root it signs, which is compared with the recomputed one; if
	// any checkpoint disagrees with the recomputed log, every signature of
	// the agency's events is checked after all, to name what was forged.
	AllSignatures bool
	// Witnessed, when set, is the national checkpoint a witness kept
	// outside the store: the only one trusted to cover writer signatures,
	// and one the ledger must still hold.
	Witnessed *Checkpoint
	// Stored, when set, is the persisted log, compared entry by entry, its
	// root at every size compared, and its checkpoints. When it is also a
	// Watermarker, the comparison stops at its watermark.
	Stored AgencyStored
	// MaxProblems caps the report (default 100).
	MaxProblems int
}

// VerifyAgency recomputes one agency's log from the event store and
// checks it: the hash chain of each of the agency's events, its leaves and
// tree, every agency checkpoint's signature and root, that each national
// checkpoint lists the agency at the size and root the store gives (so an
// entry cannot be moved between agencies, added or dropped), and, with
// opts.Stored, the stored entries, roots and checkpoints. It derives every
// event's agency in order (reading the unit placement of the events that
// place units, employees and SKPs) but checks, hashes and reports only the
// agency's own events: another agency's events are taken on their stored
// chain hash (unless one continues an append of the agency's, whose
// signature proves it with them), and nothing of them reaches the report.
// With opts.WriterKeys the agency's events are authenticated as Verify
// authenticates the trail: writer signatures, those below the trusted
// national checkpoint covered by the agency root it signs
// (AgencyVerifyOptions.AllSignatures).
func VerifyAgency(ctx context.Context, store eventstore.Store, opts AgencyVerifyOptions) (Report, error) {
	if opts.MaxProblems <= 0 {
		opts.MaxProblems = 100
	}
	agency := opts.Agency
	r := Report{Agency: &agency, Problems: []Problem{}}
	add := func(p Problem) {
		if len(r.Problems) < opts.MaxProblems {
			r.Problems = append(r.Problems, p)
		}
	}
	bound, boundSize := eventstore.Position(math.MaxUint64), uint64(math.MaxUint64)
	if w, ok := opts.Stored.(Watermarker); ok && opts.Stored != nil {
		var err error
		if bound, boundSize, err = w.Watermark(ctx); err != nil {
			return r, fmt.Errorf("audit: verify agency: trail watermark: %w", err)
		}
		r.Position = bound
	}
	// The national checkpoint trusted to cover the agency's writer
	// signatures (its global size: it covers the agency's entries with a
	// global seq below it).
	cover := uint64(0)
	if opts.WriterKeys != nil && !opts.AllSignatures {
		c, err := trustedAgencyCheckpoint(ctx, store, opts, bound)
		if err != nil {
			return r, err
		}
		cover = c
	}
	logs := newAgencyLogs(&agency)
	auth := newAgencyAuth(store, opts.WriterKeys, cover, false)
	var checkpoints []Checkpoint
	var nextStored func() (AgencyEntry, error, bool)
	if opts.Stored != nil {
		var stop func()
		nextStored, stop = iter.Pull2(storedAgencyEntries(ctx, opts.Stored, agency))
		defer stop()
	}
	seq := uint64(0)
	for ev, err := range store.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			return r, fmt.Errorf("audit: verify agency: read: %w", err)
		}
		if !InTrail(ev.Stream) {
			ps, err := auth.check(ctx, ev, false, 0, 0)
			if err != nil {
				return r, err
			}
			for _, p := range ps {
				add(p)
			}
			if ev.Position > bound {
				continue
			}
			c, err := CheckpointOf(ev)
			if err != nil {
				add(Problem{Position: ev.Position, Stream: ev.Stream, EventID: ev.ID.String(), Problem: err.Error()})
				continue
			}
			checkpoints = append(checkpoints, c)
			continue
		}
		e := EntryOf(seq, ev)
		seq++
		_, idx, kept, err := logs.add(ctx, ev, e)
		if err != nil {
			return r, err
		}
		// Another agency's event is taken on its stored chain hash (unless
		// it continues an append of the agency's that awaits its signature).
		ps, err := auth.check(ctx, ev, kept, e.Seq, idx)
		if err != nil {
			return r, err
		}
		for _, p := range ps {
			add(p)
		}
		if !kept {
			continue
		}
		if ev.Position > bound {
			r.Pending++
			continue
		}
		r.Checked++
		r.Size = idx + 1
		if nextStored != nil {
			s, err, ok := nextStored()
			switch {
			case err != nil:
				return r, fmt.Errorf("audit: verify agency: read stored entries: %w", err)
			case !ok || s.Seq >= boundSize:
				add(Problem{Seq: ptr(e.Seq), Index: ptr(idx), Position: ev.Position, Stream: ev.Stream, EventID: e.EventID, Problem: "the event has no stored agency entry"})
			case s.Index != idx || s.Seq != e.Seq || s.Position != ev.Position || s.LeafHash != e.LeafHash || s.Agency != agency:
				add(Problem{Seq: ptr(e.Seq), Index: ptr(idx), Position: ev.Position, Stream: ev.Stream, EventID: e.EventID,
					Problem: fmt.Sprintf("stored agency entry differs from the event: index %d seq %d position %d leaf %s, want index %d seq %d position %d leaf %s",
						s.Index, s.Seq, s.Position, s.LeafHash, idx, e.Seq, ev.Position, e.LeafHash)})
			}
		}
	}
	ps, err := auth.finish(ctx)
	if err != nil {
		return r, err
	}
	for _, p := range ps {
		add(p)
	}
	lg := logs.log(agency)
	r.RootHash = merkle.EmptyRoot()
	if r.Size > 0 {
		root, err := merkle.RootAt(ctx, lg.nodes, r.Size)
		if err != nil {
			return r, err
		}
		r.RootHash = root
	}
	if nextStored != nil {
		for s, err, ok := nextStored(); ok; s, err, ok = nextStored() {
			if err != nil {
				return r, fmt.Errorf("audit: verify agency: read stored entries: %w", err)
			}
			if s.Seq >= boundSize {
				continue
			}
			add(Problem{Seq: ptr(s.Seq), Index: ptr(s.Index), Position: s.Position, Problem: "stored agency entry has no event of this agency in the store (moved from another agency, or its event deleted?)"})
		}
		// The stored tree: its root at the recomputed size.
		if r.Size > 0 {
			got, err := merkle.RootAt(ctx, opts.Stored.AgencyNodes(agency), r.Size)
			switch {
			case err != nil:
				add(Problem{Problem: fmt.Sprintf("stored agency tree at size %d: %v", r.Size, err)})
			case got != r.RootHash:
				add(Problem{Problem: fmt.Sprintf("stored agency tree's root at size %d is %s, recomputed %s", r.Size, got, r.RootHash)})
			}
		}
		stored, err := opts.Stored.AgencyCheckpoints(ctx, agency)
		if err != nil {
			return r, fmt.Errorf("audit: verify agency: read stored checkpoints: %w", err)
		}
		ledger := map[eventstore.Position]AgencyCheckpoint{}
		for _, c := range checkpoints {
			for _, ac := range c.AgencyCheckpoints {
				if ac.Agency == agency {
					ledger[c.Position] = ac
				}
			}
		}
		for _, c := range stored {
			if c.Position > bound {
				continue
			}
			if l, ok := ledger[c.Position]; !ok || l.Note != c.Note || l.Size != c.Size || l.RootHash != c.RootHash {
				add(Problem{Position: c.Position, Stream: CheckpointStream, Problem: fmt.Sprintf("stored agency checkpoint of size %d differs from the one in the ledger at this position (or the ledger has none)", c.Size)})
			}
		}
	}
	var signed uint64 // the largest agency checkpoint's size
	historyChanged := false
	for _, c := range checkpoints {
		if len(c.Agencies) == 0 && len(c.AgencyCheckpoints) == 0 {
			continue // signed before the agency logs
		}
		if len(opts.Keys) == 0 {
			add(Problem{Position: c.Position, Stream: CheckpointStream, Problem: fmt.Sprintf("national checkpoint at size %d: no key to verify its signature", c.Size)})
		} else if err := OpenCheckpoint(c, opts.Keys...); err != nil {
			add(Problem{Position: c.Position, Stream: CheckpointStream, Problem: err.Error()})
			continue
		}
		for _, ac := range c.AgencyCheckpoints {
			if ac.Agency == agency {
				r.Checkpoints++
				signed = max(signed, ac.Size)
			}
		}
		n := len(r.Problems)
		if err := logs.checkCheckpoint(ctx, c, opts.Keys, add); err != nil {
			return r, err
		}
		if len(r.Problems) > n {
			historyChanged = true
		}
	}
	if w := opts.Witnessed; w != nil {
		if p := witnessedInLedger(*w, checkpoints, bound); p != "" {
			add(Problem{Position: w.Position, Stream: CheckpointStream, Problem: p})
			historyChanged = true
		}
	}
	r.Covered = logs.sizeAt(agency, cover)
	if historyChanged && cover > 0 {
		// The checkpoint's cover is void: name what a writer did not sign.
		r.Covered = 0
		ps, err := agencySignatureProblems(ctx, store, agency, opts.WriterKeys)
		if err != nil {
			return r, err
		}
		for _, p := range ps {
			add(p)
		}
	}
	if r.Size > signed {
		r.Unsigned = r.Size - signed
	}
	r.OK = len(r.Problems) == 0
	return r, nil
}

// storedAgencyEntries yields a stored agency log's entries in order.
func storedAgencyEntries(ctx context.Context, s AgencyStored, agency string) iter.Seq2[AgencyEntry, error] {
	return func(yield func(AgencyEntry, error) bool) {
		const page = 4096
		for from := uint64(0); ; {
			batch, err := s.AgencyEntries(ctx, agency, from, math.MaxInt64, page)
			if err != nil {
				yield(AgencyEntry{}, err)
				return
			}
			for _, e := range batch {
				if !yield(e, nil) {
					return
				}
			}
			if len(batch) < page {
				return
			}
			from = batch[len(batch)-1].Index + 1
		}
	}
}

// agencyAuth authenticates the global feed for one agency's verification:
// each of the agency's events by its writer signature (or, below the
// trusted checkpoint, by the agency root that checkpoint signs), and
// reports the refusals of the agency's events only. Another agency's event
// is taken on its stored chain hash (seeded as its stream's head, never
// hashed), except when it continues an append of the agency's whose
// signature is still to come: then it is part of what that signature
// proves, and is checked with it.
type agencyAuth struct {
	auth *eventstore.Authenticator
	// all covers every event (no writer keys: chain links only).
	all bool
	// cover is the global size below which the agency's events are
	// covered by a checkpoint.
	cover uint64
	// onlySignatures keeps only signature problems (the second pass).
	onlySignatures bool
	// mine and seq describe the event being checked.
	mine bool
	seq  uint64
	// waiting holds the agency's events checked but not yet settled (an
	// append awaiting its signature): their seq and index.
	waiting map[eventstore.Position][2]uint64
}

func newAgencyAuth(store eventstore.Store, keys *eventstore.Keyring, cover uint64, onlySignatures bool) *agencyAuth {
	a := &agencyAuth{all: keys == nil, cover: cover, onlySignatures: onlySignatures, waiting: map[eventstore.Position][2]uint64{}}
	a.auth = eventstore.NewAuthenticator(eventstore.AuthOptions{Keys: keys, Store: store, Covered: a.covered})
	return a
}

func (a *agencyAuth) covered(eventstore.Event) bool {
	if !a.mine {
		// Another agency's event (or a checkpoint event, whose notes the
		// audit key signs) checked only because it continued an append:
		// covered once that append is settled.
		return a.auth.Pending() == 0
	}
	return a.all || a.seq < a.cover
}

// check takes the next event of the feed: mine says whether it is the
// agency's (seq its global seq, idx its index in the agency's log). It
// returns the problems of the agency's events it settled.
func (a *agencyAuth) check(ctx context.Context, ev eventstore.Event, mine bool, seq, idx uint64) ([]Problem, error) {
	if !mine && a.auth.Pending() == 0 {
		a.auth.Seed(ev.Stream, eventstore.Head{Exists: true, Revision: ev.Revision, Hash: ev.Hash})
		return nil, nil
	}
	a.mine, a.seq = mine, seq
	if mine {
		a.waiting[ev.Position] = [2]uint64{seq, idx}
	}
	out, err := a.auth.Check(ctx, ev)
	if err != nil {
		return nil, fmt.Errorf("audit: verify agency: %w", err)
	}
	return a.settle(out), nil
}

// finish settles an append left unsigned at the end of the feed.
func (a *agencyAuth) finish(ctx context.Context) ([]Problem, error) {
	out, err := a.auth.Finish(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: verify agency: %w", err)
	}
	return a.settle(out), nil
}

func (a *agencyAuth) settle(out []eventstore.Outcome) []Problem {
	var ps []Problem
	var last *eventstore.IntegrityError
	for _, o := range out {
		w, ok := a.waiting[o.Event.Position]
		if !ok {
			continue // another agency's
		}
		delete(a.waiting, o.Event.Position)
		ie := o.Refused
		if ie == nil || ie == last || (a.onlySignatures && ie.Err == nil) {
			continue
		}
		last = ie
		what := "hash chain: "
		if ie.Err != nil {
			what = "writer signature: "
		}
		ps = append(ps, Problem{Seq: ptr(w[0]), Index: ptr(w[1]), Position: o.Event.Position, Stream: o.Event.Stream, EventID: o.Event.ID.String(), Problem: what + ie.Problem})
	}
	return ps
}

// agencySignatureProblems authenticates the agency's events again, every
// writer signature checked, and returns their signature problems.
func agencySignatureProblems(ctx context.Context, store eventstore.Store, agency string, keys *eventstore.Keyring) ([]Problem, error) {
	logs := newAgencyLogs(&agency)
	auth := newAgencyAuth(store, keys, 0, true)
	var out []Problem
	seq, idx := uint64(0), uint64(0)
	for ev, err := range store.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			return nil, fmt.Errorf("audit: verify agency: read: %w", err)
		}
		mine := false
		if InTrail(ev.Stream) {
			a, err := logs.derive(ctx, ev)
			if err != nil {
				return nil, err
			}
			mine = a == agency
		}
		ps, err := auth.check(ctx, ev, mine, seq, idx)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
		if InTrail(ev.Stream) {
			seq++
			if mine {
				idx++
			}
		}
	}
	ps, err := auth.finish(ctx)
	if err != nil {
		return nil, err
	}
	return append(out, ps...), nil
}

// trustedAgencyCheckpoint returns the global size of the national
// checkpoint that covers the agency's writer signatures: the witnessed one
// when given (if it lists agency roots), else the latest in the ledger (at
// or before bound) that lists agency roots and whose signature verifies; 0
// when there is none. A checkpoint signed before the agency logs cannot
// cover them: VerifyAgency does not recompute the global tree.
func trustedAgencyCheckpoint(ctx context.Context, store eventstore.Store, opts AgencyVerifyOptions, bound eventstore.Position) (uint64, error) {
	return latestTrusted(ctx, store, opts.Keys, opts.Witnessed, bound, "verify agency", func(c Checkpoint) bool { return len(c.Agencies) > 0 })
}
