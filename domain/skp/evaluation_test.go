package skp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/domaintest"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

func TestRate(t *testing.T) {
	const (
		atas   = "DI_ATAS_EKSPEKTASI"
		sesuai = "SESUAI_EKSPEKTASI"
		bawah  = "DI_BAWAH_EKSPEKTASI"
	)
	tests := []struct {
		name      string
		setup     func(f *fixture, id string)
		caller    func(f *fixture) domain.Request
		cmd       skp.Rate
		wantKind  string
		wantField string
		want      *skp.Scores
		wantNoOp  bool
	}{
		{name: "first rating derives the predikat", cmd: skp.Rate{Period: "2026", WorkResult: atas, Behaviour: atas, Rationale: "r"},
			want: &skp.Scores{WorkResult: atas, Behaviour: atas, Predikat: rating.SangatBaik}},
		{name: "behaviour below caps the predikat", cmd: skp.Rate{Period: "2026-Q1", WorkResult: atas, Behaviour: bawah, Rationale: "r"},
			want: &skp.Scores{WorkResult: atas, Behaviour: bawah, Predikat: rating.KurangMisconduct}},
		{name: "HR admin never rates", caller: func(f *fixture) domain.Request { return f.hr() },
			cmd: skp.Rate{Period: "2026", WorkResult: sesuai, Behaviour: sesuai, Rationale: "r"}, wantKind: "forbidden"},
		{name: "the superior does not rate", caller: func(f *fixture) domain.Request { return f.req(nipS) },
			cmd: skp.Rate{Period: "2026", WorkResult: sesuai, Behaviour: sesuai, Rationale: "r"}, wantKind: "forbidden"},
		{name: "the employee does not rate", caller: func(f *fixture) domain.Request { return f.req(nipE) },
			cmd: skp.Rate{Period: "2026", WorkResult: sesuai, Behaviour: sesuai, Rationale: "r"}, wantKind: "forbidden"},
		{name: "a period outside the SKP year", cmd: skp.Rate{Period: "2027", WorkResult: sesuai, Behaviour: sesuai, Rationale: "r"},
			wantKind: "validation", wantField: "period"},
		{name: "a month under the quarterly cadence", cmd: skp.Rate{Period: "2026-03", WorkResult: sesuai, Behaviour: sesuai, Rationale: "r"},
			wantKind: "validation", wantField: "period"},
		{name: "a predikat is not a rating", cmd: skp.Rate{Period: "2026", WorkResult: "BAIK", Behaviour: sesuai, Rationale: "r"},
			wantKind: "validation", wantField: "work_result"},
		{name: "missing behaviour", cmd: skp.Rate{Period: "2026", WorkResult: sesuai, Rationale: "r"},
			wantKind: "validation", wantField: "behaviour"},
		{name: "missing work result", cmd: skp.Rate{Period: "2026", Behaviour: sesuai, Rationale: "r"},
			wantKind: "validation", wantField: "work_result"},
		{name: "missing rationale", cmd: skp.Rate{Period: "2026", WorkResult: sesuai, Behaviour: sesuai},
			wantKind: "validation", wantField: "rationale"},
		{name: "replacing without a reason", setup: func(f *fixture, id string) { f.rate(id, "2026", sesuai, sesuai, "") },
			cmd: skp.Rate{Period: "2026", WorkResult: atas, Behaviour: sesuai, Rationale: "r"}, wantKind: "validation", wantField: "reason"},
		{name: "replacing with a reason", setup: func(f *fixture, id string) { f.rate(id, "2026", sesuai, sesuai, "") },
			cmd:  skp.Rate{Period: "2026", WorkResult: bawah, Behaviour: sesuai, Rationale: "r", Reason: "bukti baru"},
			want: &skp.Scores{WorkResult: bawah, Behaviour: sesuai, Predikat: rating.ButuhPerbaikan}},
		{name: "repeating the rating changes nothing", setup: func(f *fixture, id string) { f.rate(id, "2026", sesuai, sesuai, "") },
			cmd: skp.Rate{Period: "2026", WorkResult: sesuai, Behaviour: sesuai, Rationale: "sesuai bukti dukung"}, wantNoOp: true,
			want: &skp.Scores{WorkResult: sesuai, Behaviour: sesuai, Predikat: rating.Baik}},
		{name: "rating after issue", setup: func(f *fixture, id string) {
			f.rate(id, "2026", sesuai, sesuai, "")
			f.ok(f.skps.Issue(f.ctx, f.req(nipA), skp.Issue{SKPID: id, Period: "2026"}))
		}, cmd: skp.Rate{Period: "2026", WorkResult: atas, Behaviour: atas, Rationale: "r", Reason: "x"}, wantKind: "invalid_state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			id, _, _ := f.establishedE()
			f.after("2026")
			if tt.setup != nil {
				tt.setup(f, id)
			}
			req := f.req(nipA)
			if tt.caller != nil {
				req = tt.caller(f)
			}
			tt.cmd.SKPID = id
			c, err := f.skps.Rate(f.ctx, req, tt.cmd)
			expect(t, err, tt.wantKind, tt.wantField)
			if tt.want == nil {
				return
			}
			if got := len(c.Events) == 0; got != tt.wantNoOp {
				t.Errorf("no-op = %v, want %v", got, tt.wantNoOp)
			}
			ev := f.evaluation(id, tt.cmd.Period)
			if diff := cmp.Diff(*tt.want, ev.Scores); diff != "" {
				t.Errorf("scores mismatch (-want +got):\n%s", diff)
			}
			if ev.Status != skp.EvalDraft {
				t.Errorf("status = %s, want DRAFT", ev.Status)
			}
		})
	}
}

