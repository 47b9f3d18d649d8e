package skp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"pgregory.net/rapid"
)

var (
	wita = time.FixedZone("WITA", 8*60*60)
	wit  = time.FixedZone("WIT", 9*60*60)
)

// A period is rated only after it ends (issue 11 Timing): the first
// instant on which its evaluation may be rated is 00:00 of the day after
// its last day in the agency's zone. The annual period and the last
// quarter open together.
func TestRateOnlyAfterThePeriodEnds(t *testing.T) {
	tests := []struct {
		name   string
		zone   *time.Location // the policy's zone (WIB when nil)
		period string
		at     time.Time
		wantOK bool
	}{
		{name: "annual on its last second (WIB)", period: "2026", at: time.Date(2026, 12, 31, 23, 59, 59, 0, wib)},
		{name: "annual at 00:00 the next day (WIB)", period: "2026", at: time.Date(2027, 1, 1, 0, 0, 0, 0, wib), wantOK: true},
		{name: "Q4 on its last second", period: "2026-Q4", at: time.Date(2026, 12, 31, 23, 59, 59, 0, wib)},
		{name: "Q4 opens with the year", period: "2026-Q4", at: time.Date(2027, 1, 1, 0, 0, 0, 0, wib), wantOK: true},
		{name: "Q1 on 31 March 23:59:59", period: "2026-Q1", at: time.Date(2026, 3, 31, 23, 59, 59, 0, wib)},
		{name: "Q1 on 1 April 00:00", period: "2026-Q1", at: time.Date(2026, 4, 1, 0, 0, 0, 0, wib), wantOK: true},
		{name: "Q2 while it runs", period: "2026-Q2", at: time.Date(2026, 5, 15, 9, 0, 0, 0, wib)},
		{name: "the annual period in mid-year", period: "2026", at: time.Date(2026, 7, 1, 9, 0, 0, 0, wib)},
		{name: "a WITA agency: 00:00 WITA is still 31 December in WIB", zone: wita, period: "2026",
			at: time.Date(2027, 1, 1, 0, 0, 0, 0, wita), wantOK: true},
		{name: "a WITA agency: 23:59:59 WITA on the last day", zone: wita, period: "2026",
			at: time.Date(2026, 12, 31, 23, 59, 59, 0, wita)},
		{name: "a WIB agency: 00:00 WITA is 23:00 WIB on the last day", period: "2026",
			at: time.Date(2027, 1, 1, 0, 0, 0, 0, wita)},
		{name: "a WIT agency: 00:00 WIT on 1 April", zone: wit, period: "2026-Q1",
			at: time.Date(2026, 4, 1, 0, 0, 0, 0, wit), wantOK: true},
		{name: "a WIT agency: 23:59:59 WIT on 31 March", zone: wit, period: "2026-Q1",
			at: time.Date(2026, 3, 31, 23, 59, 59, 0, wit)},
		{name: "a WIT agency: 07:00 WIB on 1 April is 09:00 WIT", zone: wit, period: "2026-Q1",
			at: time.Date(2026, 4, 1, 7, 0, 0, 0, wib), wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(p *policy.Policy) {
				if tt.zone != nil {
					p.Location = tt.zone
				}
			})
			id, _, _ := f.establishedE()
			f.env.Clock.Set(tt.at)
			before := f.view(id).Revision
			_, err := f.skps.Rate(f.ctx, f.req(nipA), skp.Rate{SKPID: id, Period: tt.period, WorkResult: "SESUAI_EKSPEKTASI",
				Behaviour: "SESUAI_EKSPEKTASI", Rationale: "r"})
			if tt.wantOK {
				if err != nil {
					t.Fatalf("rate: %v", err)
				}
				return
			}
			expect(t, err, "validation", "period")
			if !strings.Contains(err.Error(), tt.period+" ends on ") || !strings.Contains(err.Error(), "only after it ends") {
				t.Errorf("error %q does not name the period and its end", err)
			}
			if f.view(id).Revision != before {
				t.Error("a refused rating wrote")
			}
		})
	}
}

