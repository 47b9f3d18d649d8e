package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/app/seed"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

// seedAgency records a generated agency of n people (package seed: a
// whole appraisal year through the domain services, as the API and the
// dashboard would) for the year before the harness's clock, which it
// moves to the agency's now, and catches the read models up.
func (h *harness) seedAgency(n int) seed.Stats {
	h.t.Helper()
	h.clock.Set(seed.EndOf(2025, policy.WIB).Add(time.Hour))
	st, err := seed.Run(context.Background(), seed.Config{Employees: n, Seed: 7, Year: 2025}, h.srv.app.Services(context.Background()))
	if err != nil {
		h.t.Fatalf("seed: %v", err)
	}
	h.catchUp()
	return st
}

// listAll pages through GET /v1/skps as who.
func (h *harness) listAll(who caller, query string) []string {
	h.t.Helper()
	var ids []string
	cursor := ""
	for {
		q := "/v1/skps?limit=100" + query
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		var page SKPPage
		h.must(http.StatusOK, who, "GET", q, nil).decode(h.t, &page)
		for _, s := range page.Items {
			ids = append(ids, s.ID)
		}
		if page.NextCursor == nil {
			return ids
		}
		cursor = *page.NextCursor
	}
}

// Over a whole generated agency, what each person may see through the API
// is what authz says: the HR and audit roles list every SKP, each employee
// the SKPs they are a party to (and can open each), nobody another's; the
// reports count the agency as the generator recorded it; and the audit
// trail of it all verifies.
func TestSeededAgency(t *testing.T) {
	h := newHarness(t)
	st := h.seedAgency(60)
	cast := st.Cast
	hrAdm := caller{cast.HRAdmin, []string{"HR_ADMIN"}}
	clerkC := caller{cast.Clerk, []string{"GRIEVANCE_CLERK"}}

	all := h.listAll(hrAdm, "")
	if len(all) != st.SKPs {
		t.Fatalf("HR_ADMIN lists %d SKPs, the agency has %d", len(all), st.SKPs)
	}
	if got := h.listAll(aud, ""); !slices.Equal(got, all) {
		t.Errorf("AUDITOR lists %d SKPs, HR_ADMIN %d", len(got), len(all))
	}
	for _, who := range []string{cast.Employee, cast.Appraiser, cast.Superior, cast.Head} {
		c := caller{who, nil}
		mine := h.listAll(c, "")
		if len(mine) == 0 || len(mine) >= len(all) {
			t.Errorf("%s lists %d of %d SKPs", who, len(mine), len(all))
		}
		for _, id := range mine {
			h.must(http.StatusOK, c, "GET", "/v1/skps/"+id, nil)
		}
		// Some SKP of the agency the person is no party to: as if it did
		// not exist.
		for _, id := range all {
			if !slices.Contains(mine, id) {
				h.refused(http.StatusNotFound, "not_found", &c, "GET", "/v1/skps/"+id, nil)
				break
			}
		}
	}
	// The employee's own list holds their own SKP.
	if mine := h.listAll(caller{cast.Employee, nil}, "&nip="+cast.Employee); len(mine) != 1 {
		t.Errorf("the employee's own SKPs of the year: %v", mine)
	}

	// Reports: the whole agency, counted as recorded.
	var prog reports.ProgressReport
	h.must(http.StatusOK, hrAdm, "GET", "/v1/reports/progress?unit="+st.AgencyUnit+"&year=2025", nil).decode(t, &prog)
	if prog.Total.Employees != st.Employees || prog.Total.SKPs != st.SKPs || prog.Total.Late != st.Late {
		t.Errorf("progress of the agency = %d employees, %d SKPs, %d late; the seed recorded %d, %d, %d",
			prog.Total.Employees, prog.Total.SKPs, prog.Total.Late, st.Employees, st.SKPs, st.Late)
	}
	h.refused(http.StatusForbidden, "forbidden", &caller{cast.Employee, nil}, "GET", "/v1/reports/progress?unit="+st.AgencyUnit, nil)
	var reg ObjectionList
	h.must(http.StatusOK, clerkC, "GET", "/v1/objections", nil).decode(t, &reg)
	open := 0
	for _, o := range reg.Items {
		if o.Status == "OPEN" {
			open++
		}
	}
	if len(reg.Items) != st.Objections || open != st.Open {
		t.Errorf("the register holds %d objections, %d open; the seed filed %d, %d open", len(reg.Items), open, st.Objections, st.Open)
	}
	for _, o := range cast.Objectors {
		h.refused(http.StatusForbidden, "forbidden", &caller{o, nil}, "GET", "/v1/objections", nil)
	}

	// The trail of the whole year verifies.
	h.sign()
	var rep audit.Report
	h.must(http.StatusOK, aud, "POST", "/v1/audit/verify", nil).decode(t, &rep)
	if !rep.OK || rep.Checked != uint64(st.Events)+1 {
		t.Errorf("verification = ok %v, %d checked (problems %v); the seed appended %d events and one checkpoint", rep.OK, rep.Checked, rep.Problems, st.Events)
	}
}