func TestRateBeforeEstablishment(t *testing.T) {
	f := newFixture(t)
	id, _, _ := f.draftedE()
	_, err := f.skps.Rate(f.ctx, f.req(nipA), skp.Rate{SKPID: id, Period: "2026", WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "r"})
	expect(t, err, "invalid_state", "")
}

func TestRevisionRecordsOldAndNew(t *testing.T) {
	f := newFixture(t)
	id, _, _ := f.establishedE()
	f.rate(id, "2026", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI", "")
	f.env.Clock.Advance(time.Hour)
	f.rate(id, "2026", "DI_ATAS_EKSPEKTASI", "DI_ATAS_EKSPEKTASI", "capaian melampaui target")
	h := f.evaluation(id, "2026").History
	if len(h) != 2 {
		t.Fatalf("history has %d entries, want 2", len(h))
	}
	first, second := h[0], h[1]
	if !first.Superseded || second.Superseded {
		t.Errorf("superseded = %v, %v; want true, false", first.Superseded, second.Superseded)
	}
	wantPrev := skp.Scores{WorkResult: rating.MeetsExpectation, Behaviour: rating.MeetsExpectation, Predikat: rating.Baik}
	if second.Previous == nil || *second.Previous != wantPrev || second.Source != skp.SourceAppraiser ||
		second.Reason != "capaian melampaui target" || second.Actor.ID != nipA || second.SupersedesEventID != first.EventID {
		t.Errorf("revision entry = %+v, want previous %+v, source APPRAISER, the reason, actor A, superseding %s", second, wantPrev, first.EventID)
	}
	if second.Predikat != rating.SangatBaik {
		t.Errorf("predikat = %s, want SANGAT_BAIK", second.Predikat)
	}
	// The envelope carries the reason the rules required.
	events, _, _, err := f.env.Log.Load(f.ctx, domain.SKPStream(id))
	if err != nil {
		t.Fatal(err)
	}
	last := events[len(events)-1]
	if _, ok := last.Event.(skp.RatingRevised); !ok || last.Meta.Reason != "capaian melampaui target" || last.Meta.Actor.Role != domain.RoleAppraiser {
		t.Errorf("last event = %T with meta %+v, want a revision with the reason in the envelope", last.Event, last.Meta)
	}
}

func TestUnitHeadRating(t *testing.T) {
	// A heads DINKES; A's SKP is rated by S. The work result follows the
	// organisation predikat of DINKES through the policy's mapping.
	tests := []struct {
		name       string
		org        string
		workResult string
		wantKind   string
		want       rating.Rating
	}{
		{name: "no organisation predikat yet", workResult: "SESUAI_EKSPEKTASI", wantKind: "invalid_state"},
		{name: "ISTIMEWA, derived", org: "ISTIMEWA", want: rating.AboveExpectation},
		{name: "BAIK, derived", org: "BAIK", want: rating.MeetsExpectation},
		{name: "BAIK, matching", org: "BAIK", workResult: "SESUAI_EKSPEKTASI", want: rating.MeetsExpectation},
		{name: "BAIK, contradicting", org: "BAIK", workResult: "DI_ATAS_EKSPEKTASI", wantKind: "validation"},
		{name: "BUTUH_PERBAIKAN", org: "BUTUH_PERBAIKAN", want: rating.BelowExpectation},
		{name: "KURANG", org: "KURANG", want: rating.BelowExpectation},
		{name: "SANGAT_KURANG", org: "SANGAT_KURANG", want: rating.BelowExpectation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.ok(f.units.AssignHead(f.ctx, domaintest.MasterData(f.hr(), jan1), orgunit.AssignHead{UnitID: "DINKES", HeadNIP: nipA, EffectiveFrom: jan1}))
			if tt.org != "" {
				f.ok(f.units.RatePerformance(f.ctx, f.hr(), orgunit.RatePerformance{UnitID: "DINKES", Period: "2026", Predikat: tt.org, PaperRef: "BA-PREDIKAT-2026"}))
			}
			f.after("2026")
			_, err := f.skps.Rate(f.ctx, f.req(nipS), skp.Rate{SKPID: f.skpA, Period: "2026", WorkResult: tt.workResult,
				Behaviour: "DI_ATAS_EKSPEKTASI", Rationale: "r"})
			expect(t, err, tt.wantKind, "")
			if tt.wantKind != "" {
				return
			}
			ev := f.evaluation(f.skpA, "2026")
			if ev.WorkResult != tt.want || ev.UnitHead == nil || ev.UnitHead.UnitID != "DINKES" || string(ev.UnitHead.OrgPredikat) != tt.org {
				t.Errorf("evaluation = %s with basis %+v, want %s from DINKES %s", ev.WorkResult, ev.UnitHead, tt.want, tt.org)
			}
			if ev.Predikat != rating.Derive(tt.want, rating.AboveExpectation) {
				t.Errorf("predikat = %s, want the matrix value", ev.Predikat)
			}
		})
	}
}

