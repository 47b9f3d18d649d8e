package employee_test

import (
	"context"
	"errors"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/domaintest"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/policy"
)

// TestOfficials: an official without a NIP is registered by HR and may be
// named as appraiser and appraiser's superior — the same official in both
// roles, as domain.md §2.1's table has it for senior posts; an employee
// with a NIP never may.
func TestOfficials(t *testing.T) {
	jan1 := calendar.MustNew(2026, 1, 1)
	tests := []struct {
		name      string
		official  *employee.RegisterOfficial
		req       func(*fixture) domain.Request
		line      *employee.AssignReportingLine
		wantErr   error
		wantField string
	}{
		{name: "the minister appraises and is the superior", line: &employee.AssignReportingLine{NIP: empS, AppraiserNIP: "official:MENKES", SuperiorNIP: "official:MENKES", EffectiveFrom: jan1}},
		{name: "the minister as superior of a NIP appraiser", line: &employee.AssignReportingLine{NIP: empE, AppraiserNIP: empS, SuperiorNIP: "official:MENKES", EffectiveFrom: jan1}},
		{name: "an unregistered official", line: &employee.AssignReportingLine{NIP: empS, AppraiserNIP: "official:MENDAGRI", SuperiorNIP: "official:MENKES", EffectiveFrom: jan1},
			wantErr: domain.ErrValidation, wantField: "appraiser_nip"},
		{name: "a malformed official identity", line: &employee.AssignReportingLine{NIP: empS, AppraiserNIP: "official:menkes ri", SuperiorNIP: "official:MENKES", EffectiveFrom: jan1},
			wantErr: domain.ErrValidation, wantField: "appraiser_nip"},
		{name: "an official is never the appraisee", line: &employee.AssignReportingLine{NIP: "official:MENKES", AppraiserNIP: empS, SuperiorNIP: empA, EffectiveFrom: jan1},
			wantErr: domain.ErrValidation, wantField: "nip"},
		{name: "a NIP in both roles stays refused", line: &employee.AssignReportingLine{NIP: empE, AppraiserNIP: empS, SuperiorNIP: empS, EffectiveFrom: jan1},
			wantErr: domain.ErrValidation, wantField: "appraiser_superior_nip"},
		{name: "registering the same official again", official: &employee.RegisterOfficial{ID: "MENKES", Kind: "MINISTER", Title: "Menteri Kesehatan"}, wantErr: domain.ErrConflict},
		{name: "an unknown office", official: &employee.RegisterOfficial{ID: "RAJA", Kind: "KING", Title: "Raja"}, wantErr: domain.ErrValidation, wantField: "kind"},
		{name: "a lower-case id", official: &employee.RegisterOfficial{ID: "menkes", Kind: "MINISTER", Title: "x"}, wantErr: domain.ErrValidation, wantField: "id"},
		{name: "not HR", official: &employee.RegisterOfficial{ID: "BUPATI-X", Kind: "REGENT", Title: "Bupati X"},
			req: func(f *fixture) domain.Request { return f.env.Request(empS) }, wantErr: domain.ErrForbidden},
		{name: "a regent registered", official: &employee.RegisterOfficial{ID: "BUPATI-X", Kind: "REGENT", Title: "Bupati X"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, policy.Default())
			ctx := context.Background()
			if _, err := f.emps.RegisterOfficial(ctx, f.hr(), employee.RegisterOfficial{ID: "MENKES", Kind: "MINISTER", Title: "Menteri Kesehatan"}); err != nil {
				t.Fatal(err)
			}
			req := f.hr()
			if tt.req != nil {
				req = tt.req(f)
			}
			var err error
			if tt.official != nil {
				_, err = f.emps.RegisterOfficial(ctx, req, *tt.official)
			} else {
				_, err = f.emps.AssignReportingLine(ctx, domaintest.MasterData(req, tt.line.EffectiveFrom), *tt.line)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || (tt.wantField != "" && fieldOf(err) != tt.wantField) {
					t.Fatalf("error = %v, want %v on %q", err, tt.wantErr, tt.wantField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.line != nil {
				e, _ := f.emps.Get(ctx, tt.line.NIP)
				if ln, ok := e.LineOn(jan1); !ok || ln.Appraiser != tt.line.AppraiserNIP || ln.Superior != tt.line.SuperiorNIP {
					t.Errorf("line = %+v", ln)
				}
			}
		})
	}
}
