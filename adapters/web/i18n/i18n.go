// Package i18n holds the dashboard's words, in Indonesian first and
// English: the shared catalog (navigation, common words, column heads,
// error pages, the names of the ledger's event types) and the labels of
// the ledger's enumerations, which follow the regulations' own Indonesian
// names (PermenPANRB 6/2022); the English ones are translations for
// readers, not legal terms.
//
// Each feature package keeps its own [Catalog] for its own pages (its keys
// start with the feature's prefix, "skp.", "audit." …), so that features
// grow without touching each other's words; a page looks a key up in its
// feature's catalog, then in [Shared] ([Messages]). A test of each feature
// fails on a key its templates use that no catalog has.
package i18n

import "github.com/kinerja-ledger/kinerja/adapters/internal/idfmt"

// Text is one message in both languages. It has the shape of app.Text
// (the application layer's texts for people convert to it) and of
// idfmt.Text (which holds the enumeration labels).
type Text struct {
	// ID is the Indonesian text (the default language).
	ID string
	// EN is the English text.
	EN string
}

// In returns the text in lang: English for EN, else Indonesian.
func (t Text) In(lang string) string {
	if lang == EN {
		return t.EN
	}
	return t.ID
}

// Catalog maps message keys to their texts.
type Catalog map[string]Text

// Languages: Indonesian, the default, and English.
const (
	ID = "id"
	EN = "en"
)

// Lang returns the language named by s ("id" or "en"), and whether s named
// one.
func Lang(s string) (string, bool) {
	switch s {
	case ID, EN:
		return s, true
	}
	return ID, false
}

// Messages is the catalogs a page looks its keys up in, in order.
type Messages []Catalog

// Lookup returns the text of key and whether a catalog has it.
func (m Messages) Lookup(key string) (Text, bool) {
	for _, c := range m {
		if t, ok := c[key]; ok {
			return t, true
		}
	}
	return Text{}, false
}

// T returns key in lang; an unknown key shows as itself (and the feature's
// message test fails on it).
func (m Messages) T(lang, key string) string {
	t, ok := m.Lookup(key)
	if !ok {
		return key
	}
	return t.In(lang)
}

// For returns the messages of a feature: its catalog, then Shared.
func For(feature Catalog) Messages { return Messages{feature, Shared} }

// Label returns the label of value in the enumeration kind ("predikat",
// "rating", "status", …), in lang; an unknown value shows as itself (a
// value added to the domain later is still shown, in its stored
// spelling), and an empty one as "—". The labels live in idfmt, which the
// exports and printed documents use too.
func Label(lang, kind, value string) string { return idfmt.Label(lang, kind, value) }

// Labels returns the enumeration kind's labels (for tests and select
// controls).
func Labels(kind string) Catalog {
	c := Catalog{}
	for k, t := range idfmt.Labels(kind) {
		c[k] = Text(t)
	}
	return c
}

