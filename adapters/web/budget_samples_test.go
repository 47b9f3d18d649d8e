package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/app/document"
	"github.com/kinerja-ledger/kinerja/adapters/app/seed"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/objections"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// budgetSample is a set of path parameters for the budget walk and the
// callers who open the pages they fill, in turn (none: the walk's people).
type budgetSample struct {
	params map[string]string
	who    []*caller
}

// planLinks find the edit links of a plan page: an RHK's form, the form
// of a new indicator of that RHK, an indicator's form.
var (
	rhkLink       = regexp.MustCompile(`href="/skp/[^"/]+/rencana/rhk/([^"/?#]+)"`)
	indicatorLink = regexp.MustCompile(`href="/skp/[^"/]+/rencana/indikator/([^"/?#]+)"`)
)

// budgetYear is the year the walk's agency is seeded for (seedAgency).
const budgetYear = 2025

// budgetImportRows is the size of the import the walk uploads: as many
// rows as a job page lists recorded (maxRowsShown of package imports),
// with budgetImportRefused refused rows after them.
const (
	budgetImportRows    = 200
	budgetImportRefused = 20
)

// budgetImportCSV is an employees file for the seeded agency: rows new
// employees of unit appraised by appraiser, and refused rows after them
// (an NIP mangled by a spreadsheet, and an unknown unit, in turn).
func budgetImportCSV(unit, appraiser string, rows, refused int) []byte {
	var b strings.Builder
	b.WriteString("\ufeffNIP;Nama;Jenis Jabatan;Nama Jabatan;ID Unit;NIP Pejabat Penilai;TMT\n")
	for i := range rows + refused {
		// Born 1996-MM-DD, appointed 2021-03, gender 1 or 2, sequence i.
		nip := fmt.Sprintf("1996%02d%02d202103%d%03d", 1+i%12, 1+i%28, 1+i%2, i%1000)
		u := unit
		if i >= rows {
			if i%2 == 0 {
				nip = "1,99501E+17"
			} else {
				u = "UNIT-TIDAK-ADA"
			}
		}
		fmt.Fprintf(&b, "%s;Pegawai Impor %d;PELAKSANA;Pengadministrasi Umum;%s;%s;2026-01-02\n", nip, i, u, appraiser)
	}
	return []byte(b.String())
}

