package web

// The inventory of issue 12: every mutation of the API has a form of the
// dashboard that does the same for a person, or a reason why a person
// never does it in a browser. A new API mutation without either fails
// TestFormInventory, and so does a form named here that is not routed.

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// formFor is the dashboard's answer to one API mutation: the form route
// ("POST /skp/{id}/rencana/rhk") that runs the same command for a person,
// or why there is none (machine-only, ops, or not yet built: said so).
type formFor struct {
	form   string
	reason string
}

// formInventory maps each mutating route of the API ("METHOD
// /v1/template", as adapters/httpapi/openapi.json documents it; the API's
// TestOpenAPIUpToDate keeps that document equal to its router) to its form.
var formInventory = map[string]formFor{
	// Master data (feature/masterdata; officials in feature/officials).
	"POST /v1/units":                                           {form: "POST /data-induk/unit/baru"},
	"PUT /v1/units/{id}/name":                                  {form: "POST /data-induk/unit/{id}/nama"},
	"PUT /v1/units/{id}/zone":                                  {form: "POST /data-induk/unit/{id}/zona"},
	"POST /v1/imports":                                         {form: "POST /data-induk/impor"},
	"PUT /v1/units/{id}/head":                                  {form: "POST /data-induk/unit/{id}/kepala"},
	"PUT /v1/units/{id}/performance/{period}":                  {form: "POST /data-induk/unit/{id}/predikat"},
	"POST /v1/units/{id}/distribution/{period}/justifications": {form: "POST /unit/{id}/distribusi/{period}/justifikasi"},
	"POST /v1/employees":                                       {form: "POST /data-induk/pegawai/baru"},
	"PUT /v1/employees/{nip}/reporting-line":                   {form: "POST /data-induk/pegawai/{nip}/atasan"},
	"PUT /v1/employees/{nip}/position":                         {form: "POST /data-induk/pegawai/{nip}/jabatan"},
	"PUT /v1/employees/{nip}/transfer-release":                 {form: "POST /data-induk/pegawai/{nip}/lolos-butuh"},
	"POST /v1/officials":                                       {form: "POST /data-induk/pejabat/baru"},

	// The plan (feature/planning).
	"POST /v1/skps":                                    {form: "POST /skp/baru"},
	"POST /v1/skps/{id}/rhk":                           {form: "POST /skp/{id}/rencana/rhk"},
	"PUT /v1/skps/{id}/rhk/{rhk_id}":                   {form: "POST /skp/{id}/rencana/rhk/{rhk}"},
	"DELETE /v1/skps/{id}/rhk/{rhk_id}":                {form: "POST /skp/{id}/rencana/rhk/{rhk}/hapus"},
	"POST /v1/skps/{id}/rhk/{rhk_id}/indicators":       {form: "POST /skp/{id}/rencana/rhk/{rhk}/indikator"},
	"PUT /v1/skps/{id}/indicators/{indicator_id}":      {form: "POST /skp/{id}/rencana/indikator/{ind}"},
	"DELETE /v1/skps/{id}/indicators/{indicator_id}":   {form: "POST /skp/{id}/rencana/indikator/{ind}/hapus"},
	"PUT /v1/skps/{id}/behaviour-expectations/{value}": {form: "POST /skp/{id}/rencana/ekspektasi"},
	"POST /v1/skps/{id}/submit":                        {form: "POST /skp/{id}/rencana/ajukan"},
	"POST /v1/skps/{id}/establish":                     {form: "POST /skp/{id}/rencana/tetapkan"},
	"POST /v1/skps/{id}/return":                        {form: "POST /skp/{id}/rencana/kembalikan"},
	"POST /v1/skps/{id}/amendment":                     {form: "POST /skp/{id}/rencana/amandemen"},
	"POST /v1/skps/{id}/plan-acknowledgement":          {form: "POST /skp/{id}/rencana/tanda-tangan"},
	"POST /v1/skps/{id}/cancel":                        {form: "POST /skp/{id}/rencana/batalkan"},
	"POST /v1/skps/{id}/close":                         {form: "POST /skp/{id}/rencana/tutup"},
	"POST /v1/skps/{id}/feedback-givers":               {form: "POST /skp/{id}/rencana/pemberi-umpan-balik"},

	// Improvement plans (feature/improvement, issue 14).
	"POST /v1/skps/{id}/evaluations/{period}/improvement-plan":        {form: "POST /skp/{id}/evaluasi/{period}/rencana-perbaikan"},
	"POST /v1/skps/{id}/evaluations/{period}/improvement-plan/result": {form: "POST /skp/{id}/evaluasi/{period}/rencana-perbaikan/hasil"},

	// The year's work (feature/execution).
	"POST /v1/skps/{id}/realisations":     {form: "POST /skp/{id}/realisasi"},
	"POST /v1/skps/{id}/evidence":         {form: "POST /skp/{id}/bukti"},
	"POST /v1/skps/{id}/evidence/files":   {form: "POST /skp/{id}/bukti"},
	"POST /v1/skps/{id}/feedback":         {form: "POST /skp/{id}/umpan-balik"},
	"POST /v1/skps/{id}/self-assessments": {form: "POST /skp/{id}/penilaian-diri"},

	// Evaluations (feature/evaluation) and objections (feature/objection).
	"PUT /v1/skps/{id}/evaluations/{period}":                  {form: "POST /skp/{id}/penilaian/{period}/nilai"},
	"POST /v1/skps/{id}/evaluations/{period}/issue":           {form: "POST /skp/{id}/penilaian/{period}/terbitkan"},
	"POST /v1/skps/{id}/evaluations/{period}/acknowledgement": {form: "POST /skp/{id}/penilaian/{period}/terima"},
	"POST /v1/skps/{id}/evaluations/{period}/finalise": {reason: "machine: the deadline process manager records finality " +
		"when the objection window closes (authz.Finalise allows a party too, but there is nothing for a person to decide)"},
	"POST /v1/skps/{id}/evaluations/{period}/objection":                      {form: "POST /skp/{id}/penilaian/{period}/keberatan/ajukan"},
	"POST /v1/skps/{id}/evaluations/{period}/objection/explanation-requests": {form: "POST /skp/{id}/penilaian/{period}/keberatan/minta-keterangan"},
	"POST /v1/skps/{id}/evaluations/{period}/objection/explanations":         {form: "POST /skp/{id}/penilaian/{period}/keberatan/keterangan"},
	"POST /v1/skps/{id}/evaluations/{period}/objection/decision":             {form: "POST /skp/{id}/penilaian/{period}/keberatan/putusan"},
	"POST /v1/skps/{id}/evaluations/{period}/objection/withdrawal":           {form: "POST /skp/{id}/penilaian/{period}/keberatan/tarik"},
	"POST /v1/skps/{id}/evaluations/{period}/objection/decider":              {form: "POST /skp/{id}/penilaian/{period}/keberatan/pemutus"},

	// 360° feedback rounds and coaching/development (feature/feedback).
	"POST /v1/skps/{id}/feedback-rounds":                      {form: "POST /skp/{id}/umpan-balik-360/buka"},
	"POST /v1/skps/{id}/feedback-rounds/{round}/close":        {form: "POST /skp/{id}/umpan-balik-360/{round}/tutup"},
	"PUT /v1/skps/{id}/feedback-rounds/{round}/answer":        {form: "POST /skp/{id}/umpan-balik-360/{round}/jawab"},
	"POST /v1/skps/{id}/coaching":                             {form: "POST /skp/{id}/pengembangan/pembinaan"},
	"POST /v1/skps/{id}/competency-gaps":                      {form: "POST /skp/{id}/pengembangan/kesenjangan"},
	"POST /v1/skps/{id}/development-actions":                  {form: "POST /skp/{id}/pengembangan/tindakan"},
	"POST /v1/skps/{id}/development-actions/{action}/outcome": {form: "POST /skp/{id}/pengembangan/tindakan/{action}/hasil"},
	"POST /v1/skps/{id}/feedback-rounds/{round}/disclosure": {reason: "not built: an AUDITOR's recorded disclosure of who gave " +
		"the 360° answers is API-only (docs/feedback360.md); the dashboard never shows the givers"},

	// Audit (feature/auditpage).
	"POST /v1/audit/verify": {form: "POST /audit/verifikasi"},
}

