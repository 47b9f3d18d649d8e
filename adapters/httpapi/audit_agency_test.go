package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// principals maps token subjects to principals with an agency claim or a
// national role, whatever the token says (the tokens' agency claim is
// tenancy's; these tests need only the principal it yields).
type principals struct {
	inner Authenticator
	as    map[string]domain.Principal
}

func (p principals) Authenticate(ctx context.Context, token string) (domain.Principal, error) {
	got, err := p.inner.Authenticate(ctx, token)
	if err != nil {
		return got, err
	}
	if q, ok := p.as[got.ID]; ok {
		return q, nil
	}
	return got, nil
}

const nipProv = "198808082012081008" // PELAKSANA in agency PROV

var (
	hrPemkot  = caller{"hr-pemkot", []string{"HR_ADMIN"}}
	hrProv    = caller{"hr-prov", []string{"HR_ADMIN"}}
	audPemkot = caller{"auditor-pemkot", []string{"AUDITOR"}}
	audProv   = caller{"auditor-prov", []string{"AUDITOR"}}
	natAudA   = caller{"auditor-bkn", []string{"AUDITOR"}}
)

// twoAgencyHarness is the cast (agency PEMKOT) and a second agency PROV
// with one employee, projected and signed.
func twoAgencyHarness(t *testing.T) *harness {
	h := newHarness(t, func(s *settings) {
		s.Authenticator = principals{inner: s.Authenticator, as: map[string]domain.Principal{
			audPemkot.sub: {ID: audPemkot.sub, Roles: []domain.Role{domain.RoleAuditor}, Agency: "PEMKOT"},
			audProv.sub:   {ID: audProv.sub, Roles: []domain.Role{domain.RoleAuditor}, Agency: "PROV"},
			natAudA.sub:   {ID: natAudA.sub, Roles: []domain.Role{domain.RoleNationalAuditor}},
			hrProv.sub:    {ID: hrProv.sub, Roles: []domain.Role{domain.RoleHRAdmin}, Agency: "PROV"},
		}}
	})
	h.cast()
	// Once there are two agencies, a claimless token has no agency role:
	// PROV's HR_ADMIN registers PROV's people.
	h.must(http.StatusCreated, hrProv, "POST", "/v1/units", CreateUnitBody{ID: "PROV", Name: "Pemerintah Provinsi"})
	h.must(http.StatusCreated, hrProv, "POST", "/v1/employees", CreateEmployeeBody{NIP: nipProv, Name: "Pegawai Provinsi", UnitID: "PROV",
		Position: PositionBody{Kind: "PELAKSANA", Title: "Jabatan PELAKSANA"}})
	h.sign()
	return h
}

func (h *harness) auditItems(who caller, query string) []AuditItem {
	h.t.Helper()
	var page AuditPage
	h.must(http.StatusOK, who, "GET", "/v1/audit?limit=1000"+query, nil).decode(h.t, &page)
	return page.Items
}

// sameMissing checks that a refused request's body is the body of a
// request for something that does not exist, the IDs aside.
func (h *harness) sameMissing(who caller, path, realID, missingPath, missingID string) {
	h.t.Helper()
	got := h.request(&who, "GET", path, nil)
	want := h.request(&who, "GET", missingPath, nil)
	if got.status != http.StatusNotFound || want.status != http.StatusNotFound {
		h.t.Fatalf("%s: %d %s; %s: %d %s; want 404 for both", path, got.status, got.body, missingPath, want.status, want.body)
	}
	if g, w := withoutRequestID(h.t, got.body), withoutRequestID(h.t, want.body); g != strings.ReplaceAll(w, missingID, realID) {
		h.t.Errorf("%s answers %s\n%s answers %s\nwant the same body", path, got.body, missingPath, want.body)
	}
}

// withoutRequestID is a problem body without its request_id, which every
// answer has its own of.
func withoutRequestID(t testing.TB, body []byte) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	delete(m, "request_id")
	b, _ := json.Marshal(m)
	return string(b)
}

