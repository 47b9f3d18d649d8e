package app

import (
	"context"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/nip"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// Prefetcher is implemented by an event log that can read the streams a
// request will load in one round trip and answer the loads under the
// context it returns (eventlog.Cached over PostgreSQL).
type Prefetcher interface {
	Prefetch(ctx context.Context, streams ...string) context.Context
}

// HeadPrefetcher is a Prefetcher that also learns the store's head in the
// same round trip when it can (eventlog.Cached.PrefetchHead; see
// eventstore.ObservedHead): what ManyAgencies needs for a claimless token.
type HeadPrefetcher interface {
	PrefetchHead(ctx context.Context, streams ...string) context.Context
}

// PrefetchSKP returns a context under which reading SKP id as caller
// costs the store one round trip: the SKP's stream, its employee's (the
// reporting line and unit the access decision needs) and the caller's
// own (their unit), read together, each from the revision its cached
// prefix ends at, and authenticated. The streams are named from the SKP
// id ({nip}-{year}[-{n}]) and the caller; a stream the read needs that
// was not foreseen is read as before. Without a Prefetcher it returns ctx.
//
// The same statement reads the store's head when the log can
// (HeadPrefetcher), so that Principal's tenancy check of a claimless token
// (ManyAgencies) asks nothing more: the API's authentication calls this
// before Principal for GET /v1/skps/{id}, and the handler's call finds the
// streams read.
//
// For a caller with an agency claim, the context also carries the
// application's memo of unit → agency (orgunit.AgencyMemo): the access
// check of such a token (the agency of the SKP's drafting unit and of its
// employee's unit today) walks the unit tree through the store only the
// first time it meets a unit, so such a GET is one round trip too. The
// memo is as strong as the walk (a unit's agency never changes); the
// employee's unit, which does change (a transfer), comes from their
// stream, read in the statement.
func (a *App) PrefetchSKP(ctx context.Context, caller domain.Principal, id string) context.Context {
	if caller.Agency != "" {
		// Only a caller with an agency claim asks for agencies
		// (skp's subject): the others' GET carries nothing more.
		ctx = orgunit.WithAgencyMemo(ctx, &a.tenancy.unitAgencies)
	}
	if a.cfg.SKPs == nil || a.cfg.SKPs.Handler == nil {
		return ctx
	}
	p, ok := a.cfg.SKPs.Handler.Log.(Prefetcher)
	if !ok {
		return ctx
	}
	stream := domain.SKPStream(id)
	if !domain.ValidStreamName(stream) {
		return ctx // not found without a read
	}
	streams := make([]string, 1, 3)
	streams[0] = stream
	owner, _, _, err := skp.ParseID(id)
	if err == nil {
		streams = append(streams, domain.EmployeeStream(owner))
	}
	if info, err := nip.Parse(caller.ID); err == nil && string(info.NIP) == caller.ID && caller.ID != owner {
		streams = append(streams, domain.EmployeeStream(caller.ID))
	}
	if hp, ok := p.(HeadPrefetcher); ok && a.tenancyAsksHead(caller) {
		return hp.PrefetchHead(ctx, streams...)
	}
	return p.Prefetch(ctx, streams...)
}

// tenancyAsksHead reports whether Principal(caller) may ask ManyAgencies
// whether anything was committed since its last scan, the one reader of
// the head PrefetchHead reads: only a claimless token with an agency role,
// in a deployment that does not require the claim, while fewer than two
// agencies are known (two never become fewer). Every other caller's GET
// leaves the head's index probe out of its statement.
func (a *App) tenancyAsksHead(caller domain.Principal) bool {
	if caller.Agency != "" || !authz.HasAgencyRole(caller) || a.cfg.RequireAgencyClaim {
		return false
	}
	a.tenancy.mu.Lock()
	defer a.tenancy.mu.Unlock()
	return len(a.tenancy.registered) < 2
}

// PrepareSKP is skp.Service.Prepare in one round trip to the store (see
// PrefetchSKP): the query behind GET /v1/skps/{id}.
func (a *App) PrepareSKP(ctx context.Context, caller domain.Principal, id string, at skp.AsOf) (skp.Prepared, error) {
	return a.cfg.SKPs.Prepare(a.PrefetchSKP(ctx, caller, id), caller, id, at)
}