func TestRequireOrgPredikat(t *testing.T) {
	f := newFixture(t, func(p *policy.Policy) { p.RequireOrgPredikat = true })
	id, _, _ := f.establishedE()
	f.after("2026-Q1")
	_, err := f.skps.Rate(f.ctx, f.req(nipA), skp.Rate{SKPID: id, Period: "2026-Q1", WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "r"})
	expect(t, err, "invalid_state", "")
	f.ok(f.units.RatePerformance(f.ctx, f.hr(), orgunit.RatePerformance{UnitID: "DINKES", Period: "2026-Q1", Predikat: "BAIK", PaperRef: "BA-PREDIKAT-2026"}))
	f.rate(id, "2026-Q1", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI", "")
}

func TestIssue(t *testing.T) {
	tests := []struct {
		name      string
		pol       func(*policy.Policy)
		rate      string // period rated before issuing ("" for none)
		caller    string
		req       func(f *fixture) domain.Request // overrides caller
		cmd       func(f *fixture) skp.Issue
		wantKind  string
		wantField string
		// wantDeadline is the deadline in WIB, "" for none.
		wantDeadline string
		wantStatus   skp.EvaluationStatus
	}{
		{name: "annual, delivered now", rate: "2026", cmd: func(f *fixture) skp.Issue { return skp.Issue{Period: "2026"} },
			wantDeadline: "2027-01-18T23:59:59+07:00", wantStatus: skp.EvalIssued},
		{name: "annual, delivered earlier", rate: "2026", cmd: func(f *fixture) skp.Issue {
			return skp.Issue{Period: "2026", DeliveredAt: f.env.Clock.Now().Add(-5 * time.Minute)}
		}, wantDeadline: "2027-01-18T23:59:59+07:00", wantStatus: skp.EvalIssued},
		{name: "working-day window", pol: func(p *policy.Policy) { p.ObjectionWorkingDays = true }, rate: "2026",
			cmd: func(f *fixture) skp.Issue { return skp.Issue{Period: "2026"} }, wantDeadline: "2027-01-22T23:59:59+07:00", wantStatus: skp.EvalIssued},
		{name: "quarterly is final on issue by default", rate: "2026-Q1", cmd: func(f *fixture) skp.Issue { return skp.Issue{Period: "2026-Q1"} },
			wantStatus: skp.EvalFinal},
		{name: "quarterly with periodic objections allowed", pol: func(p *policy.Policy) { p.PeriodicObjections = true }, rate: "2026-Q1",
			cmd: func(f *fixture) skp.Issue { return skp.Issue{Period: "2026-Q1"} }, wantDeadline: "2027-01-18T23:59:59+07:00", wantStatus: skp.EvalIssued},
		{name: "delivered in the future", rate: "2026", cmd: func(f *fixture) skp.Issue {
			return skp.Issue{Period: "2026", DeliveredAt: f.env.Clock.Now().Add(time.Minute)}
		}, wantKind: "validation", wantField: "delivered_at"},
		{name: "delivered before the rating", rate: "2026", cmd: func(f *fixture) skp.Issue {
			return skp.Issue{Period: "2026", DeliveredAt: f.env.Clock.Now().Add(-48 * time.Hour)}
		}, wantKind: "validation", wantField: "delivered_at"},
		{name: "not rated", cmd: func(f *fixture) skp.Issue { return skp.Issue{Period: "2026"} }, wantKind: "not_found"},
		{name: "by the employee", rate: "2026", caller: nipE, cmd: func(f *fixture) skp.Issue { return skp.Issue{Period: "2026"} }, wantKind: "forbidden"},
		{name: "by HR admin", rate: "2026", caller: hrAdmin, cmd: func(f *fixture) skp.Issue { return skp.Issue{Period: "2026"} }, wantKind: "forbidden"},
		{name: "delivered the tolerance back", rate: "2026", cmd: func(f *fixture) skp.Issue {
			return skp.Issue{Period: "2026", DeliveredAt: f.env.Clock.Now().Add(-10 * time.Minute)}
		}, wantDeadline: "2027-01-18T23:59:59+07:00", wantStatus: skp.EvalIssued},
		{name: "delivered the tolerance and a second back", rate: "2026", cmd: func(f *fixture) skp.Issue {
			return skp.Issue{Period: "2026", DeliveredAt: f.env.Clock.Now().Add(-10*time.Minute - time.Second)}
		}, wantKind: "validation", wantField: "delivered_at"},
		{name: "the appraiser may not backfill a delivery", rate: "2026",
			req: func(f *fixture) domain.Request { return f.paper(nipA, "BA 1/2026") },
			cmd: func(f *fixture) skp.Issue { return skp.Issue{Period: "2026"} }, wantKind: "forbidden"},
		{name: "a clerk backfills a paper delivery for the appraiser", rate: "2026",
			req: func(f *fixture) domain.Request {
				r := f.paper(clerk, "BA penyerahan 1/2026", domain.RoleGrievanceClerk)
				r.Backfill.OnBehalfOf = nipA
				return r
			},
			cmd: func(f *fixture) skp.Issue {
				return skp.Issue{Period: "2026", DeliveredAt: f.env.Clock.Now().Add(-5 * time.Minute)}
			}, wantDeadline: "2027-01-18T23:59:59+07:00", wantStatus: skp.EvalIssued},
		{name: "a clerk's backfill names the signer", rate: "2026",
			req:      func(f *fixture) domain.Request { return f.paper(clerk, "BA 2/2026", domain.RoleGrievanceClerk) },
			cmd:      func(f *fixture) skp.Issue { return skp.Issue{Period: "2026"} },
			wantKind: "validation", wantField: "on_behalf_of"},
		{name: "a clerk's backfill for one who was not the appraiser", rate: "2026",
			req: func(f *fixture) domain.Request {
				r := f.paper(clerk, "BA 3/2026", domain.RoleGrievanceClerk)
				r.Backfill.OnBehalfOf = nipB
				return r
			},
			cmd: func(f *fixture) skp.Issue { return skp.Issue{Period: "2026"} }, wantKind: "forbidden"},
		{name: "a clerk does not issue without paper", rate: "2026",
			req: func(f *fixture) domain.Request { return f.req(clerk, domain.RoleGrievanceClerk) },
			cmd: func(f *fixture) skp.Issue { return skp.Issue{Period: "2026"} }, wantKind: "forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var change []func(*policy.Policy)
			if tt.pol != nil {
				change = append(change, tt.pol)
			}
			f := newFixture(t, change...)
			id, _, _ := f.establishedE()
			f.at(annualAt)
			if tt.rate != "" {
				f.rate(id, tt.rate, "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI", "")
			}
			f.env.Clock.Advance(10 * time.Minute)
			cmd := tt.cmd(f)
			cmd.SKPID = id
			caller := nipA
			if tt.caller != "" {
				caller = tt.caller
			}
			req := f.req(caller)
			if caller == hrAdmin {
				req = f.hr()
			}
			if tt.req != nil {
				req = tt.req(f)
			}
			_, err := f.skps.Issue(f.ctx, req, cmd)
			expect(t, err, tt.wantKind, tt.wantField)
			if tt.wantKind != "" {
				return
			}
			ev := f.evaluation(id, cmd.Period)
			var deadline string
			if ev.ObjectionDeadline != nil {
				deadline = ev.ObjectionDeadline.In(wib).Format(time.RFC3339)
			}
			if deadline != tt.wantDeadline || ev.Status != tt.wantStatus || ev.DeliveredAt == nil {
				t.Errorf("deadline %q status %s delivered %v; want %q %s", deadline, ev.Status, ev.DeliveredAt, tt.wantDeadline, tt.wantStatus)
			}
			if b := req.Backfill; (b == nil) != (ev.DeliveryBackfill == nil) || (b != nil && (ev.DeliveryBackfill.PaperRef != b.PaperRef ||
				ev.DeliveryBackfill.RecordedBy != clerk || ev.DeliveryBackfill.OnBehalfOf != nipA)) {
				t.Errorf("delivery backfill = %+v, want the request's paper %+v", ev.DeliveryBackfill, b)
			}
			_, err = f.skps.Issue(f.ctx, req, cmd)
			expect(t, err, "invalid_state", "")
		})
	}
}

