package skp

import (
	"context"
	"slices"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
)

// CascadeTarget is what the employee may cascade the RHK of an SKP from:
// the RHK of the version in effect of the appraiser's established SKP of
// the same year (the only RHK a cascading link may name).
type CascadeTarget struct {
	// AppraiserNIP is the appraiser in effect today ("" when none).
	AppraiserNIP string
	// SKPID is the appraiser's established SKP ("" when there is none:
	// the links must wait).
	SKPID string
	// Version is that SKP's version in effect.
	Version int
	// RHK are its RHK, in plan order.
	RHK []RHK
}

// CascadeTarget is the query behind the dashboard's list of the RHK a
// cascading link may name: for a caller who may edit SKP id's plan, the RHK
// of the appraiser's established SKP, read without the caller needing the
// right to read that SKP (only its RHK texts and ids are returned).
// Errors: not found (SKP, or not visible), forbidden (may read the SKP but
// not edit its plan).
func (s *Service) CascadeTarget(ctx context.Context, caller domain.Principal, id string) (CascadeTarget, error) {
	sk, _, err := s.authorized(ctx, caller, id, authz.EditPlan)
	if err != nil {
		return CascadeTarget{}, err
	}
	l := s.lookups(ctx)
	ln, ok, err := l.lineOn(sk.nip, s.Policy.Date(s.Handler.Now()))
	if err != nil || !ok {
		return CascadeTarget{}, err
	}
	out := CascadeTarget{AppraiserNIP: ln.Appraiser}
	target, err := l.cascadeTarget(ln.Appraiser, sk.year)
	if err != nil || target == nil {
		return out, err
	}
	v := target.version()
	out.SKPID, out.Version = target.id, v.Version
	for _, r := range v.RHK {
		r.Indicators = slices.Clone(r.Indicators)
		out.RHK = append(out.RHK, r)
	}
	return out, nil
}
