package app

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
	"github.com/kinerja-ledger/kinerja/projections/calibration"
	"github.com/kinerja-ledger/kinerja/projections/consequences"
	"github.com/kinerja-ledger/kinerja/projections/development"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

// The consequences register and the calibration view (issue 14) are
// computed from the event store itself, not from a read model: the units',
// employees' and SKPs' streams in the store's order, folded by the pure
// projections (consequences.Fold, calibration.Collector). So they are the
// same on every backend (bbolt, PostgreSQL, KurrentDB), and every figure
// names the stored events it comes from. The fold is kept in memory and
// advanced with the events after the last one it read when the store's
// head has moved (the first report reads the whole store once); the
// reports made from it are kept in the report cache at that head.

// viewsCache is the fold of the store behind both views.
type viewsCache struct {
	mu     sync.Mutex
	ready  bool
	head   eventstore.Position // the store's head the fold has reached
	last   eventstore.Position // the last event read (the next read's After)
	fold   projections.Fold[*consequences.State]
	tables *consequences.TableSet // the tables adopted for each year
	states map[string]*consequences.State
	pubs   []consequences.Publication
	cal    *calibration.Collector
	dev    map[string]*development.State // the development report's fold, by SKP stream
}

// withViews advances the fold to the store's head and runs f on it, under
// the fold's lock (f must not keep what it reads past its return).
//
// The first fold after a start reads the whole log. Through the
// AuthenticatedStore that checked the writer signature of every append
// (about 60 µs each: minutes of CPU at a province, with the first view of
// /kalibrasi or /konsekuensi waiting). When the store holds a checkpoint
// signed by the audit key, the first fold reads the log with the events
// under it covered (foldCovered): their chain links are checked, not their
// signatures, and the Merkle root recomputed over them must be the signed
// one, or the fold is thrown away and done again with every signature
// checked (which refuses what was changed). The events past the
// checkpoint, and every later fold, are authenticated as before.
func (a *App) withViews(ctx context.Context, f func(v *viewsCache) error) error {
	if a.cfg.Store == nil {
		return &domain.NotFoundError{Kind: "report", ID: "consequences"}
	}
	v := &a.views
	v.mu.Lock()
	defer v.mu.Unlock()
	// The checkpoint is read before the head, so that it lies at or
	// before the head and the fold reaches every entry it covers.
	var cover *audit.Checkpoint
	if !v.ready || v.last == 0 {
		var err error
		if cover, err = a.viewsCheckpoint(ctx); err != nil {
			return err
		}
	}
	head, err := a.cfg.Store.Head(ctx)
	if err != nil {
		return err
	}
	if !v.ready {
		if err := a.resetViews(ctx, v); err != nil {
			return err
		}
	}
	if head != v.head {
		proven := false
		if cover != nil && v.last == 0 {
			if proven, err = a.foldCovered(ctx, v, head, cover); err != nil {
				return err
			}
			if !proven {
				// The log under the checkpoint does not give its root:
				// start again, every signature checked.
				if err := a.resetViews(ctx, v); err != nil {
					return err
				}
			}
		}
		if !proven {
			if err := v.advance(ctx, a.cfg.Store, head, viewsFilter(), nil); err != nil {
				return err
			}
		}
		v.head = head
	}
	return f(v)
}

// WarmViews folds the store into the views now (the first fold after a
// start: the whole log, ≈ 15 µs of CPU an event), so that the first
// request of /konsekuensi, /kalibrasi or the development report does not
// wait for it: kinerjad runs it in the background once it is ready
// (--warm-views). A request meanwhile waits for the fold under way, as it
// would for its own; a fold cut short (ctx ended) is thrown away as in a
// request. Nothing is computed when there is no store.
func (a *App) WarmViews(ctx context.Context) error {
	if a.cfg.Store == nil {
		return nil
	}
	return a.withViews(ctx, func(*viewsCache) error { return nil })
}

// viewsFilter selects the events the views fold.
func viewsFilter() eventstore.Filter {
	filter := calibration.Filter()
	filter.StreamPrefixes = append(slices.Clone(filter.StreamPrefixes), domain.ConsequenceTablesStream)
	return filter
}

