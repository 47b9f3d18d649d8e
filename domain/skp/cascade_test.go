package skp_test

import (
	"errors"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
)

// The employee sees the RHK of the appraiser's established SKP to cascade
// from, without the right to read that SKP; others may not ask.
func TestCascadeTarget(t *testing.T) {
	f := newFixture(t)
	id, _ := f.draft(nipE)
	ct, err := f.skps.CascadeTarget(f.ctx, f.req(nipE).Caller, id)
	if err != nil {
		t.Fatal(err)
	}
	if ct.AppraiserNIP != nipA || ct.SKPID != f.skpA || ct.Version != 1 || len(ct.RHK) != 1 || ct.RHK[0].ID != f.rhkA {
		t.Errorf("cascade target = %+v", ct)
	}
	// The appraiser may read E's SKP but not edit its plan; an outsider
	// may not even know it exists.
	if _, err := f.skps.CascadeTarget(f.ctx, f.req(nipA).Caller, id); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("as the appraiser: %v, want forbidden", err)
	}
	if _, err := f.skps.CascadeTarget(f.ctx, f.req(nipX).Caller, id); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("as an outsider: %v, want not found", err)
	}
	if _, err := f.skps.CascadeTarget(f.ctx, f.req(nipE).Caller, "nope"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("an unknown SKP: %v, want not found", err)
	}
	// S's appraiser T has no SKP: nothing to cascade from yet.
	ids, _ := f.draft(nipS)
	ct, err = f.skps.CascadeTarget(f.ctx, f.req(nipS).Caller, ids)
	if err != nil || ct.AppraiserNIP != nipT || ct.SKPID != "" || len(ct.RHK) != 0 {
		t.Errorf("without the appraiser's SKP: %+v, %v", ct, err)
	}
}
