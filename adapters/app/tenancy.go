package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/directory"
)

// Tenancy (issue 15, docs/security.md "Agencies"): an agency (instansi)
// is a root unit of the unit tree; its ID is the root's. Units are never
// re-parented, so a unit's agency never changes, and agencies are never
// removed: once the deployment holds two, it always will.

// maxTreeDepth bounds the walk up the unit tree.
const maxTreeDepth = 64

// agencies remembers what never changes: the root of each unit seen, and
// the root units registered in the store up to a position.
type agencies struct {
	mu    sync.Mutex
	roots map[string]string // unit → agency
	// registered are the root units found in the store's
	// unit.registered events up to scannedTo (agencies are never removed).
	registered map[string]bool
	scannedTo  eventstore.Position
	// refused are the root registrations up to scannedTo that failed
	// their authentication (unit → why): they never count, and while
	// there is one (and fewer than two genuine roots) the directory
	// projection answers ManyAgencies, as at the scan that found it,
	// without the log being scanned and the root re-authenticated on
	// every claimless request.
	refused map[string]error
	// releaseScan serialises the scans for transfer releases (movedIn).
	releaseScan chan struct{}
	// scan serialises the scans of the store (ManyAgencies); a waiter
	// gives up with its request's context.
	scan chan struct{}
	// released holds, for each agency, the NIPs another agency released
	// to it (employee.transfer_released) in the store up to releasedTo:
	// the only way a person moves in (movedIn).
	released   map[string]map[string]bool
	releasedTo eventstore.Position
	// unitAgencies remembers the agency of each unit the domain's access
	// checks walked up to its root through the store (the read path's
	// context carries it: App.PrefetchSKP). Unlike roots (the directory
	// projection's tree, for lists), it holds only what the authenticated
	// unit streams said. Its own lock.
	unitAgencies orgunit.AgencyMemo
}