// resetViews empties the fold.
func (a *App) resetViews(ctx context.Context, v *viewsCache) error {
	// The tables the ledger adopted for each year (every adoption,
	// whatever its position: consequences.Adopt); where it adopted none
	// yet, the configured ones.
	set, err := consequences.LoadTableSet(ctx, a.cfg.Store)
	if err != nil {
		return err
	}
	if len(set.Adoptions()) == 0 {
		tables := a.cfg.ConsequenceTables
		if tables.Version == "" {
			tables = consequences.DefaultTables()
		}
		set = consequences.Fixed(tables)
	}
	v.tables = set
	v.fold, v.states, v.cal, v.ready = consequences.FoldSet(set), map[string]*consequences.State{}, calibration.NewCollector(), true
	v.dev = map[string]*development.State{}
	v.pubs, v.head, v.last = nil, 0, 0
	return nil
}

// advance folds the events of store after v.last up to head that pass
// filter (the read is unfiltered when see is set: see is shown every event
// read, before the filter).
func (v *viewsCache) advance(ctx context.Context, store eventstore.Store, head eventstore.Position, filter eventstore.Filter, see func(eventstore.Event)) error {
	opts := eventstore.ReadAllOptions{After: v.last, Filter: filter}
	if see != nil {
		opts.Filter = eventstore.Filter{}
	}
	for ev, err := range store.ReadAll(ctx, opts) {
		if err != nil {
			return err
		}
		if ev.Position > head {
			break
		}
		v.last = ev.Position
		if see != nil {
			see(ev)
			if !filter.Match(ev.Stream, ev.Type) {
				continue
			}
		}
		if err := v.apply(ev); err != nil {
			return err
		}
	}
	return nil
}

// apply folds one event.
func (v *viewsCache) apply(ev eventstore.Event) error {
	pe, err := projections.Decode(ev)
	if err != nil {
		// An event that does not decode is left out here (the
		// projections report it as poison; /readyz names it).
		return nil
	}
	if ev.Stream == domain.ConsequenceTablesStream {
		// An adoption after the fold started (another process).
		return v.tables.Apply(pe)
	}
	v.cal.Add(pe)
	if strings.HasPrefix(ev.Stream, domain.SKPStreamPrefix) {
		st := v.fold(v.states[ev.Stream], pe)
		v.states[ev.Stream] = st
		v.pubs = append(v.pubs, st.Published()...)
		if d := devFold(v.dev[ev.Stream], pe); d != nil {
			v.dev[ev.Stream] = d
		}
	}
	return nil
}

// viewsCheckpoint returns the store's latest signed checkpoint when the
// store is authenticated and the checkpoint's signature verifies with the
// current audit key of the configuration (AuditKey, DocumentKey; not the
// retired DocumentKeys); nil otherwise (the first fold then checks every
// signature).
func (a *App) viewsCheckpoint(ctx context.Context) (*audit.Checkpoint, error) {
	as, ok := a.cfg.Store.(*eventstore.AuthenticatedStore)
	if !ok {
		return nil, nil
	}
	var keys []*merkle.Verifier
	if a.cfg.AuditKey != "" {
		if k, err := merkle.NewVerifier(a.cfg.AuditKey); err == nil {
			keys = append(keys, k)
		}
	}
	if a.cfg.DocumentKey != nil {
		keys = append(keys, a.cfg.DocumentKey.Verifier())
	}
	// Not DocumentKeys: those are earlier audit keys, kept to check old
	// printed documents; a retired key that leaked must not vouch for a
	// checkpoint over a forged log. After a rotation the first fold checks
	// every signature until the current key signs a checkpoint.
	if len(keys) == 0 {
		return nil, nil
	}
	// Read as stored: the audit key's signature is what vouches for it.
	rec, ok, err := audit.LedgerCheckpoint(ctx, as.Unwrap())
	if err != nil || !ok || rec.Checkpoint.Size == 0 {
		return nil, err
	}
	if audit.OpenCheckpoint(rec.Checkpoint, keys...) != nil {
		return nil, nil
	}
	return &rec.Checkpoint, nil
}

