package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/web/session"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/projections/audit"
)

// signInAs signs p in through a one-time link (the principal as a token
// with an agency claim would give it) and returns the session cookie.
func (h *harness) signInAs(p domain.Principal) *http.Cookie {
	h.t.Helper()
	code, _, err := h.codes.Issue(p, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/masuk/tautan", strings.NewReader(url.Values{"kode": {code}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp := h.serve(r)
	ck := cookieNamed(resp, session.CookieName)
	if resp.status != http.StatusSeeOther || ck == nil {
		h.t.Fatalf("sign-in of %s = %d", p.ID, resp.status)
	}
	return ck
}

// The audit page of an agency's auditor shows their agency's log only:
// entries, checkpoint, proofs; another agency's entry is answered as a
// missing one; a claimless auditor sees nothing once there are two
// agencies.
func TestAuditPageByAgency(t *testing.T) {
	h := newHarness(t)
	h.seed()
	const nipB = "198808082012081008"
	h.must(func() error {
		_, err := h.units.Register(h.ctx, req(hrAdmin), orgunit.Register{ID: "PROV", Name: "Pemerintah Provinsi Contoh"})
		return err
	}(), "unit PROV")
	h.must(func() error {
		_, err := h.emps.Register(h.ctx, req(hrAdmin), employee.Register{NIP: nipB, Name: "Pegawai Provinsi", UnitID: "PROV",
			Position: employee.Position{Kind: "PELAKSANA", Title: "Analis Provinsi"}})
		return err
	}(), "employee of PROV")
	h.sign()
	entries, err := h.model.Audit().Entries(h.ctx, audit.Query{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var provSeq, pemkotSeq uint64
	for _, e := range entries {
		switch e.Stream {
		case "unit-PROV":
			provSeq = e.Seq
		case "unit-DINKES":
			pemkotSeq = e.Seq
		}
	}
	prov := h.signInAs(domain.Principal{ID: "auditor-prov", Roles: []domain.Role{domain.RoleAuditor}, Agency: "PROV"})
	get := func(ck *http.Cookie, path string) response {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.AddCookie(ck)
		return h.serve(r)
	}
	page := get(prov, "/audit")
	if page.status != http.StatusOK || !strings.Contains(page.body, "unit-PROV") || strings.Contains(page.body, "unit-DINKES") || strings.Contains(page.body, "PEMKOT") {
		t.Errorf("PROV's audit page = %d, shows PROV %v, DINKES %v, PEMKOT %v", page.status,
			strings.Contains(page.body, "unit-PROV"), strings.Contains(page.body, "unit-DINKES"), strings.Contains(page.body, "PEMKOT"))
	}
	own := get(prov, "/audit?seq="+strconv.FormatUint(provSeq, 10))
	if own.status != http.StatusOK || !strings.Contains(own.body, "data-proof") {
		t.Errorf("PROV's own proof page = %d", own.status)
	}
	other := get(prov, "/audit?seq="+strconv.FormatUint(pemkotSeq, 10))
	missing := get(prov, "/audit?seq=999999")
	// The page shows the error of a bad seq (with 200 or 400, as for any
	// missing entry): the same for another agency's.
	if other.status != missing.status || strings.Contains(other.body, "data-proof") ||
		strings.ReplaceAll(missing.body, "999999", strconv.FormatUint(pemkotSeq, 10)) != other.body {
		t.Errorf("PROV asking PEMKOT's entry = %d, a missing one = %d; want the same answer", other.status, missing.status)
	}
	if strings.Contains(other.body, "unit-DINKES") {
		t.Error("PROV's page for PEMKOT's entry shows it")
	}
	claimless := h.signInAs(domain.Principal{ID: "auditor-x", Roles: []domain.Role{domain.RoleAuditor}})
	if r := get(claimless, "/audit"); r.status != http.StatusForbidden {
		t.Errorf("a claimless AUDITOR's audit page with two agencies = %d, want 403", r.status)
	}
}