func TestAuditAgencyIsolation(t *testing.T) {
	h := twoAgencyHarness(t)
	all := h.auditItems(natAudA, "")
	inProv := map[string]bool{"unit-PROV": true, "employee-" + nipProv: true}
	var provSeq, pemkotSeq uint64
	for _, it := range all {
		if inProv[it.Stream] {
			provSeq = it.Seq
		} else if it.Stream == "employee-"+nipE {
			pemkotSeq = it.Seq
		}
	}

	t.Run("a claimless AUDITOR acts nowhere once there are two agencies", func(t *testing.T) {
		for _, p := range []string{"/v1/audit", "/v1/audit/checkpoint", "/v1/audit/proof?seq=0"} {
			h.refused(http.StatusForbidden, "forbidden", &aud, "GET", p, nil)
		}
		h.refused(http.StatusForbidden, "forbidden", &aud, "POST", "/v1/audit/verify", nil)
	})

	t.Run("entries", func(t *testing.T) {
		prov := h.auditItems(audProv, "")
		pemkot := h.auditItems(audPemkot, "")
		if len(prov) != 2 || len(pemkot)+len(prov) != len(all) {
			t.Fatalf("PROV sees %d entries, PEMKOT %d, national %d; want 2 and the rest", len(prov), len(pemkot), len(all))
		}
		for _, it := range prov {
			if !inProv[it.Stream] {
				t.Errorf("PROV's auditor sees %s", it.Stream)
			}
		}
		for _, it := range pemkot {
			if inProv[it.Stream] {
				t.Errorf("PEMKOT's auditor sees %s", it.Stream)
			}
		}
		// Filters find nothing of the other agency; asking for it by name
		// is the 404 of an unknown agency.
		if got := h.auditItems(audProv, "&stream=employee-"+nipE); len(got) != 0 {
			t.Errorf("PROV's auditor filtering by PEMKOT's stream sees %d entries", len(got))
		}
		h.sameMissing(audProv, "/v1/audit?agency=PEMKOT", "PEMKOT", "/v1/audit?agency=NOPE", "NOPE")
		if got := h.auditItems(natAudA, "&agency=PROV"); len(got) != len(prov) || got[0].Seq != prov[0].Seq {
			t.Errorf("national ?agency=PROV = %d entries, want PROV's %d", len(got), len(prov))
		}
		h.sameMissing(natAudA, "/v1/audit?agency=NOPE", "NOPE", "/v1/audit?agency=NADA", "NADA")
	})

	t.Run("proofs", func(t *testing.T) {
		missing := strconv.FormatUint(uint64(len(all))+1000, 10)
		h.sameMissing(audProv, "/v1/audit/proof?seq="+strconv.FormatUint(pemkotSeq, 10), strconv.FormatUint(pemkotSeq, 10),
			"/v1/audit/proof?seq="+missing, missing)
		h.sameMissing(audPemkot, "/v1/audit/proof?seq="+strconv.FormatUint(provSeq, 10), strconv.FormatUint(provSeq, 10),
			"/v1/audit/proof?seq="+missing, missing)
		var p InclusionProof
		h.must(http.StatusOK, audProv, "GET", "/v1/audit/proof?seq="+strconv.FormatUint(provSeq, 10), nil).decode(t, &p)
		if p.Agency == nil || *p.Agency != "PROV" || p.Index == nil || *p.Index != 1 || p.Size != 2 || p.AgencyCheckpoint == nil {
			t.Fatalf("PROV's proof = %+v", p)
		}
		if err := merkle.VerifyInclusion(p.LeafHash, *p.Index, p.Size, p.Proof, p.AgencyCheckpoint.RootHash); err != nil {
			t.Error(err)
		}
		if err := audit.OpenAgencyCheckpoint(*p.AgencyCheckpoint, h.vkey); err != nil {
			t.Error(err)
		}
		if p.LeafHash != all[provSeq].LeafHash {
			t.Errorf("agency leaf %s, global leaf %s", p.LeafHash, all[provSeq].LeafHash)
		}
		// The national auditor's global proof is as before.
		var g InclusionProof
		h.must(http.StatusOK, natAudA, "GET", "/v1/audit/proof?seq="+strconv.FormatUint(provSeq, 10), nil).decode(t, &g)
		if g.Agency != nil || g.Size != uint64(len(all)) || g.Checkpoint == nil {
			t.Errorf("national proof = %+v", g)
		}
	})

	t.Run("checkpoints", func(t *testing.T) {
		var ac audit.AgencyCheckpoint
		h.must(http.StatusOK, audProv, "GET", "/v1/audit/checkpoint", nil).decode(t, &ac)
		if ac.Agency != "PROV" || ac.Size != 2 {
			t.Fatalf("PROV's checkpoint = %+v", ac)
		}
		if err := audit.OpenAgencyCheckpoint(ac, h.vkey); err != nil {
			t.Error(err)
		}
		var national audit.Checkpoint
		h.must(http.StatusOK, natAudA, "GET", "/v1/audit/checkpoint", nil).decode(t, &national)
		if err := audit.OpenCheckpoint(national, h.vkey); err != nil {
			t.Error(err)
		}
		if err := audit.InNational(national, ac); err != nil {
			t.Error(err)
		}
		// PROV's auditor does not read the national checkpoint (it lists
		// PEMKOT's size): asking for another agency is not found.
		h.sameMissing(audProv, "/v1/audit/checkpoint?agency=PEMKOT", "PEMKOT", "/v1/audit/checkpoint?agency=NOPE", "NOPE")
		if strings.Contains(string(h.must(http.StatusOK, audProv, "GET", "/v1/audit/checkpoint", nil).body), "PEMKOT") {
			t.Error("PROV's checkpoint names PEMKOT")
		}
	})

	t.Run("verify", func(t *testing.T) {
		var r audit.Report
		h.must(http.StatusOK, audProv, "POST", "/v1/audit/verify", nil).decode(t, &r)
		if !r.OK || r.Agency == nil || *r.Agency != "PROV" || r.Size != 2 || r.Checkpoints != 1 {
			t.Errorf("PROV's verification = %+v", r)
		}
		var p audit.Report
		h.must(http.StatusOK, natAudA, "POST", "/v1/audit/verify?agency=PEMKOT", nil).decode(t, &p)
		if !p.OK || p.Agency == nil || *p.Agency != "PEMKOT" || p.Size != uint64(len(all)-2) {
			t.Errorf("PEMKOT's verification = %+v", p)
		}
		var n audit.Report
		h.must(http.StatusOK, natAudA, "POST", "/v1/audit/verify", nil).decode(t, &n)
		if !n.OK || n.Agency != nil || n.Size != uint64(len(all)) {
			t.Errorf("national verification = %+v", n)
		}
		got := h.request(&audProv, "POST", "/v1/audit/verify?agency=PEMKOT", nil)
		want := h.request(&audProv, "POST", "/v1/audit/verify?agency=NOPE", nil)
		if got.status != 404 || withoutRequestID(t, got.body) != strings.ReplaceAll(withoutRequestID(t, want.body), "NOPE", "PEMKOT") {
			t.Errorf("PROV verifying PEMKOT = %d %s, unknown agency = %s", got.status, got.body, want.body)
		}
	})

	t.Run("bundles", func(t *testing.T) {
		h.sameMissing(audProv, "/v1/audit/bundle?year=2026&nip="+nipE, nipE, "/v1/audit/bundle?year=2026&nip=199901012020011099", "199901012020011099")
		var b audit.Bundle
		h.must(http.StatusOK, audProv, "GET", "/v1/audit/bundle?year=2026&nip="+nipProv, nil).decode(t, &b)
		if r := audit.VerifyBundle(b, h.vkey); !r.OK || r.Proven != 1 || b.Agency == nil || *b.Agency != "PROV" {
			t.Errorf("PROV's bundle = %+v, verified %+v", b, r)
		}
		raw, _ := json.Marshal(b)
		if strings.Contains(string(raw), "PEMKOT") {
			t.Error("PROV's bundle names PEMKOT")
		}
	})

	t.Run("adversarial agency parameter", func(t *testing.T) {
		for _, a := range []string{"A\x00B", strings.Repeat("x", 300), "\u202e"} {
			r := h.request(&natAudA, "GET", "/v1/audit?agency="+url.QueryEscape(a), nil)
			if r.status != http.StatusBadRequest && r.status != http.StatusNotFound {
				t.Errorf("?agency=%q = %d %s, want 400 or 404", a, r.status, r.body)
			}
		}
	})
}

