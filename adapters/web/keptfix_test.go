package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// stalledGroup is the Positions of read models projected in two agency
// groups of which one has stalled at the position it froze: a split
// projection's Checkpoint is the least of its groups' (it stands still),
// its Version the sum (it moves with the group that goes on), as
// pgreadmodel answers them.
type stalledGroup struct {
	positions
	frozen map[string]eventstore.Position
}

func (p stalledGroup) Checkpoint(ctx context.Context, name string) (eventstore.Position, error) {
	if f, ok := p.frozen[name]; ok {
		return f, nil
	}
	return p.positions.Checkpoint(ctx, name)
}

func (p stalledGroup) Version(ctx context.Context, name string) (int64, error) {
	cp, err := p.positions.Checkpoint(ctx, name)
	return int64(cp + p.frozen[name]), err
}

// With a stalled agency group the read models' checkpoints stand still
// while the other group writes: the kept start page and unit page lists
// must still show what it writes (they key on the versions).
func TestKeptListsMoveWithAGroupAhead(t *testing.T) {
	h := newHarness(t)
	st := h.seedAgency(40)
	frozen := map[string]eventstore.Position{}
	for _, n := range []string{directory.Name, skps.Name, evaluations.Name} {
		cp, err := h.model.Sink(n).Checkpoint(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		frozen[n] = cp
	}
	h.rebuild(func(c *app.Config) { c.Positions = stalledGroup{positions{h.model}, frozen} })
	hr := caller{st.Cast.HRAdmin, []string{"HR_ADMIN"}}
	home, unit := "/?year=2026", "/unit/"+st.AgencyUnit+"?year=2026"
	for _, p := range []string{home, unit} {
		if b := h.must200(hr, p).body; strings.Contains(b, `href="/skp/`) && strings.Contains(b, st.Cast.Employee) {
			t.Fatalf("%s lists an SKP of 2026 before any is drafted", p)
		}
	}
	if _, _, err := h.skps.Draft(h.ctx, req(caller{st.Cast.Employee, nil}), skp.Draft{NIP: st.Cast.Employee, Year: 2026, Approach: "KUANTITATIF"}); err != nil {
		t.Fatal(err)
	}
	h.catchUp()
	if cp, _ := h.app.Position(h.ctx, skps.Name); cp != frozen[skps.Name] {
		t.Fatalf("the SKPs' checkpoint moved (%d, frozen at %d): the test shows nothing", cp, frozen[skps.Name])
	}
	if l := homeSection.FindString(h.must200(hr, home).body); !strings.Contains(l, st.Cast.Employee) {
		t.Errorf("the start page's kept list misses the SKP a group ahead wrote: %.400s", l)
	}
	if l := unitList(t, h.must200(hr, unit).body); !strings.Contains(l, st.Cast.Employee) {
		t.Errorf("the unit page's kept list misses the SKP a group ahead wrote: %.400s", l)
	}
}

// A move into an agency counts from its effective date, with no event
// then: B's kept start page list takes the moved person's SKP in on the
// day, not when a read model next moves.
func TestHomeKeptListFollowsTheDate(t *testing.T) {
	h := seeded(t)
	for _, u := range []orgunit.Register{{ID: "PEMPROV", Name: "Pemerintah Provinsi"}, {ID: "DISDIK", Name: "Dinas Pendidikan", ParentID: "PEMPROV"}} {
		if _, err := h.units.Register(h.ctx, req(webHRB), u); err != nil {
			t.Fatal(err)
		}
	}
	today := h.app.Today()
	if _, err := h.emps.ReleaseTransfer(h.ctx, req(webHRA), employee.ReleaseTransfer{NIP: nipE, ToAgency: "PEMPROV",
		ExpiresOn: today.AddDays(30), DecreeRef: "800/12/BKPSDM"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.emps.ChangePosition(h.ctx, req(webHRB), employee.ChangePosition{NIP: nipE, UnitID: "DISDIK",
		Position: employee.Position{Kind: "PELAKSANA", Title: "Pengadministrasi"}, EffectiveFrom: today.AddDays(1)}); err != nil {
		t.Fatal(err)
	}
	h.catchUp()
	if r := h.must200(webHRB, "/?year=2026"); strings.Contains(r.body, h.ag.skpE) {
		t.Fatal("B's home lists the SKP of a person moving in tomorrow")
	}
	h.clock.Set(h.clock.Now().Add(24 * time.Hour))
	h.sessMu.Lock()
	h.sessions = map[string]*http.Cookie{}
	h.sessMu.Unlock()
	if r := h.must200(webHRB, "/?year=2026"); !strings.Contains(r.body, h.ag.skpE) {
		t.Error("B's kept home list does not take in the SKP of the person who moved in today")
	}
}