// Shared is the catalog every page uses.
var Shared = Catalog{
	"nav.trail":        {"Lokasi halaman", "Breadcrumb"},
	"nav.skip":         {"Langsung ke konten utama", "Skip to main content"},
	"nav.label":        {"Navigasi utama", "Main navigation"},
	"nav.home":         {"Beranda", "Home"},
	"nav.inbox":        {"Kotak masuk", "Inbox"},
	"nav.objections":   {"Register keberatan", "Objection register"},
	"nav.audit":        {"Audit", "Audit"},
	"nav.masterdata":   {"Data induk", "Master data"},
	"nav.people":       {"Cari pegawai", "Find employees"},
	"nav.consequences": {"Konsekuensi", "Consequences"},
	"nav.calibration":  {"Kalibrasi", "Calibration"},
	"nav.development":  {"Pengembangan", "Development"},
	"nav.signout":      {"Keluar", "Sign out"},

	"footer.text": {"Kinerja Ledger — penilaian kinerja ASN yang tercatat dan dapat diaudit.", "Kinerja Ledger — civil-servant performance appraisal, recorded and auditable."},
	"footer.zone": {"Waktu ditampilkan dalam zona", "Times are shown in zone"},

	"common.yes":            {"Ya", "Yes"},
	"common.no":             {"Tidak", "No"},
	"common.all":            {"Semua", "All"},
	"common.show":           {"Tampilkan", "Show"},
	"common.filter":         {"Saring", "Filter"},
	"common.reset":          {"Hapus saringan", "Clear filters"},
	"common.next":           {"Berikutnya", "Next"},
	"list.prev":             {"← Sebelumnya", "← Previous"},
	"list.next":             {"Berikutnya →", "Next →"},
	"list.of":               {"dari", "of"},
	"list.pages":            {"Halaman daftar", "List pages"},
	"list.year":             {"Tahun", "Year"},
	"common.position":       {"Data dari proyeksi yang telah membaca buku besar sampai posisi", "Data from projections that had read the ledger up to position"},
	"common.position.skps":  {"daftar SKP", "SKP list"},
	"common.position.evals": {"penilaian", "evaluations"},

	"col.skp":      {"SKP", "SKP"},
	"col.employee": {"Pegawai", "Employee"},
	"col.unit":     {"Unit", "Unit"},
	"col.year":     {"Tahun", "Year"},
	"col.status":   {"Status", "Status"},
	"col.late":     {"Terlambat", "Late"},
	"col.backfill": {"Entri susulan (backfill) · ref", "Backfill entry · ref"},
	"col.period":   {"Periode", "Period"},
	"col.predikat": {"Predikat", "Predikat"},
	"col.reason":   {"Alasan", "Reason"},
	"col.occurred": {"Terjadi", "Occurred"},
	"col.recorded": {"Tercatat", "Recorded"},

	"doc.link": {"Cetak dokumen resmi (PDF dengan kode verifikasi)", "Print official documents (PDF with a verification code)"},

	"export.label": {"Unduh laporan:", "Download report:"},
	"export.csv":   {"Ekspor CSV", "Export CSV"},
	"export.xlsx":  {"Ekspor Excel", "Export Excel"},

	"error.form":       {"Formulir tidak dapat dibaca. Buka halamannya lagi.", "The form could not be read. Open the page again."},
	"form.problems":    {"Formulir belum dapat disimpan:", "The form could not be saved yet:"},
	"form.stale.title": {"Data telah berubah sejak formulir ini dibuka", "The record changed since this form was opened"},
	"form.stale.hint":  {"Berikut yang tercatat sementara itu. Isian Anda tetap ada; periksa lalu kirim lagi untuk menerapkannya pada data terkini.", "This was recorded meanwhile. Your input is kept; check it and send again to apply it to the current record."},
	"signin.link.off":  {"Tautan masuk tidak tersedia di layanan ini; masuk melalui penyedia identitas.", "Sign-in links are not offered by this service; sign in through the identity provider."},
	"error.title":      {"Terjadi kesalahan", "Something went wrong"},
	"error.status":     {"Kode status", "Status code"},
	"error.home":       {"Kembali ke beranda", "Back to the home page"},
	"error.internal":   {"Terjadi kesalahan pada layanan. Silakan coba lagi.", "The service failed. Please try again."},
	"error.notfound":   {"Halaman tidak ditemukan", "Page not found"},
	"error.forbidden":  {"Anda tidak berwenang membuka halaman ini", "You may not open this page"},
	"error.csrf":       {"Formulir kedaluwarsa atau berasal dari situs lain. Muat ulang halaman dan coba lagi.", "The form expired or came from another site. Reload the page and try again."},
	"error.validation": {"Isian tidak valid", "Invalid input"},
	"error.year":       {"Tahun tidak valid", "Invalid year"},
	"error.search":     {"Pencarian tidak valid", "Invalid search"},
	"error.sort":       {"Urutan tidak valid", "Invalid sort order"},
	"error.cursor":     {"Tautan halaman tidak valid untuk daftar ini; mulai lagi dari halaman pertama", "The page link is not valid for this list; start again from the first page"},
	"error.period":     {"Periode tidak valid (contoh: 2026, 2026-Q1, 2026-01)", "Invalid period (for example 2026, 2026-Q1, 2026-01)"},
	"error.asof":       {"Waktu tidak valid", "Invalid time"},
	"error.time":       {"Waktu tidak valid", "Invalid time"},
	"error.future":     {"Waktu atau posisi buku besar itu belum tiba; pilih saat yang sudah lewat", "That time or ledger position has not come yet; choose a past moment"},
	"error.format":     {"Format ekspor harus csv atau xlsx", "The export format must be csv or xlsx"},
	"error.sep":        {"Pemisah CSV harus ; atau ,", "The CSV separator must be ; or ,"},
	"error.codes":      {"Parameter codes harus 0 atau 1", "The codes parameter must be 0 or 1"},
	"error.report":     {"Laporan tidak dikenal", "Unknown report"},
	"error.objstatus":  {"Status keberatan tidak valid", "Invalid objection status"},
	"error.overdue":    {"Saringan lewat batas tidak valid", "Invalid overdue filter"},
	"error.filter":     {"Saringan terlalu panjang", "Filter too long"},
	"error.after":      {"Nomor entri tidak valid", "Invalid entry number"},
	"error.seq":        {"Nomor entri tidak valid", "Invalid entry number"},

	"event.skp.drafted.v1":                          {"SKP disusun", "SKP drafted"},
	"event.skp.rhk_added.v1":                        {"RHK ditambahkan", "RHK added"},
	"event.skp.rhk_changed.v1":                      {"RHK diubah", "RHK changed"},
	"event.skp.rhk_removed.v1":                      {"RHK dihapus", "RHK removed"},
	"event.skp.indicator_added.v1":                  {"Indikator ditambahkan", "Indicator added"},
	"event.skp.indicator_changed.v1":                {"Indikator diubah", "Indicator changed"},
	"event.skp.indicator_removed.v1":                {"Indikator dihapus", "Indicator removed"},
	"event.skp.behaviour_expectation_set.v1":        {"Ekspektasi perilaku ditetapkan", "Behaviour expectation set"},
	"event.skp.submitted.v1":                        {"SKP diajukan", "SKP submitted"},
	"event.skp.returned.v1":                         {"SKP dikembalikan", "SKP returned"},
	"event.skp.established.v1":                      {"SKP ditetapkan", "SKP established"},
	"event.skp.amendment_opened.v1":                 {"Perubahan SKP dibuka", "Amendment opened"},
	"event.skp.cancelled.v1":                        {"SKP dibatalkan", "SKP cancelled"},
	"event.skp.closed_for_position_change.v1":       {"SKP ditutup karena pindah jabatan", "SKP closed for a position change"},
	"event.skp.realisation_recorded.v1":             {"Realisasi dicatat", "Realisation recorded"},
	"event.skp.evidence_attached.v1":                {"Bukti dukung dilampirkan", "Evidence attached"},
	"event.skp.feedback_given.v1":                   {"Umpan balik diberikan", "Feedback given"},
	"event.skp.self_assessment_submitted.v1":        {"Penilaian diri disampaikan", "Self-assessment submitted"},
	"event.skp.feedback_round_opened.v1":            {"Putaran umpan balik 360° dibuka", "360° feedback round opened"},
	"event.skp.feedback_round_answered.v1":          {"Jawaban umpan balik 360° diterima", "360° feedback answer received"},
	"event.skp.feedback_round_closed.v1":            {"Putaran umpan balik 360° ditutup", "360° feedback round closed"},
	"event.skp.feedback_answers_disclosed.v1":       {"Pemberi jawaban 360° dibaca auditor", "360° givers read by an auditor"},
	"event.skp.coaching_recorded.v1":                {"Dialog kinerja atau catatan pembinaan dicatat", "Performance dialogue or coaching note recorded"},
	"event.skp.competency_gap_identified.v1":        {"Kesenjangan kompetensi dicatat", "Competency gap identified"},
	"event.skp.development_action_planned.v1":       {"Rencana pengembangan kompetensi dicatat", "Development action planned"},
	"event.skp.development_action_concluded.v1":     {"Hasil pengembangan kompetensi dicatat", "Development action concluded"},
	"event.skp.feedback_giver_assigned.v1":          {"Pemberi umpan balik di luar unit ditugaskan", "Feedback giver from beyond the unit assigned"},
	"event.skp.rating_grounds_recorded.v1":          {"Dasar penilaian per RHK dan per nilai dicatat", "Per-RHK and per-value grounds of the rating recorded"},
	"event.skp.plan_acknowledged.v1":                {"Pegawai menandatangani rencana perubahan", "Employee signed the amended plan"},
	"event.skp.objection_decider_assigned.v1":       {"Pemutus keberatan didelegasikan atau dieskalasi", "Objection decider delegated or escalated"},
	"event.skp.rating_assigned.v1":                  {"Penilaian diberikan", "Rating assigned"},
	"event.skp.rating_revised.v1":                   {"Penilaian direvisi", "Rating revised"},
	"event.skp.evaluation_issued.v1":                {"Hasil penilaian ditetapkan dan disampaikan", "Evaluation issued"},
	"event.skp.evaluation_finalised.v1":             {"Hasil penilaian final", "Evaluation final"},
	"event.skp.receipt_acknowledged.v1":             {"Penerimaan hasil penilaian dikonfirmasi", "Receipt of the evaluation acknowledged"},
	"event.skp.objection_filed.v1":                  {"Keberatan diajukan", "Objection filed"},
	"event.skp.objection_filed_late.v1":             {"Keberatan diajukan terlambat", "Objection filed late"},
	"event.skp.explanation_requested.v1":            {"Keterangan diminta", "Explanation requested"},
	"event.skp.explanation_submitted.v1":            {"Keterangan disampaikan", "Explanation submitted"},
	"event.skp.objection_decided.v1":                {"Keberatan diputus", "Objection decided"},
	"event.skp.objection_withdrawn.v1":              {"Keberatan ditarik", "Objection withdrawn"},
	"event.employee.registered.v1":                  {"Pegawai didaftarkan", "Employee registered"},
	"event.employee.reporting_line_assigned.v1":     {"Jalur penilaian ditetapkan", "Reporting line assigned"},
	"event.employee.position_changed.v1":            {"Jabatan berubah", "Position changed"},
	"event.employee.transfer_released.v1":           {"Pegawai dilepas untuk pindah instansi", "Employee released for a transfer"},
	"event.unit.registered.v1":                      {"Unit didaftarkan", "Unit registered"},
	"event.official.registered.v1":                  {"Pejabat tanpa NIP didaftarkan", "Official without a NIP registered"},
	"event.unit.performance_rated.v2":               {"Predikat organisasi ditetapkan", "Organisation predikat set"},
	"event.unit.head_assigned.v1":                   {"Kepala unit ditetapkan", "Unit head assigned"},
	"event.unit.renamed.v1":                         {"Nama unit dikoreksi", "Unit renamed"},
	"event.distribution.deviation_justified.v1":     {"Penyimpangan distribusi dijustifikasi", "Distribution deviation justified"},
	"event.consequence.tables_adopted.v1":           {"Tabel konsekuensi ditetapkan", "Consequence tables adopted"},
	"event.skp.improvement_plan_opened.v1":          {"Rencana perbaikan kinerja dibuka", "Improvement plan opened"},
	"event.skp.improvement_plan_result_recorded.v1": {"Hasil rencana perbaikan dicatat", "Improvement plan result recorded"},
	"event.unit.zone_set.v1":                        {"Zona waktu unit ditetapkan", "Unit time zone set"},
}