// foldCovered is the first fold, from the start of the log up to head,
// through the authenticated store with the first cp.Size audit-trail
// entries covered by cp (their chain links checked, not their writer
// signatures), while it recomputes the Merkle root over those entries
// (audit.LeafData: each leaf commits to the event's chain hash, which the
// read recomputed over its content). proven is false when the root is not
// cp's: the fold must then be thrown away. An event past the checkpoint
// that does not authenticate, or one under it whose chain breaks, is an
// error, as in any read.
func (a *App) foldCovered(ctx context.Context, v *viewsCache, head eventstore.Position, cp *audit.Checkpoint) (proven bool, err error) {
	as := a.cfg.Store.(*eventstore.AuthenticatedStore)
	root := audit.NewPrefixRoot(cp.Size)
	if err := v.advance(ctx, as.Covering(audit.CoverFirst(cp.Size)), head, viewsFilter(), root.Add); err != nil {
		// What was folded is not proven (a cancelled request, a broken
		// chain): the next fold starts afresh rather than build on it.
		v.ready, v.last = false, 0
		return false, err
	}
	return root.Size() == cp.Size && root.Root() == cp.RootHash, nil
}

// yearOf checks an annual period.
func yearOf(field, p string) error {
	per, err := period.Parse(p)
	if err != nil || !per.IsAnnual() {
		return &domain.ValidationError{Fields: []domain.FieldError{{Field: field, Message: "must be a year, such as 2025"}}}
	}
	return nil
}

// unitScope decides action for a caller over unit ("" for the agency):
// the unit's head on today sees its subtree; the roles of the action see any.
// An unknown unit is not found.
func unitScope(v *viewsCache, caller domain.Principal, action authz.Action, unit string, today calendar.Date) (func(string) bool, error) {
	if unit == "" {
		if _, err := authz.Decide(caller, action, authz.Subject{}, authz.Options{}); err != nil {
			return nil, err
		}
		return nil, nil
	}
	if !v.cal.HasUnit(unit) {
		return nil, &domain.NotFoundError{Kind: "unit", ID: unit}
	}
	if _, err := authz.Decide(caller, action, authz.Subject{UnitLeader: v.cal.HeadOf(unit, today)}, authz.Options{}); err != nil {
		return nil, err
	}
	return func(u string) bool { return v.cal.InSubtree(u, unit) }, nil
}

// Consequences is the register of the consequences of the final annual
// evaluations of year (originals, corrections, the current ones, the
// recognition list), of unit's subtree ("" for the agency), for a caller
// who may read consequences. Errors: a *ValidationError naming year, a
// refusal (403), not found for an unknown unit.
func (a *App) Consequences(ctx context.Context, caller domain.Principal, year, unit string) (Report[consequences.Register], error) {
	if err := yearOf("year", year); err != nil {
		return Report[consequences.Register]{}, err
	}
	if err := a.scopeUnit(ctx, caller, &unit); err != nil {
		return Report[consequences.Register]{}, err
	}
	var rep Report[consequences.Register]
	err := a.withViews(ctx, func(v *viewsCache) error {
		in, err := unitScope(v, caller, authz.ReadConsequences, unit, a.Today())
		if err != nil {
			return err
		}
		rep, err = cached(&a.reports, "consequences\x00"+year+"\x00"+unit, []eventstore.Position{v.head}, func() (consequences.Register, reports.Table, error) {
			var keep func(consequences.Publication) bool
			if in != nil {
				keep = func(p consequences.Publication) bool { return in(p.UnitID) }
			}
			r := consequences.BuildRegister(v.pubs, year, unit, keep)
			return r, r.Table(), nil
		})
		return err
	})
	return rep, err
}

// Calibration is the calibration view of the appraisers for year, of
// unit's subtree ("" for the agency; the statistics are always the
// agency's), for a caller who may read it. Errors as for Consequences.
func (a *App) Calibration(ctx context.Context, caller domain.Principal, year, unit string) (Report[calibration.Report], error) {
	if err := yearOf("year", year); err != nil {
		return Report[calibration.Report]{}, err
	}
	if err := a.scopeUnit(ctx, caller, &unit); err != nil {
		return Report[calibration.Report]{}, err
	}
	var rep Report[calibration.Report]
	err := a.withViews(ctx, func(v *viewsCache) error {
		in, err := unitScope(v, caller, authz.ReadCalibration, unit, a.Today())
		if err != nil {
			return err
		}
		rep, err = cached(&a.reports, "calibration\x00"+year+"\x00"+unit, []eventstore.Position{v.head}, func() (calibration.Report, reports.Table, error) {
			r := v.cal.Report(year, calibration.Options{})
			if in != nil {
				r = r.Restrict(in)
			}
			if r.Appraisers == nil {
				r.Appraisers = []calibration.Appraiser{}
			}
			return r, r.Table(), nil
		})
		return err
	})
	return rep, err
}