// budgetSamples finds, in the seeded agency st, or makes through the
// application's commands, the samples that open the pages no SKP or unit
// of the cast opens (issue 13's budget covers every page):
//   - an SKP left in DRAFT with its plan, as its employee: an RHK's form,
//     the form of a new indicator of it, an indicator's form;
//   - a 360° round of a submitted SKP, established and the round opened
//     by its appraiser with the employee invited as SELF: the answer
//     form, as the employee;
//   - a development action of the cast employee's SKP (own) planned by
//     the appraiser: its outcome form;
//   - an objection left open, as the appraiser's superior it is
//     addressed to: the request for explanations and the decision;
//   - an import (a dry run of budgetImportRows rows) uploaded by HR: its
//     job page;
//   - the code of the SKP printed: the public verification page;
//   - the agency's distribution for the year, as its head (the leader of
//     a unit without a parent): the justification form.
func budgetSamples(t *testing.T, h *harness, st seed.Stats, own string) []budgetSample {
	t.Helper()
	ctx := h.ctx
	cast := st.Cast
	year := fmt.Sprint(budgetYear)
	hr := &caller{cast.HRAdmin, []string{"HR_ADMIN"}}
	emp, appr := &caller{cast.Employee, nil}, &caller{cast.Appraiser, nil}
	var out []budgetSample

	// A draft with an RHK that has an indicator.
	drafts, _, err := h.model.SKPs().List(ctx, skps.Query{Status: string(skp.StatusDraft), Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range drafts {
		owner := &caller{d.NIP, nil}
		r := h.get(owner, "/skp/"+d.ID+"/rencana")
		rhk, ind := rhkLink.FindStringSubmatch(r.body), indicatorLink.FindStringSubmatch(r.body)
		if r.status != http.StatusOK || rhk == nil || ind == nil {
			continue
		}
		out = append(out, budgetSample{params: map[string]string{"id": d.ID, "rhk": rhk[1], "ind": ind[1]}, who: []*caller{owner}})
		break
	}
	if len(out) == 0 {
		t.Errorf("none of the %d draft SKPs has an RHK with an indicator its employee may edit", len(drafts))
	}

	// A 360° round. Every period of the seed's established SKPs is issued
	// by now, so an SKP the seed left SUBMITTED is established by its
	// appraiser, who opens a round of its last quarter with the employee
	// invited as SELF; the answer form opens for the employee.
	submitted, _, err := h.model.SKPs().List(ctx, skps.Query{Status: string(skp.StatusSubmitted), Year: budgetYear, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var round string
	var tried []string
	for _, s := range submitted {
		appraiser := caller{s.AppraiserNIP, nil}
		_, err := h.skps.Establish(ctx, req(appraiser), skp.Establish{SKPID: s.ID})
		if err == nil {
			round, _, err = h.skps.OpenFeedbackRound(ctx, req(appraiser), skp.OpenFeedbackRound{SKPID: s.ID, Period: year + "-Q4",
				Invitees: []skp.RoundInvitee{{NIP: s.NIP, Group: skp.GroupSelf}}})
		}
		if err == nil {
			out = append(out, budgetSample{params: map[string]string{"id": s.ID, "round": round}, who: []*caller{{s.NIP, nil}}})
			break
		}
		if len(tried) < 3 {
			tried = append(tried, s.ID+": "+err.Error())
		}
	}
	if round == "" {
		t.Errorf("no 360° round opens on any of the %d submitted SKPs: %s", len(submitted), strings.Join(tried, "; "))
	}
	// A development action.
	action, _, err := h.skps.PlanDevelopment(ctx, req(*appr), skp.PlanDevelopment{SKPID: own, Kind: "TRAINING",
		Title: "Pelatihan analisis kebijakan", DueDate: h.clock.Now().AddDate(0, 3, 0).Format(time.DateOnly)})
	if err != nil {
		t.Errorf("plan a development action on %s: %v", own, err)
	}
	out = append(out, budgetSample{params: map[string]string{"id": own, "action": action}, who: []*caller{appr}})

	// An open objection, as the superior it is addressed to.
	open, err := h.model.Objections().List(ctx, objections.Query{Status: "OPEN"})
	if err != nil {
		t.Fatal(err)
	}
	if len(open) == 0 {
		t.Errorf("the seeded agency has no open objection (%d filed, %d open by the seed's count)", st.Objections, st.Open)
	}
	for _, o := range open[:min(len(open), 3)] {
		var who []*caller
		for _, nip := range []string{o.AddressedTo, o.AppraiserNIP} {
			if nip != "" {
				who = append(who, &caller{nip, nil})
			}
		}
		if s, err := h.model.SKPs().Get(ctx, o.SKPID); err == nil && s.AppraiserSuperiorNIP != "" {
			who = append(who, &caller{s.AppraiserSuperiorNIP, nil})
		}
		who = append(who, &caller{cast.Clerk, []string{"GRIEVANCE_CLERK"}})
		out = append(out, budgetSample{params: map[string]string{"id": o.SKPID, "period": o.Period}, who: who})
	}

	// An import's job page.
	up := h.upload(hr, "/data-induk/impor", url.Values{"paper_ref": {"SK-IMPOR-ANGGARAN/2026"}}, "pegawai.csv",
		budgetImportCSV(st.AgencyUnit, cast.Appraiser, budgetImportRows, budgetImportRefused), "text/csv")
	job, ok := strings.CutPrefix(up.header.Get("Location"), "/data-induk/impor/")
	if up.status != http.StatusSeeOther || !ok {
		t.Fatalf("upload = %d at %q\n%s", up.status, up.header.Get("Location"), up.body)
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		r := h.must200(*hr, "/data-induk/impor/"+job)
		if !strings.Contains(r.body, `data-state="RUNNING"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the import %s still runs", job)
		}
	}
	out = append(out, budgetSample{params: map[string]string{"id": job}, who: []*caller{hr}})

	// The verification page of the SKP printed (anybody opens it).
	pdf := h.get(emp, "/skp/"+own+"/dokumen.pdf")
	code, err := document.CodeOf([]byte(pdf.body))
	if err != nil {
		t.Errorf("no verification code in the SKP's document (%d): %v", pdf.status, err)
	}
	out = append(out, budgetSample{params: map[string]string{"code": code}, who: []*caller{nil}})

	// The justification form of the agency's distribution.
	out = append(out, budgetSample{params: map[string]string{"id": st.AgencyUnit, "period": year},
		who: []*caller{{cast.Head, nil}}})
	h.catchUp()
	return out
}

// unopenedPages are the GET routes among routes that opened has not
// (patterns), but for those allow lists: what the walk fails on.
func unopenedPages(routes []string, opened map[string]bool, allow map[string]string) []string {
	var out []string
	for _, pattern := range routes {
		method, _, ok := strings.Cut(pattern, " ")
		if !ok || method != http.MethodGet || opened[pattern] {
			continue
		}
		if _, skip := allow[pattern]; skip {
			continue
		}
		out = append(out, pattern)
	}
	return out
}

// The walk's check: a GET route nobody opened is named, whether it has
// parameters or not; POST routes and the allowlist are not pages.
func TestUnopenedPages(t *testing.T) {
	routes := []string{"GET /{$}", "GET /skp/{id}", "POST /skp/{id}/rencana", "GET /skp/{id}/baru-sekali", "GET /ekspor/x", "GET /tanpa-parameter"}
	opened := map[string]bool{"GET /{$}": true, "GET /skp/{id}": true}
	got := unopenedPages(routes, opened, map[string]string{"GET /ekspor/x": "a download"})
	if want := []string{"GET /skp/{id}/baru-sekali", "GET /tanpa-parameter"}; !slices.Equal(got, want) {
		t.Errorf("unopened = %q, want %q", got, want)
	}
	if got := unopenedPages(routes, map[string]bool{}, notPages); !slices.Contains(got, "GET /{$}") {
		t.Errorf("with nothing opened, the start page is not named: %q", got)
	}
}

// An import's job page lists at most maxRowsShown refused rows (and as
// many recorded ones) and says how many refused rows it leaves out: a file
// of the walk's agency size, every row refused, stays within the page
// budget. Before the bound the 2,000-row page was 371,692 B
// (docs/benchmarks.md).
func TestImportJobPageWorstCase(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 2,000 rows; skipped with -short")
	}
	h := seeded(t)
	for _, n := range []int{budgetImportRefused, budgetImportRows, budgetEmployees} {
		data := budgetImportCSV("UNIT-TIDAK-ADA", nipA, 0, n)
		up := h.upload(&hrAdmin, "/data-induk/impor", url.Values{"paper_ref": {"SK-IMPOR-TOLAK/2026"}}, "pegawai.csv", data, "text/csv")
		if up.status != http.StatusSeeOther {
			t.Fatalf("upload of %d rows = %d\n%s", n, up.status, up.body)
		}
		r := h.awaitImportPage(up.header.Get("Location"))
		t.Logf("%5d rows, every one refused: %7d B of HTML (file %7d B)", n, len(r.body), len(data))
		if len(r.body) > budgetBytes {
			t.Errorf("the job page of a %d-row file, every row refused, is %d bytes of HTML, over the %d-byte budget", n, len(r.body), budgetBytes)
		}
		more := regexp.MustCompile(`id="refused-more">[^<]*?([0-9.,]+)</p>`).FindStringSubmatch(r.body)
		switch {
		case n <= 200 && more != nil:
			t.Errorf("the job page of %d refused rows says some are not shown: %q", n, more[0])
		case n > 200 && more == nil:
			t.Errorf("the job page of %d refused rows does not say how many it leaves out", n)
		case n > 200 && strings.NewReplacer(".", "", ",", "").Replace(more[1]) != strconv.Itoa(n-200):
			t.Errorf("the job page of %d refused rows says %s are not shown, want %d", n, more[1], n-200)
		}
	}
}
