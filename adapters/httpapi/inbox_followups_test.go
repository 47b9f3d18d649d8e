package httpapi

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/deadlinestore"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

// newInboxHarnessWith is newInboxHarness with the harness's settings
// changed.
func newInboxHarnessWith(t testing.TB, change ...func(*settings)) *inboxHarness {
	b, err := deadlinestore.OpenBolt(filepath.Join(t.TempDir(), "deadlines.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	h := newHarness(t, append(change, func(s *settings) { s.appConfig.Inbox = b })...)
	return &inboxHarness{harness: h, sink: deadlines.NewSink(b, deadlines.NewProjection(projections.StoreHistory{Store: h.store}, 0, deadlines.DefaultSettings(policy.Default())))}
}

func itemOf(p InboxPage, k deadlines.Kind) (int, bool) {
	for i, it := range p.Items {
		if it.Kind == k {
			return i, true
		}
	}
	return -1, false
}

// GET /v1/inbox: an amendment waits for the employee's signature from its
// opening; acknowledging the plan ends the wait, and an edit of the plan
// after it (which voids the signature) brings it back under the same
// firing, so the reminder is not sent twice.
func TestInboxAmendedPlanAPI(t *testing.T) {
	h := newInboxHarness(t)
	h.cast()
	_, rhkA := h.establishedA()
	id, rhkE, _ := h.establishedE(rhkA)
	if _, ok := itemOf(h.inbox(empE, ""), deadlines.SignAmendedPlan); ok {
		t.Fatal("a signature waits before any amendment")
	}
	h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+id+"/amendment", ActionBody{common{Reason: "penugasan baru"}})
	p := h.inbox(empE, "")
	i, ok := itemOf(p, deadlines.SignAmendedPlan)
	if !ok || p.Items[i].SKPID != id || p.Items[i].RecipientRole != "EMPLOYEE" || p.Items[i].DaysLeft != 7 {
		t.Fatalf("E's inbox after the amendment: %v %+v", kindsOf(p), p.Items)
	}
	first := p.Items[i].FireID()
	if _, ok := itemOf(h.inbox(apprA, ""), deadlines.SignAmendedPlan); ok {
		t.Error("the appraiser is asked for the employee's signature")
	}
	// Someone else cannot sign; the item stays.
	h.refused(http.StatusForbidden, "forbidden", &apprA, "POST", "/v1/skps/"+id+"/plan-acknowledgement", nil)
	h.must(http.StatusOK, empE, "POST", "/v1/skps/"+id+"/plan-acknowledgement", nil)
	h.must(http.StatusOK, empE, "POST", "/v1/skps/"+id+"/plan-acknowledgement", nil) // again: nothing more
	if _, ok := itemOf(h.inbox(empE, ""), deadlines.SignAmendedPlan); ok {
		t.Fatal("the signed plan still waits")
	}
	h.must(http.StatusOK, empE, "PUT", "/v1/skps/"+id+"/rhk/"+rhkE, RHKBody{Text: "Terlaksananya imunisasi di 6 puskesmas", Kind: "UTAMA", IntervenedRHKID: rhkA})
	p = h.inbox(empE, "")
	if i, ok := itemOf(p, deadlines.SignAmendedPlan); !ok || p.Items[i].FireID() != first {
		t.Errorf("after an edit voiding the signature: %v (same firing: %v)", kindsOf(p), ok && p.Items[i].FireID() == first)
	}
}

// GET /v1/inbox in BLOCK mode: the issue refused lists the distribution
// for the head of PEMKOT (the leader one level up of DINKES) alone, until
// the justification; nothing of it in WARN mode.
func TestInboxDistributionAPI(t *testing.T) {
	for _, mode := range []string{"BLOCK", "WARN"} {
		t.Run(mode, func(t *testing.T) {
			var change []func(*settings)
			if mode == "BLOCK" {
				change = append(change, blockMode)
			}
			h := newInboxHarnessWith(t, change...)
			h.cast()
			_, rhkA := h.establishedA()
			idE, _, _ := h.establishedE(rhkA)
			h.must(http.StatusOK, hr, "PUT", "/v1/units/DINKES/performance/2026", RateUnitBody{Predikat: "BAIK", PaperRef: "BA-PREDIKAT-2026"})
			h.must(http.StatusOK, hr, "PUT", "/v1/units/PEMKOT/head", AssignHeadBody{common: decreed(), HeadNIP: nipS, EffectiveFrom: mustDate("2026-01-01")})
			h.clock.Set(time.Date(2027, 1, 6, 10, 0, 0, 0, time.UTC))
			h.must(http.StatusOK, apprA, "PUT", "/v1/skps/"+idE+"/evaluations/2026", RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Baik"})
			if mode == "WARN" {
				h.catchUp()
				if _, ok := itemOf(h.inbox(supS, ""), deadlines.JustifyDistribution); ok {
					t.Fatal("WARN mode: a distribution waits for a justification")
				}
				return
			}
			h.refused(http.StatusUnprocessableEntity, "distribution_blocked", &apprA, "POST", "/v1/skps/"+idE+"/evaluations/2026/issue", nil)
			h.catchUp()
			p := h.inbox(supS, "")
			i, ok := itemOf(p, deadlines.JustifyDistribution)
			if !ok {
				t.Fatalf("S's inbox lacks the distribution: %v", kindsOf(p))
			}
			if it := p.Items[i]; it.UnitID != "DINKES" || it.Period != "2026" || it.SKPID != "" || it.Recipient != nipS || it.RecipientRole != "UNIT_LEADER" || it.Name != "Dinas Kesehatan" {
				t.Errorf("the item: %+v", it)
			}
			for _, who := range []caller{apprA, empE, hr, {nipT, nil}} {
				if _, ok := itemOf(h.inbox(who, ""), deadlines.JustifyDistribution); ok {
					t.Errorf("%s is asked for the justification", who.sub)
				}
			}
			h.must(http.StatusCreated, supS, "POST", "/v1/units/DINKES/distribution/2026/justifications",
				JustifyDistributionBody{Counts: map[rating.Predikat]int{rating.Baik: 1}, Justification: "Unit kecil; satu pegawai dinilai."})
			h.catchUp()
			if _, ok := itemOf(h.inbox(supS, ""), deadlines.JustifyDistribution); ok {
				t.Error("a justified distribution still waits")
			}
			h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+idE+"/evaluations/2026/issue", nil)
		})
	}
}

// BenchmarkInbox: GET /v1/inbox for the head of a generated agency's root
// unit, in WARN mode (the process manager's items only) and in BLOCK mode,
// where app.Inbox also computes the distributions to justify of every
// unit the head leads one level up (Population and Distribution per unit
// and period with an organisation predikat) at each read.
// KINERJA_BENCH_EMPLOYEES sets the agency's size (default 60).
func BenchmarkInbox(b *testing.B) {
	n := 60
	if v, err := strconv.Atoi(os.Getenv("KINERJA_BENCH_EMPLOYEES")); err == nil && v > 0 {
		n = v
	}
	for _, mode := range []string{"WARN", "BLOCK"} {
		b.Run(mode, func(b *testing.B) {
			var change []func(*settings)
			if mode == "BLOCK" {
				change = append(change, blockMode)
			}
			h := newInboxHarnessWith(b, change...)
			st := h.seedAgency(n)
			head := caller{st.Cast.Head, nil}
			p := h.inbox(head, "") // catches the process manager up
			for b.Loop() {
				h.must(http.StatusOK, head, "GET", "/v1/inbox", nil)
			}
			b.ReportMetric(float64(st.Units), "units")
			b.ReportMetric(float64(len(p.Items)), "items")
		})
	}
}