// acquire takes the one-scan-at-a-time semaphore *sem (made on first
// use), or gives up when ctx ends: a request must not wait past its own
// deadline behind a long first scan. The caller calls release.
func (t *agencies) acquire(ctx context.Context, sem *chan struct{}) (release func(), err error) {
	t.mu.Lock()
	if *sem == nil {
		*sem = make(chan struct{}, 1)
	}
	c := *sem
	t.mu.Unlock()
	select {
	case c <- struct{}{}:
		return func() { <-c }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Principal returns p as it acts in this deployment, the one place both
// edges pass a signed-in caller through: a token that names an agency is
// kept; one that names none keeps its agency roles while the deployment
// holds at most one agency (every token made before agencies existed acts
// as before), and loses them once it holds two or more (an agency role
// without an agency acts nowhere), or always when the deployment requires
// the claim (Config.RequireAgencyClaim, kinerjad --require-agency-claim).
// Relationship roles and the national roles are untouched.
func (a *App) Principal(ctx context.Context, p domain.Principal) (domain.Principal, error) {
	if p.Agency != "" || !authz.HasAgencyRole(p) {
		return p, nil
	}
	if a.cfg.RequireAgencyClaim {
		return authz.WithoutAgencyRoles(p), nil
	}
	multi, err := a.ManyAgencies(ctx)
	if err != nil {
		return p, err
	}
	if multi {
		return authz.WithoutAgencyRoles(p), nil
	}
	return p, nil
}

// ManyAgencies reports whether the deployment holds two or more agencies,
// from the event store (unit registrations without a parent), not from
// the directory projection: a projection that lags or stalls must not let
// a claimless token keep agency roles once a second agency is recorded.
// The store is read from where the last call stopped, the unit
// registrations only; once two roots are seen the answer never changes.
func (a *App) ManyAgencies(ctx context.Context) (bool, error) {
	a.tenancy.mu.Lock()
	if len(a.tenancy.registered) >= 2 {
		a.tenancy.mu.Unlock()
		return true, nil
	}
	after := a.tenancy.scannedTo
	a.tenancy.mu.Unlock()
	// scanned answers from what the scans up to after found.
	scanned := func() (bool, error) {
		a.tenancy.mu.Lock()
		many, refused := len(a.tenancy.registered) >= 2, errors.Join(mapValues(a.tenancy.refused)...)
		a.tenancy.mu.Unlock()
		if many || refused == nil {
			return many, nil
		}
		return a.agenciesFallback(ctx, refused)
	}
	// The head before the read: every event at or below it is final, so a
	// read that completes has seen all of them, and the next call starts
	// there rather than at the last registration (which would re-read the
	// whole log after the units on every request).
	//
	// When this request already read the newest committed position, in
	// the statement that read its streams (PrefetchSKP), after it began,
	// and nothing was committed after the last scan, the answer stands
	// without asking Head (which waits for older writing transactions,
	// a wait that a read which finds nothing new does not need).
	if newest, ok := eventstore.NewestCommitted(ctx); ok && newest <= after {
		return scanned()
	}
	head, err := a.cfg.Store.Head(ctx)
	if err != nil {
		return a.agenciesFallback(ctx, err)
	}
	if head <= after {
		return scanned()
	}
	// One scan at a time: the requests that arrive together after a start
	// wait for the first one's scan instead of each repeating it.
	release, err := a.tenancy.acquire(ctx, &a.tenancy.scan)
	if err != nil {
		return false, err
	}
	defer release()
	a.tenancy.mu.Lock()
	after = max(after, a.tenancy.scannedTo)
	done := len(a.tenancy.registered) >= 2 || head <= after
	a.tenancy.mu.Unlock()
	if done {
		return scanned()
	}
	// The unit registrations are read from the store as stored, the type
	// filter applied by the store, and only the candidate roots are then
	// authenticated, each through its own unit stream (chain and writer
	// signatures). Reading through the AuthenticatedStore checked the
	// writer signature of every event of the log, whatever the filter (the
	// authenticator must see every append to check it): at the first
	// request after a start that was the whole log, minutes of CPU at a
	// province (3.4 M events, about 77 µs a signature), with the request
	// waiting. An event slipped into the store behind its back is refused
	// by the check of its stream, as before.
	raw, verify := a.storedAsIs()
	found := map[string]eventstore.Event{}
	last := max(after, head)
	opts := eventstore.ReadAllOptions{After: after, Filter: eventstore.Filter{TypePrefixes: []string{unitRegisteredType}}}
	for ev, err := range raw.ReadAll(ctx, opts) {
		if err != nil {
			return a.agenciesFallback(ctx, err)
		}
		last = max(last, ev.Position)
		if ev.Type != unitRegisteredType {
			continue
		}
		var d struct {
			UnitID   string `json:"unit_id"`
			ParentID string `json:"parent_id"`
		}
		if json.Unmarshal(ev.Data, &d) == nil && d.ParentID == "" && d.UnitID != "" {
			found[d.UnitID] = ev
		}
	}
	refused := map[string]error{}
	if verify {
		for id, ev := range found {
			err := a.authenticRegistration(ctx, id, ev)
			switch {
			case err == nil:
			case ctx.Err() != nil:
				return false, ctx.Err()
			case errors.Is(err, eventstore.ErrIntegrity):
				// The stored history failed its integrity check (a
				// writer key no longer trusted, a forged event): the
				// root never counts, and the auditor who must
				// investigate it still needs their role, so the
				// directory projection answers instead, as it did
				// before the store was asked. The refusal is kept and
				// the scan goes past it: the next request neither
				// rescans the log nor authenticates the root again.
				delete(found, id)
				refused[id] = err
			default:
				// Could not be read now: nothing is kept, and the next
				// request scans again.
				return a.agenciesFallback(ctx, err)
			}
		}
	}
	a.tenancy.mu.Lock()
	if a.tenancy.registered == nil {
		a.tenancy.registered = map[string]bool{}
	}
	for id := range found {
		a.tenancy.registered[id] = true
	}
	for id, err := range refused {
		if a.tenancy.refused == nil {
			a.tenancy.refused = map[string]error{}
		}
		a.tenancy.refused[id] = err
		if a.cfg.Logger != nil {
			a.cfg.Logger.Warn("agency_root_refused", "unit", id, "err", err)
		}
	}
	a.tenancy.scannedTo = max(a.tenancy.scannedTo, last)
	a.tenancy.mu.Unlock()
	return scanned()
}

// mapValues returns m's values (in no order).
func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// storedAsIs returns the store beneath the authentication, to read a few
// events of one type as stored (the store's type filter), and whether it
// was authenticated, so that what is found must be checked through its
// own stream (authenticIn): through the authenticated store such a read
// checks every writer signature of the log, whatever the filter.
func (a *App) storedAsIs() (eventstore.Store, bool) {
	if as, ok := a.cfg.Store.(*eventstore.AuthenticatedStore); ok {
		return as.Store, true
	}
	return a.cfg.Store, false
}

// agenciesFallback answers ManyAgencies from the directory projection when
// the store's history could not be read or failed its check (err).
func (a *App) agenciesFallback(ctx context.Context, err error) (bool, error) {
	roots, rerr := a.Agencies(ctx)
	if rerr != nil {
		return false, errors.Join(err, rerr)
	}
	return len(roots) >= 2, nil
}

// authenticRegistration checks ev, a unit.registered event of unit id read
// from the store as stored, against the unit's stream read through the
// authenticated store: the stream must pass its checks and hold ev.
func (a *App) authenticRegistration(ctx context.Context, id string, ev eventstore.Event) error {
	return a.authenticIn(ctx, domain.UnitStream(id), "unit "+id, ev)
}

// authenticIn checks ev, read from the store as stored, against stream
// read through the authenticated store (its chain and writer signatures):
// the stream must pass its checks and hold ev as read. what names the
// stream in errors.
func (a *App) authenticIn(ctx context.Context, stream, what string, ev eventstore.Event) error {
	for got, err := range a.cfg.Store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{}) {
		if err != nil {
			return err
		}
		if got.ID == ev.ID {
			if got.Position != ev.Position || got.Type != ev.Type || string(got.Data) != string(ev.Data) {
				return fmt.Errorf("app: %s: the event read from the log differs from its stream's: %w", what, eventstore.ErrIntegrity)
			}
			return nil
		}
	}
	return fmt.Errorf("app: %s: the event at %d is not in its stream: %w", what, ev.Position, eventstore.ErrIntegrity)
}

// unitRegisteredType is the event that registers a unit (a root unit has
// no parent_id).
var unitRegisteredType = orgunit.Registered{}.EventType()

// Agencies returns the agencies of the deployment (the root units), by ID.
func (a *App) Agencies(ctx context.Context) ([]string, error) {
	if r, ok := a.cfg.Directory.(interface {
		Roots(context.Context) ([]string, error)
	}); ok {
		return r.Roots(ctx)
	}
	units, err := a.cfg.Directory.Units(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, u := range units {
		if u.ParentID == "" {
			out = append(out, u.ID)
		}
	}
	return out, nil
}

// AgencyOfUnit returns the agency of unit id ("" for an unknown unit), as
// the directory read model has the tree.
func (a *App) AgencyOfUnit(ctx context.Context, id string) (string, error) {
	a.tenancy.mu.Lock()
	root, ok := a.tenancy.roots[id]
	a.tenancy.mu.Unlock()
	if ok {
		return root, nil
	}
	cur := id
	for range maxTreeDepth {
		u, err := a.cfg.Directory.Unit(ctx, cur)
		if errors.Is(err, directory.ErrNotFound) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		if u.ParentID == "" {
			a.tenancy.mu.Lock()
			if a.tenancy.roots == nil {
				a.tenancy.roots = map[string]string{}
			}
			a.tenancy.roots[id] = cur
			a.tenancy.mu.Unlock()
			return cur, nil
		}
		cur = u.ParentID
	}
	return "", nil
}

// AgencyOfEmployee returns the agency of employee nip today (that of the
// unit of their post in the directory), "" for an unknown employee.
func (a *App) AgencyOfEmployee(ctx context.Context, nip string) (string, error) {
	e, err := a.cfg.Directory.Employee(ctx, nip)
	if errors.Is(err, directory.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return a.AgencyOfUnit(ctx, e.UnitID)
}

// Reach is what a caller's lists and reports may hold: everything, or the
// units, employees and SKPs of one agency.
type Reach struct {
	// All reports that nothing is filtered (national roles, or a caller
	// whose token names no agency in a deployment of at most one).
	All bool
	// Agency is the agency the caller reads within when not All.
	Agency string
}

// ReachOf returns what p's lists may hold. A caller holding a national
// role reads across agencies; one naming an agency reads within it; one
// naming none reads everything (the application layer has already taken
// the agency roles of such a caller away when there are two agencies or
// more: [App.Principal]).
func ReachOf(p domain.Principal) Reach {
	if authz.National(p) || p.Agency == "" {
		return Reach{All: true}
	}
	return Reach{Agency: p.Agency}
}

// UnitIn reports whether unit id is within r.
func (a *App) UnitIn(ctx context.Context, r Reach, id string) (bool, error) {
	if r.All {
		return true, nil
	}
	ag, err := a.AgencyOfUnit(ctx, id)
	return ag == r.Agency, err
}

// EmployeeIn reports whether employee nip is within r today.
func (a *App) EmployeeIn(ctx context.Context, r Reach, nip string) (bool, error) {
	if r.All {
		return true, nil
	}
	ag, err := a.AgencyOfEmployee(ctx, nip)
	return ag == r.Agency, err
}

// SKPIn reports whether an SKP drafted in unit (its snapshot) for
// employee nip is within r: the drafting agency keeps it, and it follows
// the person to their agency today.
func (a *App) SKPIn(ctx context.Context, r Reach, unit, nip string) (bool, error) {
	if r.All {
		return true, nil
	}
	if ok, err := a.UnitIn(ctx, r, unit); ok || err != nil {
		return ok, err
	}
	return a.EmployeeIn(ctx, r, nip)
}

// scopeUnit narrows the unit of a list or report to what caller reaches:
// for a caller within one agency, "" (everything) becomes the agency's
// root, and another agency's unit is not found, as an unknown unit is
// (404, nothing counted). A national role or an unscoped caller keeps it.
func (a *App) scopeUnit(ctx context.Context, caller domain.Principal, unit *string) error {
	r := ReachOf(caller)
	if r.All || !authz.HasAgencyRole(caller) {
		return nil
	}
	if *unit == "" {
		*unit = r.Agency
		return nil
	}
	ok, err := a.UnitIn(ctx, r, *unit)
	if err != nil {
		return err
	}
	if !ok {
		return &domain.NotFoundError{Kind: "unit", ID: *unit}
	}
	return nil
}

// Unit returns unit id for caller to read: any signed-in caller reads the
// units of their agency (every unit when the token names no agency, and
// for the national roles); another agency's unit is not found, as an
// unknown one is.
func (a *App) Unit(ctx context.Context, caller domain.Principal, id string) (*orgunit.Unit, error) {
	var agencies []string
	if caller.Agency != "" {
		ag, err := a.AgencyOfUnit(ctx, id)
		if err != nil {
			return nil, err
		}
		if ag != "" {
			agencies = []string{ag}
		}
	}
	if _, err := authz.Decide(caller, authz.ReadUnit, authz.Subject{Agencies: agencies}, authz.Options{}); err != nil {
		if errors.Is(err, domain.ErrNotFound) {
			return nil, &domain.NotFoundError{Kind: "unit", ID: id}
		}
		return nil, err
	}
	return a.cfg.Units.Get(ctx, id)
}

// Units returns the units caller may read (see Unit), by ID.
func (a *App) Units(ctx context.Context, caller domain.Principal) ([]directory.Unit, error) {
	if _, err := authz.Decide(caller, authz.ReadUnit, authz.Subject{}, authz.Options{}); err != nil {
		return nil, err
	}
	units, err := a.cfg.Directory.Units(ctx)
	if err != nil {
		return nil, err
	}
	r := ReachOf(caller)
	if r.All {
		return units, nil
	}
	out := make([]directory.Unit, 0, len(units))
	for _, u := range units {
		ok, err := a.UnitIn(ctx, r, u.ID)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, u)
		}
	}
	return out, nil
}

// Children returns the units directly below unit id that caller may read.
func (a *App) Children(ctx context.Context, caller domain.Principal, id string) ([]directory.Unit, error) {
	kids, err := a.cfg.Directory.Children(ctx, id)
	if err != nil {
		return nil, err
	}
	r := ReachOf(caller)
	if r.All {
		return kids, nil
	}
	// A unit's children share its agency: all or none.
	if ok, err := a.UnitIn(ctx, r, id); err != nil || !ok {
		return []directory.Unit{}, err
	}
	return kids, nil
}

// transferReleasedType is the event by which an agency releases an
// employee to another.
var transferReleasedType = employee.TransferReleased{}.EventType()

// movedIn returns, sorted, the employees of agency today who moved in
// from another agency: those released to it (the store's
// employee.transfer_released events, read from where the last call
// stopped) whose post today (its effective date reached, as an SKP read
// decides it) is in agency. Their earlier SKPs, drafted elsewhere, follow
// them into the agency's SKP lists. When the store cannot be read (an
// integrity problem after the last read), the releases read so far are
// used: a list must not fail for every caller of every agency.
func (a *App) movedIn(ctx context.Context, agency string) ([]string, error) {
	a.tenancy.mu.Lock()
	after := a.tenancy.releasedTo
	a.tenancy.mu.Unlock()
	if head, err := a.cfg.Store.Head(ctx); err == nil && head > after {
		// One scan at a time (the lists that arrive together after a
		// start wait for the first one's), and the releases are read as
		// stored, with the store's type filter, each found one then
		// authenticated through its employee's stream: reading through
		// the authenticated store checked every writer signature of the
		// log whatever the filter, minutes at a province on the first
		// list after a start (as ManyAgencies found).
		release, err := a.tenancy.acquire(ctx, &a.tenancy.releaseScan)
		if err != nil {
			return nil, err
		}
		defer release()
		a.tenancy.mu.Lock()
		after = max(after, a.tenancy.releasedTo)
		a.tenancy.mu.Unlock()
		raw, _ := a.storedAsIs()
		found := map[string]map[string]bool{}
		last := head
		opts := eventstore.ReadAllOptions{After: after, Filter: eventstore.Filter{TypePrefixes: []string{transferReleasedType}}}
		complete := true
		for ev, err := range raw.ReadAll(ctx, opts) {
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				complete = false
				break
			}
			if ev.Type != transferReleasedType {
				continue
			}
			var d struct {
				NIP      string `json:"nip"`
				ToAgency string `json:"to_agency"`
			}
			if json.Unmarshal(ev.Data, &d) == nil && d.NIP != "" && d.ToAgency != "" {
				aerr := error(nil)
				if ev.Stream != domain.EmployeeStream(d.NIP) {
					aerr = fmt.Errorf("app: a transfer release of %s in stream %s: %w", d.NIP, ev.Stream, eventstore.ErrIntegrity)
				} else {
					aerr = a.authenticIn(ctx, ev.Stream, "employee "+d.NIP, ev)
				}
				switch {
				case aerr == nil:
				case ctx.Err() != nil:
					return nil, ctx.Err()
				case errors.Is(aerr, eventstore.ErrIntegrity):
					// Not a release: it is never taken, and the scan goes
					// on past it, so that one forged or damaged stream
					// does not make every later list rescan (the
					// integrity check reports the stream).
					a.cfg.Logger.Warn("transfer_release_refused", "position", uint64(ev.Position), "err", aerr)
					continue
				default:
					// Could not be read now: not taken, and the scan is
					// not complete, so the next list tries again.
					complete = false
					continue
				}
				if found[d.ToAgency] == nil {
					found[d.ToAgency] = map[string]bool{}
				}
				found[d.ToAgency][d.NIP] = true
			}
		}
		a.tenancy.mu.Lock()
		if a.tenancy.released == nil {
			a.tenancy.released = map[string]map[string]bool{}
		}
		for to, nips := range found {
			if a.tenancy.released[to] == nil {
				a.tenancy.released[to] = map[string]bool{}
			}
			for n := range nips {
				a.tenancy.released[to][n] = true
			}
		}
		if complete {
			a.tenancy.releasedTo = max(a.tenancy.releasedTo, last)
		}
		a.tenancy.mu.Unlock()
	}
	a.tenancy.mu.Lock()
	candidates := make([]string, 0, len(a.tenancy.released[agency]))
	for n := range a.tenancy.released[agency] {
		candidates = append(candidates, n)
	}
	a.tenancy.mu.Unlock()
	slices.Sort(candidates)
	today := a.Today().String()
	out := candidates[:0]
	for _, n := range candidates {
		e, err := a.cfg.Directory.Employee(ctx, n)
		if errors.Is(err, directory.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if e.PositionFrom > today {
			continue // the move takes effect later: not the agency's yet
		}
		ag, err := a.AgencyOfUnit(ctx, e.UnitID)
		if err != nil {
			return nil, err
		}
		if ag == agency {
			out = append(out, n)
		}
	}
	return out, nil
}