// One rule for "the agency" of the audit logs: the recorded event. A
// transfer recorded today and effective next month is the destination's
// from the recording; the source's auditor still bundles its part of the
// person's history (up to the transfer, with the SKPs it drafted), the
// destination's sees the person from the transfer on and none of the
// source's SKP streams; both bundles verify.
func TestAuditAgencyBundleAcrossATransfer(t *testing.T) {
	h := newHarness(t, func(s *settings) {
		s.Authenticator = principals{inner: s.Authenticator, as: map[string]domain.Principal{
			audPemkot.sub: {ID: audPemkot.sub, Roles: []domain.Role{domain.RoleAuditor}, Agency: "PEMKOT"},
			audProv.sub:   {ID: audProv.sub, Roles: []domain.Role{domain.RoleAuditor}, Agency: "PROV"},
			hrPemkot.sub:  {ID: hrPemkot.sub, Roles: []domain.Role{domain.RoleHRAdmin}, Agency: "PEMKOT"},
			hrProv.sub:    {ID: hrProv.sub, Roles: []domain.Role{domain.RoleHRAdmin}, Agency: "PROV"},
		}}
	})
	h.at(stageDraft)
	h.must(http.StatusCreated, hrProv, "POST", "/v1/units", CreateUnitBody{ID: "PROV", Name: "Pemerintah Provinsi"})
	h.must(http.StatusOK, hrPemkot, "PUT", "/v1/employees/"+nipE+"/transfer-release",
		map[string]any{"to_agency": "PROV", "expires_on": h.clock.Now().AddDate(0, 0, 30).Format("2006-01-02"), "decree_ref": "800/1/2026"})
	next := h.clock.Now().AddDate(0, 1, 0).Format("2006-01-02")
	h.must(http.StatusOK, hrProv, "PUT", "/v1/employees/"+nipE+"/position", map[string]any{"unit_id": "PROV",
		"position": map[string]any{"kind": "PELAKSANA", "title": "Pengadministrasi"}, "effective_from": next})
	h.sign()
	bundle := func(who caller) (audit.Bundle, map[string][]string) {
		var b audit.Bundle
		h.must(http.StatusOK, who, "GET", "/v1/audit/bundle?year=2026&nip="+nipE, nil).decode(t, &b)
		if r := audit.VerifyBundle(b, h.vkey); !r.OK || r.Proven == 0 {
			t.Errorf("%s's bundle does not verify: %+v", who.sub, r)
		}
		types := map[string][]string{}
		for _, s := range b.Streams {
			for _, e := range s.Events {
				types[s.Stream] = append(types[s.Stream], e.Type)
			}
		}
		return b, types
	}
	_, src := bundle(audPemkot)
	emp, sk := "employee-"+nipE, "skp-"+nipE+"-2026"
	if len(src[sk]) == 0 || slices.Contains(src[emp], "employee.position_changed.v1") || !slices.Contains(src[emp], "employee.transfer_released.v1") {
		t.Errorf("the source's bundle: %v", src)
	}
	_, dst := bundle(audProv)
	if len(dst[sk]) != 0 || !slices.Contains(dst[emp], "employee.position_changed.v1") {
		t.Errorf("the destination's bundle: %v", dst)
	}
}
