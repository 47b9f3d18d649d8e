package tabular

import (
	"github.com/kinerja-ledger/kinerja/adapters/internal/idfmt"
)

// Kind says how a column's cells are read and written.
type Kind int

// Column kinds. The report tables carry text cells (projections/reports):
// integers in decimal, shares as decimal fractions ("0.2500"), instants in
// RFC 3339, booleans as "true"/"false", enumerations as their codes.
const (
	// Text is written as it is (formulas defused).
	Text Kind = iota
	// Int is a whole number.
	Int
	// Share is a fraction of one, shown as a percentage in workbooks.
	Share
	// Time is an instant, written in the export's zone.
	Time
	// Bool is written Ya/Tidak (Yes/No).
	Bool
	// NIP is an employee number: always text, never a number.
	NIP
	// NIPList is NIPs separated by spaces (text).
	NIPList
	// Enum is a code of an enumeration, written as its label.
	Enum
)

// Column is a column of an export: its code (the header with ?codes=1),
// its label in both languages, and the kind of its cells.
type Column struct {
	Code  string
	Label idfmt.Text
	Kind  Kind
	// Enum names the enumeration of an Enum column (idfmt.Label's kind).
	Enum string
}

// columns are the columns of every report table, by code. A code that is
// not here is a Text column headed by its code (and a test fails on it).
var columns = reportColumns()

func reportColumns() map[string]Column {
	columns := map[string]Column{}
	col := func(code, id, en string, k Kind, enum ...string) {
		c := Column{Code: code, Label: idfmt.Text{ID: id, EN: en}, Kind: k}
		if len(enum) > 0 {
			c.Enum = enum[0]
		}
		columns[code] = c
	}
	// Progress board (reports.ProgressReport.Table).
	col("unit_id", "Kode unit", "Unit code", Text)
	col("unit_name", "Nama unit", "Unit name", Text)
	col("parent_id", "Unit induk", "Parent unit", Text)
	col("depth", "Tingkat", "Depth", Int)
	col("employees", "Jumlah pegawai", "Employees", Int)
	col("skps", "Jumlah SKP", "SKPs", Int)
	for code, t := range idfmt.Labels("status") {
		col(code, "SKP "+t.ID, "SKP "+t.EN, Int)
	}
	col("late", "Terlambat", "Late", Int)
	col("missing", "Belum ada SKP", "No SKP", Int)
	col("missing_nips", "NIP belum ada SKP", "NIPs without an SKP", NIPList)
	col("subtree_employees", "Pegawai termasuk subunit", "Employees incl. sub-units", Int)
	col("subtree_skps", "SKP termasuk subunit", "SKPs incl. sub-units", Int)
	col("subtree_late", "Terlambat termasuk subunit", "Late incl. sub-units", Int)
	col("subtree_missing", "Belum ada SKP termasuk subunit", "No SKP incl. sub-units", Int)
	// Distribution (reports.DistributionReport.Table).
	col("unit", "Unit", "Unit", Text)
	col("period", "Periode", "Period", Text)
	col("org_predikat", "Predikat organisasi", "Organisation predikat", Enum, "orgpredikat")
	col("policy", "Pola distribusi", "Distribution pattern", Text)
	col("population", "Jumlah pegawai dinilai", "Employees rated", Int)
	col("predikat", "Predikat", "Predikat", Enum, "predikat")
	col("count", "Jumlah", "Count", Int)
	col("share", "Proporsi", "Share", Share)
	col("violations", "Pelanggaran pola", "Pattern violations", Text)
	// Objection register (reports.ObjectionRegister.Table).
	col("objection_id", "ID keberatan", "Objection ID", Text)
	col("skp_id", "ID SKP", "SKP ID", Text)
	col("nip", "NIP", "NIP", NIP)
	col("name", "Nama", "Name", Text)
	col("status", "Status", "Status", Enum, "objstatus")
	col("filed_at", "Diajukan", "Filed", Time)
	col("window_deadline", "Batas masa keberatan", "Objection window ends", Time)
	col("decision_due", "Batas waktu putusan", "Decision due", Time)
	col("overdue", "Lewat batas", "Overdue", Bool)
	col("outcome", "Hasil", "Outcome", Enum, "outcome")
	col("decided_at", "Diputus", "Decided", Time)
	col("predikat_before", "Predikat sebelum", "Predikat before", Enum, "predikat")
	col("predikat_after", "Predikat sesudah", "Predikat after", Enum, "predikat")
	col("backfill_paper_ref", "Entri susulan: ref dokumen", "Backfill: paper reference", Text)
	// Audit trail (the dashboard's export).
	col("seq", "Nomor entri", "Entry", Int)
	col("position", "Posisi buku besar", "Ledger position", Int)
	col("event_id", "ID peristiwa", "Event ID", Text)
	col("stream", "Aliran", "Stream", Text)
	col("revision", "Revisi", "Revision", Int)
	col("type", "Jenis peristiwa", "Event type", Text)
	col("actor_id", "Pelaku", "Actor", NIP)
	col("actor_role", "Peran pelaku", "Actor role", Enum, "role")
	col("recorded_at", "Tercatat", "Recorded", Time)
	col("occurred_at", "Terjadi", "Occurred", Time)
	col("reason", "Alasan", "Reason", Text)
	col("leaf_hash", "Hash daun", "Leaf hash", Text)
	// Improvement plans (app.ImprovementPlanReport.Table, issue 14).
	col("stage", "Tahap", "Stage", Enum, "improvementstage")
	col("appraiser_nip", "NIP pejabat penilai", "Appraiser NIP", NIP)
	col("follow_up_from", "Tindak lanjut mulai", "Follow-up from", Time)
	col("due", "Batas waktu", "Due", Time)
	return columns
}

// ColumnOf returns the column coded code (a Text column headed by the code
// when it is unknown) and whether it is known.
func ColumnOf(code string) (Column, bool) {
	c, ok := columns[code]
	if !ok {
		return Column{Code: code, Label: idfmt.Text{ID: code, EN: code}, Kind: Text}, false
	}
	return c, true
}