// A delivery dated long before the issue no longer makes the evaluation
// final at once: only a clerk's backfill from paper may date it back, and
// at most the maximum age.
func TestDeliveryDating(t *testing.T) {
	f := newFixture(t)
	id, _, _ := f.establishedE()
	f.rate(id, "2026", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI", "")
	rated := f.env.Clock.Now()
	f.env.Clock.Advance(100 * 24 * time.Hour)
	_, err := f.skps.Issue(f.ctx, f.req(nipA), skp.Issue{SKPID: id, Period: "2026", DeliveredAt: rated.Add(time.Hour)})
	expect(t, err, "validation", "delivered_at")
	backfill := func(ref string) domain.Request {
		r := f.paper(clerk, ref, domain.RoleGrievanceClerk)
		r.Backfill.OnBehalfOf = nipA
		return r
	}
	// The paper is older than the maximum age (90 days): refused.
	_, err = f.skps.Issue(f.ctx, backfill("BA 9/2026"), skp.Issue{SKPID: id, Period: "2026", DeliveredAt: f.env.Clock.Now().Add(-90*24*time.Hour - time.Second)})
	expect(t, err, "validation", "delivered_at")
	f.ok(f.skps.Issue(f.ctx, backfill("BA 9/2026"), skp.Issue{SKPID: id, Period: "2026", DeliveredAt: f.env.Clock.Now().Add(-90 * 24 * time.Hour)}))
	// The paper says the result was delivered 90 days ago: its window ran
	// from then, and an acknowledgement does not move it.
	ev := f.evaluation(id, "2026")
	if ev.Status != skp.EvalFinal || ev.DeliveryBackfill == nil {
		t.Fatalf("backfilled delivery 90 days ago: %+v", ev)
	}
	_, err = f.skps.AcknowledgeReceipt(f.ctx, f.req(nipE), skp.AcknowledgeReceipt{SKPID: id, Period: "2026"})
	expect(t, err, "invalid_state", "")
}

// The objection window runs from the later of the delivery and the
// employee's acknowledgement of receipt (domain.md §10).
func TestAcknowledgeReceipt(t *testing.T) {
	f := newFixture(t)
	id := f.issuedE("SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI") // delivered 5 January: deadline 19 January
	ack := func(req domain.Request, at time.Time) error {
		_, err := f.skps.AcknowledgeReceipt(f.ctx, req, skp.AcknowledgeReceipt{SKPID: id, Period: "2026", ReceivedAt: at})
		return err
	}
	f.env.Clock.Set(time.Date(2027, 1, 7, 9, 0, 0, 0, wib))
	expect(t, ack(f.req(nipA), time.Time{}), "forbidden", "")
	expect(t, ack(f.req(clerk, domain.RoleGrievanceClerk), time.Time{}), "forbidden", "")
	expect(t, ack(f.paper(nipE, "tanda terima"), time.Time{}), "forbidden", "")
	expect(t, ack(f.req(nipE), f.env.Clock.Now().Add(-11*time.Minute)), "validation", "received_at")
	expect(t, ack(f.req(nipE), f.env.Clock.Now().Add(time.Second)), "validation", "received_at")
	_, err := f.skps.AcknowledgeReceipt(f.ctx, f.req(nipE), skp.AcknowledgeReceipt{SKPID: id, Period: "2026-Q2"})
	expect(t, err, "not_found", "")
	if err := ack(f.req(nipE), time.Time{}); err != nil {
		t.Fatal(err)
	}
	ev := f.evaluation(id, "2026")
	if got := ev.ObjectionDeadline.In(wib).Format(time.RFC3339); got != "2027-01-21T23:59:59+07:00" || ev.ReceivedAt == nil {
		t.Fatalf("after a receipt on 8 January: deadline %s, received %v; want 22 January", got, ev.ReceivedAt)
	}
	// Again: nothing changes.
	rev := f.view(id).Revision
	if err := ack(f.req(nipE), time.Time{}); err != nil || f.view(id).Revision != rev {
		t.Fatalf("a second acknowledgement: %v, revision %d → %d", err, rev, f.view(id).Revision)
	}
	// On 22 January (the 14th day after receipt) the employee still files.
	f.env.Clock.Set(time.Date(2027, 1, 21, 23, 0, 0, 0, wib))
	if err := f.file(id, f.req(nipE), time.Time{}); err != nil {
		t.Fatalf("filing on the 14th day after receipt: %v", err)
	}
}

// A clerk backfills a paper acknowledgement; it moves the window only
// forward, and never after the window closed.
func TestAcknowledgeReceiptBackfill(t *testing.T) {
	f := newFixture(t)
	id := f.issuedE("SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI")
	f.env.Clock.Set(time.Date(2027, 1, 11, 9, 0, 0, 0, wib))
	req := f.paper(clerk, "Tanda terima 4/2026", domain.RoleGrievanceClerk)
	req.Backfill.OnBehalfOf = nipB
	_, err := f.skps.AcknowledgeReceipt(f.ctx, req, skp.AcknowledgeReceipt{SKPID: id, Period: "2026", ReceivedAt: time.Date(2027, 1, 5, 9, 0, 0, 0, wib)})
	expect(t, err, "validation", "on_behalf_of")
	req.Backfill.OnBehalfOf = ""
	f.ok(f.skps.AcknowledgeReceipt(f.ctx, req, skp.AcknowledgeReceipt{SKPID: id, Period: "2026", ReceivedAt: time.Date(2027, 1, 5, 9, 0, 0, 0, wib)}))
	ev := f.evaluation(id, "2026")
	if got := ev.ObjectionDeadline.In(wib).Format(time.RFC3339); got != "2027-01-19T23:59:59+07:00" || ev.ReceiptBackfill == nil || ev.ReceiptBackfill.OnBehalfOf != nipE {
		t.Fatalf("after a paper receipt of 6 January: deadline %s, backfill %+v", got, ev.ReceiptBackfill)
	}
	// A receipt after the window closed reopens nothing.
	g := newFixture(t)
	id = g.issuedE("SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI")
	g.env.Clock.Set(time.Date(2027, 1, 19, 0, 0, 0, 0, wib))
	_, err = g.skps.AcknowledgeReceipt(g.ctx, g.req(nipE), skp.AcknowledgeReceipt{SKPID: id, Period: "2026"})
	expect(t, err, "invalid_state", "")
}

func TestFinality(t *testing.T) {
	f := newFixture(t)
	id := f.issuedE("SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI")
	_, err := f.skps.Finalise(f.ctx, f.req(nipE), skp.Finalise{SKPID: id, Period: "2026"})
	expect(t, err, "invalid_state", "")
	// The last second of the 14th day: still open.
	f.env.Clock.Set(time.Date(2027, 1, 18, 23, 59, 59, 0, wib))
	if st := f.evaluation(id, "2026").Status; st != skp.EvalIssued {
		t.Fatalf("status on the last second = %s, want ISSUED", st)
	}
	f.env.Clock.Set(time.Date(2027, 1, 19, 0, 0, 0, 0, wib))
	ev := f.evaluation(id, "2026")
	if ev.Status != skp.EvalFinal || ev.FinalReason != skp.WindowElapsed {
		t.Fatalf("status after the window = %s (%s), want FINAL (WINDOW_ELAPSED)", ev.Status, ev.FinalReason)
	}
	_, err = f.skps.Finalise(f.ctx, f.req(nipX), skp.Finalise{SKPID: id, Period: "2026"})
	expect(t, err, "not_found", "")
	c, err := f.skps.Finalise(f.ctx, f.req(nipE), skp.Finalise{SKPID: id, Period: "2026"})
	if err != nil || len(c.Events) != 1 {
		t.Fatalf("Finalise = %d events, %v; want one event", len(c.Events), err)
	}
	c, err = f.skps.Finalise(f.ctx, f.hr(), skp.Finalise{SKPID: id, Period: "2026"})
	if err != nil || len(c.Events) != 0 {
		t.Errorf("second Finalise = %d events, %v; want a no-op", len(c.Events), err)
	}
	// A final annual evaluation ends the SKP's life: no cancellation.
	_, err = f.skps.Cancel(f.ctx, f.hr(), skp.Cancel{SKPID: id, Reason: "x"})
	expect(t, err, "invalid_state", "")
}

func TestReadAsOf(t *testing.T) {
	f := newFixture(t)
	id, _, _ := f.establishedE()
	f.rate(id, "2026", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI", "")
	rev := f.view(id).Revision
	recorded := f.env.Clock.Now()
	f.env.Clock.Advance(time.Hour)
	f.rate(id, "2026", "DI_ATAS_EKSPEKTASI", "SESUAI_EKSPEKTASI", "koreksi")
	auditorP := domain.Principal{ID: auditor, Roles: []domain.Role{domain.RoleAuditor}}
	tests := []struct {
		name string
		asOf skp.AsOf
		want rating.Rating
	}{
		{name: "now", want: rating.AboveExpectation},
		{name: "by revision", asOf: skp.AsOf{Revision: &rev}, want: rating.MeetsExpectation},
		{name: "by recorded time", asOf: skp.AsOf{RecordedAt: recorded}, want: rating.MeetsExpectation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := f.skps.Read(f.ctx, auditorP, id, tt.asOf)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Evaluations[0].WorkResult; got != tt.want {
				t.Errorf("work result = %s, want %s", got, tt.want)
			}
		})
	}
	early := time.Date(2025, 1, 1, 0, 0, 0, 0, wib)
	_, err := f.skps.Read(f.ctx, auditorP, id, skp.AsOf{RecordedAt: early})
	expect(t, err, "not_found", "")
}

func TestReadVisibility(t *testing.T) {
	f := newFixture(t)
	id, _, _ := f.establishedE()
	f.rate(id, "2026", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI", "")
	tests := []struct {
		name            string
		caller          domain.Principal
		readKind        string
		historyKind     string
		wantHistoryRows int
	}{
		{name: "employee", caller: domain.Principal{ID: nipE}, wantHistoryRows: 1},
		{name: "appraiser", caller: domain.Principal{ID: nipA}, wantHistoryRows: 1},
		{name: "superior", caller: domain.Principal{ID: nipS}, wantHistoryRows: 1},
		{name: "auditor", caller: domain.Principal{ID: auditor, Roles: []domain.Role{domain.RoleAuditor}}, wantHistoryRows: 1},
		{name: "HR admin reads but not the history", caller: domain.Principal{ID: hrAdmin, Roles: []domain.Role{domain.RoleHRAdmin}}, historyKind: "forbidden"},
		{name: "HR analyst reads but not the history", caller: domain.Principal{ID: "an", Roles: []domain.Role{domain.RoleHRAnalyst}}, historyKind: "forbidden"},
		{name: "peer sees nothing", caller: domain.Principal{ID: nipP}, readKind: "not_found", historyKind: "not_found"},
		{name: "outsider sees nothing", caller: domain.Principal{ID: nipX}, readKind: "not_found", historyKind: "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.skps.Read(f.ctx, tt.caller, id, skp.AsOf{})
			expect(t, err, tt.readKind, "")
			h, err := f.skps.ScoreHistory(f.ctx, tt.caller, id)
			expect(t, err, tt.historyKind, "")
			if len(h) != tt.wantHistoryRows {
				t.Errorf("history rows = %d, want %d", len(h), tt.wantHistoryRows)
			}
		})
	}
	// After a new reporting line, the former appraiser still reads what they rated.
	f.line(nipE, nipB, nipS, calendar.MustNew(2026, 12, 1))
	if _, err := f.skps.Read(f.ctx, domain.Principal{ID: nipA}, id, skp.AsOf{}); err != nil {
		t.Errorf("former appraiser read: %v", err)
	}
	if _, err := f.skps.Read(f.ctx, domain.Principal{ID: nipB}, id, skp.AsOf{}); err != nil {
		t.Errorf("new appraiser read: %v", err)
	}
}

// Business dates never run backwards within an SKP (domain.md §10):
// submit ≤ establish ≤ rating ≤ delivery, explanations ≤ decision. Each
// rule is reachable within the tolerance, and refused naming it.
func TestBusinessDateOrder(t *testing.T) {
	back := func(f *fixture, caller string, d time.Duration) domain.Request {
		r := f.req(caller)
		r.OccurredAt = f.env.Clock.Now().Add(-d)
		return r
	}
	t.Run("establish before submit", func(t *testing.T) {
		f := newFixture(t)
		id, _, _ := f.draftedE()
		f.env.Clock.Advance(time.Hour)
		f.ok(f.skps.Submit(f.ctx, f.req(nipE), skp.Submit{SKPID: id}))
		f.env.Clock.Advance(5 * time.Minute)
		_, err := f.skps.Establish(f.ctx, back(f, nipA, 5*time.Minute+time.Second), skp.Establish{SKPID: id})
		expect(t, err, "validation", "occurred_at")
		if err == nil || !strings.Contains(err.Error(), "submit ≤ establish") {
			t.Errorf("error %v does not name the rule", err)
		}
		f.ok(f.skps.Establish(f.ctx, back(f, nipA, 5*time.Minute), skp.Establish{SKPID: id}))
	})
	t.Run("rating before establishment", func(t *testing.T) {
		// Established late, after the year ended, so that only the
		// establishment is in the way of the rating.
		f := newFixture(t)
		f.at(annualAt)
		id, _, _ := f.establishedE()
		f.env.Clock.Advance(3 * time.Minute)
		_, err := f.skps.Rate(f.ctx, back(f, nipA, 3*time.Minute+time.Second), skp.Rate{SKPID: id, Period: "2026", WorkResult: "SESUAI_EKSPEKTASI",
			Behaviour: "SESUAI_EKSPEKTASI", Rationale: "x"})
		expect(t, err, "validation", "occurred_at")
		if err == nil || !strings.Contains(err.Error(), "establish ≤ rating") {
			t.Errorf("error %v does not name the rule", err)
		}
	})
	t.Run("delivery before rating", func(t *testing.T) {
		f := newFixture(t)
		id, _, _ := f.establishedE()
		f.env.Clock.Advance(time.Hour)
		f.rate(id, "2026", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI", "")
		f.env.Clock.Advance(2 * time.Minute)
		_, err := f.skps.Issue(f.ctx, f.req(nipA), skp.Issue{SKPID: id, Period: "2026", DeliveredAt: f.env.Clock.Now().Add(-2*time.Minute - time.Second)})
		expect(t, err, "validation", "delivered_at")
		if err == nil || !strings.Contains(err.Error(), "rating ≤ delivery") {
			t.Errorf("error %v does not name the rule", err)
		}
	})
	t.Run("decision before explanations", func(t *testing.T) {
		f := newFixture(t)
		id := f.issuedE("SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI")
		if err := f.file(id, f.req(nipE), time.Time{}); err != nil {
			t.Fatal(err)
		}
		f.ask(id, "APPRAISER")
		f.ask(id, "EMPLOYEE")
		f.env.Clock.Advance(time.Hour)
		f.ok(f.skps.SubmitExplanation(f.ctx, f.req(nipE), skp.SubmitExplanation{SKPID: id, Period: "2026", Text: "bukti terlampir"}))
		f.env.Clock.Advance(4 * time.Minute)
		decide := skp.DecideObjection{SKPID: id, Period: "2026", Outcome: "UPHELD", DecisionText: "sudah sesuai"}
		_, err := f.skps.DecideObjection(f.ctx, back(f, nipS, 4*time.Minute+time.Second), decide)
		expect(t, err, "validation", "occurred_at")
		if err == nil || !strings.Contains(err.Error(), "explanations ≤ decision") {
			t.Errorf("error %v does not name the rule", err)
		}
		f.ok(f.skps.DecideObjection(f.ctx, back(f, nipS, 4*time.Minute), decide))
	})
}

// An SKP closed for a position change mid-period is evaluated for the
// months served (issue 11 "Timing"): the close opens that evaluation, by
// the appraiser of the last day served, with the objection procedure; a
// period not served stays closed.
func TestClosedSKPIsEvaluatedForTheMonthsServed(t *testing.T) {
	f := newFixture(t)
	id, _, _ := f.establishedE()
	f.env.Clock.Set(time.Date(2026, 5, 4, 9, 0, 0, 0, wib))
	f.ok(f.skps.Close(f.ctx, f.hr(), skp.Close{SKPID: id, EffectiveFrom: calendar.MustNew(2026, 5, 1), Reason: "mutasi ke Bappeda"}))
	// E's new post has a new appraiser (B) from 1 May.
	f.line(nipE, nipB, nipU, calendar.MustNew(2026, 5, 1))
	rate := func(who, p string) error {
		_, err := f.skps.Rate(f.ctx, f.req(who), skp.Rate{SKPID: id, Period: p, WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "bulan dijalani"})
		return err
	}
	expect(t, rate(nipA, "2026-Q3"), "invalid_state", "")
	expect(t, rate(nipB, "2026"), "forbidden", "")
	if err := rate(nipA, "2026-Q2"); err != nil {
		t.Fatalf("Q2 (April served): %v", err)
	}
	if err := rate(nipA, "2026"); err != nil {
		t.Fatalf("the annual evaluation of the months served: %v", err)
	}
	f.ok(f.skps.Issue(f.ctx, f.req(nipA), skp.Issue{SKPID: id, Period: "2026"}))
	if err := f.file(id, f.req(nipE), time.Time{}); err != nil {
		t.Fatalf("objection to the served months: %v", err)
	}
	ev := f.evaluation(id, "2026")
	if ev.Status != skp.EvalUnderObjection || ev.Objection.AddressedTo != nipS {
		t.Fatalf("evaluation %s, objection addressed to %s; want UNDER_OBJECTION to S (the superior of the last day served)", ev.Status, ev.Objection.AddressedTo)
	}
	f.ask(id, "APPRAISER")
	f.ask(id, "EMPLOYEE")
	f.ok(f.skps.DecideObjection(f.ctx, f.req(nipS), skp.DecideObjection{SKPID: id, Period: "2026", Outcome: "UPHELD", DecisionText: "sesuai"}))
	_, _, err := f.skps.RecordRealisation(f.ctx, f.req(nipE), skp.RecordRealisation{SKPID: id, Period: "2026-Q2", IndicatorID: "x", Value: 1})
	expect(t, err, "invalid_state", "")
}