// A delivery is refused before the period ends, even a clerk's backfill
// from paper dated back to before its last day had passed.
func TestIssueOnlyAfterThePeriodEnds(t *testing.T) {
	f := newFixture(t)
	id, _, _ := f.establishedE()
	f.rate(id, "2026-Q1", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI", "") // 1 April, 09:00
	f.env.Clock.Set(time.Date(2026, 4, 20, 9, 0, 0, 0, wib))
	backfill := func(delivered time.Time) error {
		r := f.paper(clerk, "BA 4/2026", domain.RoleGrievanceClerk)
		r.Backfill.OnBehalfOf = nipA
		_, err := f.skps.Issue(f.ctx, r, skp.Issue{SKPID: id, Period: "2026-Q1", DeliveredAt: delivered})
		return err
	}
	expect(t, backfill(time.Date(2026, 3, 31, 23, 59, 59, 0, wib)), "validation", "period")
	f.ok(domain.Committed{}, backfill(time.Date(2026, 4, 1, 9, 0, 0, 0, wib)))
}

// An SKP closed for a position change is rated for the months served from
// the first day in the new post, not before, even while the period runs;
// a close recorded ahead of its effective date does not open it early.
func TestClosedSKPOpensOnTheFirstDayInTheNewPost(t *testing.T) {
	f := newFixture(t)
	id, _, _ := f.establishedE()
	f.env.Clock.Set(time.Date(2026, 5, 20, 9, 0, 0, 0, wib))
	f.ok(f.skps.Close(f.ctx, f.hr(), skp.Close{SKPID: id, EffectiveFrom: calendar.MustNew(2026, 6, 1), Reason: "mutasi ke Bappeda"}))
	rate := func(p string) error {
		_, err := f.skps.Rate(f.ctx, f.req(nipA), skp.Rate{SKPID: id, Period: p, WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "bulan dijalani"})
		return err
	}
	f.env.Clock.Set(time.Date(2026, 5, 31, 23, 59, 59, 0, wib))
	err := rate("2026-Q2")
	expect(t, err, "validation", "period")
	if err == nil || !strings.Contains(err.Error(), "2026-06-01") {
		t.Errorf("error %v does not name the first day in the new post", err)
	}
	f.env.Clock.Set(time.Date(2026, 6, 1, 0, 0, 0, 0, wib))
	if err := rate("2026-Q2"); err != nil {
		t.Fatalf("Q2 from the first day in the new post: %v", err)
	}
	if err := rate("2026"); err != nil {
		t.Fatalf("the annual evaluation of the months served: %v", err)
	}
	if got := skp.EvaluationOpens(nil, period.MustParse("2026-Q2")); got != calendar.MustNew(2026, 7, 1) {
		t.Errorf("an open SKP's Q2 opens on %s, want 2026-07-01", got)
	}
}

// Property (issue 11 Timing): for any period of the year, any zone of the
// three and any instant of 2026-2027, a rating is accepted exactly when the
// instant's date in the agency's zone is after the period's last day, and a
// refused rating writes nothing.
func TestRatingOpensExactlyAfterThePeriodEnds(t *testing.T) {
	periods := []string{"2026", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"}
	zones := []*time.Location{wib, wita, wit}
	lo, hi := time.Date(2026, 1, 6, 0, 0, 0, 0, time.UTC).Unix(), time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC).Unix()
	rapid.Check(t, func(t *rapid.T) {
		zone := rapid.SampledFrom(zones).Draw(t, "zone")
		p := rapid.SampledFrom(periods).Draw(t, "period")
		// Near a period's end half of the time: the boundary is the case.
		var at time.Time
		if rapid.Bool().Draw(t, "near") {
			end := period.MustParse(rapid.SampledFrom(periods).Draw(t, "end of")).End().AddDays(1)
			at = time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, zone).Add(time.Duration(rapid.Int64Range(-3600, 3600).Draw(t, "seconds")) * time.Second)
		} else {
			at = time.Unix(rapid.Int64Range(lo, hi).Draw(t, "unix"), 0)
		}
		f := newFixture(t, func(pol *policy.Policy) { pol.Location = zone })
		id, _, _ := f.establishedE()
		f.env.Clock.Set(at)
		before := f.view(id).Revision
		_, err := f.skps.Rate(f.ctx, f.req(nipA), skp.Rate{SKPID: id, Period: p, WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "r"})
		want := calendar.Of(at, zone).After(period.MustParse(p).End())
		if (err == nil) != want {
			t.Fatalf("rating %s at %s (%s): err %v, want accepted %v", p, at.In(zone), zone, err, want)
		}
		if err != nil && (field(err) != "period" || f.view(id).Revision != before) {
			t.Fatalf("refused with %v, field %q, revision %d → %d", err, field(err), before, f.view(id).Revision)
		}
	})
}