// apiMutations reads the mutating operations of the API's OpenAPI document.
func apiMutations(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../httpapi/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for path, ops := range doc.Paths {
		for m := range ops {
			switch m = strings.ToUpper(m); m {
			case "POST", "PUT", "PATCH", "DELETE":
				out = append(out, m+" "+path)
			}
		}
	}
	slices.Sort(out)
	return out
}

// inventoryTable is the markdown table of docs/web.md, from formInventory.
func inventoryTable(mutations []string) string {
	var b strings.Builder
	b.WriteString("| API mutation | Dashboard form (or why none) |\n|---|---|\n")
	for _, m := range mutations {
		f := formInventory[m]
		if f.form != "" {
			fmt.Fprintf(&b, "| `%s` | `%s` |\n", m, f.form)
		} else {
			fmt.Fprintf(&b, "| `%s` | — %s |\n", m, f.reason)
		}
	}
	return b.String()
}

func TestFormInventory(t *testing.T) {
	mutations := apiMutations(t)
	if len(mutations) < 30 {
		t.Fatalf("only %d mutations in openapi.json", len(mutations))
	}
	h := newHarness(t)
	routes := h.handler.Routes()
	for _, m := range mutations {
		f, ok := formInventory[m]
		switch {
		case !ok:
			t.Errorf("API mutation %s has no form in the dashboard and no reason why: add it to formInventory", m)
		case f.form == "" && f.reason == "":
			t.Errorf("API mutation %s: neither a form nor a reason", m)
		case f.form != "" && !slices.Contains(routes, f.form):
			t.Errorf("API mutation %s: the form %s is not routed", m, f.form)
		}
	}
	for m := range formInventory {
		if !slices.Contains(mutations, m) {
			t.Errorf("formInventory names %s, which the API does not route", m)
		}
	}
	// The table in docs/web.md is this one.
	docs, err := os.ReadFile("../../docs/web.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := inventoryTable(mutations); !strings.Contains(string(docs), want) {
		t.Errorf("docs/web.md does not hold the inventory as it is; put this table in its section \"Every mutation has a form\":\n%s", want)
	}
}
