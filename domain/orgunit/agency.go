package orgunit

import (
	"context"

	"github.com/kinerja-ledger/kinerja/domain"
)

// maxDepth bounds the walk up the unit tree (a tree deeper than this is
// not an organisation; it also stops a corrupt cycle).
const maxDepth = 64

// AgencyOf returns the agency (instansi) of unit id: the ID of the root of
// its tree, as recorded in the units' streams. Units are never
// re-parented, so a unit's agency never changes. It returns "" when id is
// not a registered unit (docs/domain-model.md, "Agencies").
func AgencyOf(ctx context.Context, h *domain.Handler, id string) (string, error) {
	for range maxDepth {
		if !ValidID(id) {
			return "", nil
		}
		st, err := h.Load(ctx, domain.UnitStream(id))
		if err != nil {
			return "", err
		}
		u := Replay(st.Events)
		if u == nil {
			return "", nil
		}
		if u.Parent() == "" {
			return id, nil
		}
		id = u.Parent()
	}
	return "", nil
}

// Agencies returns the agencies of the given units, without repeats or
// "" (for use as authz.Subject.Agencies).
func Agencies(ctx context.Context, h *domain.Handler, units ...string) ([]string, error) {
	var out []string
	for _, u := range units {
		if u == "" {
			continue
		}
		a, err := AgencyOf(ctx, h, u)
		if err != nil {
			return nil, err
		}
		if a != "" && !contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
