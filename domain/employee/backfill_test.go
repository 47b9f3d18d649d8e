package employee_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/bizdate"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/policy"
)

// Issue 9 §3: an effective date before the recording day is a backfill of
// master data: HR_ADMIN only, with the decree's paper_ref, at most the
// maximum age back; a date at most a year ahead. Each act with an
// effective date (a reporting line, a post change, a unit head) obeys it,
// and a backfill records its paper in the event.
func TestMasterDataBackfill(t *testing.T) {
	today := calendar.MustNew(2026, 6, 10)
	midnight := today.Start(policy.WIB)
	noon := midnight.Add(12 * time.Hour)
	maxAge := bizdate.DefaultMaxAge
	ptr := func(s string) *string { return &s }
	tests := []struct {
		name   string
		now    time.Time
		from   calendar.Date
		paper  *string // paper_ref, nil for none
		roles  []domain.Role
		want   error  // a kind of error, or nil
		field  string // the field a validation error names
		filled bool   // the event records a backfill
	}{
		{name: "today", now: noon, from: today},
		{name: "tomorrow", now: noon, from: today.AddDays(1)},
		{name: "a year ahead less a day", now: midnight, from: today.AddDays(365)},
		{name: "366 days ahead exactly", now: midnight, from: today.AddDays(366)},
		{name: "367 days ahead", now: midnight, from: today.AddDays(367), want: domain.ErrValidation, field: "effective_from"},
		{name: "yesterday, the tolerance after midnight exactly", now: midnight.Add(bizdate.DefaultTolerance), from: today.AddDays(-1)},
		{name: "yesterday, 1s beyond the tolerance, no paper", now: midnight.Add(bizdate.DefaultTolerance + time.Second), from: today.AddDays(-1),
			want: domain.ErrValidation, field: "paper_ref"},
		{name: "a year back without paper: the retroactive authority of §3", now: noon, from: today.AddDays(-365), want: domain.ErrValidation, field: "paper_ref"},
		{name: "yesterday, backfilled", now: noon, from: today.AddDays(-1), paper: ptr("SK 821.2/77/2026"), filled: true},
		{name: "max age exactly since the day ended", now: today.AddDays(-89).Start(policy.WIB).Add(maxAge), from: today.AddDays(-90),
			paper: ptr("SK 821.2/78/2026"), filled: true},
		{name: "max age plus 1s", now: today.AddDays(-89).Start(policy.WIB).Add(maxAge + time.Second), from: today.AddDays(-90),
			paper: ptr("SK 821.2/78/2026"), want: domain.ErrValidation, field: "effective_from"},
		{name: "a year back with paper: beyond the max age", now: noon, from: today.AddDays(-365), paper: ptr("SK 1"), want: domain.ErrValidation, field: "effective_from"},
		{name: "paper on today's date: not a backfill", now: noon, from: today, paper: ptr("SK 2"), want: domain.ErrValidation, field: "paper_ref"},
		{name: "empty paper_ref", now: noon, from: today.AddDays(-3), paper: ptr(""), want: domain.ErrValidation, field: "paper_ref"},
		{name: "paper_ref with a control character", now: noon, from: today.AddDays(-3), paper: ptr("SK\x00 3"), want: domain.ErrValidation, field: "paper_ref"},
		{name: "paper_ref with a line feed", now: noon, from: today.AddDays(-3), paper: ptr("SK\n3"), want: domain.ErrValidation, field: "paper_ref"},
		{name: "paper_ref over 200 bytes", now: noon, from: today.AddDays(-3), paper: ptr(strings.Repeat("é", 101)), want: domain.ErrValidation, field: "paper_ref"},
		{name: "paper_ref of 200 bytes", now: noon, from: today.AddDays(-3), paper: ptr(strings.Repeat("7", 200)), filled: true},
		{name: "a grievance clerk may not backfill master data", now: noon, from: today.AddDays(-3), paper: ptr("SK 4"),
			roles: []domain.Role{domain.RoleGrievanceClerk}, want: domain.ErrForbidden},
		{name: "an auditor may not backfill, even without paper", now: noon, from: today.AddDays(-3),
			roles: []domain.Role{domain.RoleAuditor}, want: domain.ErrForbidden},
		{name: "the wrong role hears 403 before the missing paper", now: noon, from: today.AddDays(-365),
			roles: []domain.Role{domain.RoleEmployee}, want: domain.ErrForbidden},
	}
	acts := []struct {
		name string
		run  func(f *fixture, req domain.Request, from calendar.Date) (domain.Committed, error)
		// paper returns the backfill the act's event records.
		paper func(domain.Event) *bizdate.Backfill
	}{
		{"reporting line", func(f *fixture, req domain.Request, from calendar.Date) (domain.Committed, error) {
			return f.emps.AssignReportingLine(context.Background(), req, employee.AssignReportingLine{NIP: empE, AppraiserNIP: empA, SuperiorNIP: empS, EffectiveFrom: from})
		}, func(e domain.Event) *bizdate.Backfill { return e.(employee.ReportingLineAssigned).Backfill }},
		{"post change", func(f *fixture, req domain.Request, from calendar.Date) (domain.Committed, error) {
			return f.emps.ChangePosition(context.Background(), req, employee.ChangePosition{NIP: empE, UnitID: "PEMKOT", EffectiveFrom: from,
				Position: employee.Position{Kind: employee.Pengawas, Title: "Kepala Subbagian"}})
		}, func(e domain.Event) *bizdate.Backfill { return e.(employee.PositionChanged).Backfill }},
		{"unit head", func(f *fixture, req domain.Request, from calendar.Date) (domain.Committed, error) {
			return f.units.AssignHead(context.Background(), req, orgunit.AssignHead{UnitID: "DINKES", HeadNIP: empS, EffectiveFrom: from})
		}, func(e domain.Event) *bizdate.Backfill { return e.(orgunit.HeadAssigned).Backfill }},
	}
	for _, act := range acts {
		for _, tt := range tests {
			t.Run(act.name+"/"+tt.name, func(t *testing.T) {
				f := setup(t, policy.Default())
				f.env.Clock.Set(tt.now)
				roles := tt.roles
				if roles == nil {
					roles = []domain.Role{domain.RoleHRAdmin}
				}
				req := f.env.Request("hr-admin", roles...)
				if tt.paper != nil {
					req.Backfill = &domain.BackfillRequest{PaperRef: *tt.paper}
				}
				before := f.env.Log.Len()
				c, err := act.run(f, req, tt.from)
				if tt.want != nil {
					if !errors.Is(err, tt.want) {
						t.Fatalf("error = %v, want %v", err, tt.want)
					}
					if tt.field != "" && fieldOf(err) != tt.field {
						t.Fatalf("field = %q, want %q (%v)", fieldOf(err), tt.field, err)
					}
					if f.env.Log.Len() != before {
						t.Fatal("a refused act appended events")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(c.Events) != 1 {
					t.Fatalf("%d events", len(c.Events))
				}
				got := act.paper(c.Events[0].Event)
				switch {
				case !tt.filled && got != nil:
					t.Errorf("an ordinary act records a backfill %+v", got)
				case tt.filled && (got == nil || got.PaperRef != *tt.paper || got.RecordedBy != "hr-admin"):
					t.Errorf("backfill = %+v, want the paper %q recorded by hr-admin", got, *tt.paper)
				case tt.filled && !strings.Contains(c.Events[0].Meta.Reason, *tt.paper):
					t.Errorf("envelope reason %q does not name the paper", c.Events[0].Meta.Reason)
				}
			})
		}
	}
}

// Repeating a backfilled assignment is a no-op, not a 403 (the handler
// refuses a backfill the decider did not accept).
func TestMasterDataBackfillRepeated(t *testing.T) {
	f := setup(t, policy.Default())
	from := calendar.MustNew(2026, 1, 1)
	req := f.hr()
	req.Backfill = &domain.BackfillRequest{PaperRef: "SK 800/1/2026"}
	cmd := employee.AssignReportingLine{NIP: empE, AppraiserNIP: empA, SuperiorNIP: empS, EffectiveFrom: from}
	for i := range 2 {
		c, err := f.emps.AssignReportingLine(context.Background(), req, cmd)
		if err != nil || len(c.Events) != 1-i {
			t.Fatalf("attempt %d: %d events, %v", i, len(c.Events), err)
		}
	}
	e, err := f.emps.Get(context.Background(), empE)
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := e.LineOn(from); !ok || l.Backfill == nil || l.Backfill.PaperRef != "SK 800/1/2026" {
		t.Fatalf("line %+v does not show its backfill", l)
	}
}

// Names refuse bidirectional overrides and isolates (issue 9, trust
// items): the employee's name, a post's title, an official's title, a
// unit's name at registration and at a correction. Nothing is recorded.
func TestNamesRefuseBidiControls(t *testing.T) {
	f := setup(t, policy.Default())
	ctx := context.Background()
	spoof := "Budi \u202eotnaS" // shows as "Budi Santo" reversed
	pos := employee.Position{Kind: employee.Pelaksana, Title: "Staf"}
	before := f.env.Log.Len()
	for name, run := range map[string]func() (string, error){
		"employee name": func() (string, error) {
			_, err := f.emps.Register(ctx, f.hr(), employee.Register{NIP: empX, Name: spoof, UnitID: "DINKES", Position: pos})
			return "name", err
		},
		"post title at registration": func() (string, error) {
			_, err := f.emps.Register(ctx, f.hr(), employee.Register{NIP: empX, Name: "Budi", UnitID: "DINKES",
				Position: employee.Position{Kind: employee.Pelaksana, Title: "Staf\u2066x\u2069"}})
			return "position.title", err
		},
		"post title at a change": func() (string, error) {
			_, err := f.emps.ChangePosition(ctx, f.hr(), employee.ChangePosition{NIP: empE, UnitID: "DINKES", EffectiveFrom: calendar.MustNew(2026, 2, 1),
				Position: employee.Position{Kind: employee.Pelaksana, Title: "\u202aStaf"}})
			return "position.title", err
		},
		"official title": func() (string, error) {
			_, err := f.emps.RegisterOfficial(ctx, f.hr(), employee.RegisterOfficial{ID: "MENKES", Kind: string(employee.Minister), Title: "Menteri\u2067", UnitID: "DINKES"})
			return "title", err
		},
		"unit name": func() (string, error) {
			_, err := f.units.Register(ctx, f.hr(), orgunit.Register{ID: "X1", Name: "Dinas\u202d"})
			return "name", err
		},
		"unit rename": func() (string, error) {
			_, err := f.units.Rename(ctx, f.hr(), orgunit.Rename{UnitID: "DINKES", Name: "Dinas\u202c"})
			return "name", err
		},
	} {
		want, err := run()
		if !errors.Is(err, domain.ErrValidation) || fieldOf(err) != want || !strings.Contains(err.Error(), "bidirectional") {
			t.Errorf("%s: error = %v, want a bidirectional problem on %s", name, err, want)
		}
	}
	if f.env.Log.Len() != before {
		t.Error("a refused name was recorded")
	}
}
