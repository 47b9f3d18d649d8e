package idfmt

// Label returns the label of value in the enumeration kind ("predikat",
// "rating", "status", …), in lang; an unknown value shows as itself (a
// value added to the domain later is still shown, in its stored
// spelling), and an empty one as "—". The labels follow the regulations'
// own Indonesian names (PermenPANRB 6/2022); the English ones are
// translations for readers, not legal terms.
func Label(lang, kind, value string) string {
	if value == "" {
		return "—"
	}
	t, ok := labels[kind][value]
	if !ok {
		return value
	}
	return t.In(lang)
}

// Labels returns the enumeration kind's labels.
func Labels(kind string) map[string]Text { return labels[kind] }

var labels = map[string]map[string]Text{
	"predikat": {
		"SANGAT_BAIK":       {"Sangat Baik", "Very good"},
		"BAIK":              {"Baik", "Good"},
		"BUTUH_PERBAIKAN":   {"Butuh Perbaikan", "Needs improvement"},
		"KURANG_MISCONDUCT": {"Kurang/Misconduct", "Poor/Misconduct"},
		"SANGAT_KURANG":     {"Sangat Kurang", "Very poor"},
	},
	"orgpredikat": {
		"ISTIMEWA":        {"Istimewa", "Exceptional"},
		"BAIK":            {"Baik", "Good"},
		"BUTUH_PERBAIKAN": {"Butuh Perbaikan", "Needs improvement"},
		"KURANG":          {"Kurang", "Poor"},
		"SANGAT_KURANG":   {"Sangat Kurang", "Very poor"},
	},
	"rating": {
		"DI_ATAS_EKSPEKTASI":  {"Di Atas Ekspektasi", "Above expectations"},
		"SESUAI_EKSPEKTASI":   {"Sesuai Ekspektasi", "Meets expectations"},
		"DI_BAWAH_EKSPEKTASI": {"Di Bawah Ekspektasi", "Below expectations"},
	},
	"status": {
		"DRAFT":                      {"Draf", "Draft"},
		"SUBMITTED":                  {"Diajukan", "Submitted"},
		"ESTABLISHED":                {"Ditetapkan", "Established"},
		"AMENDMENT":                  {"Dalam perubahan", "Being amended"},
		"CANCELLED":                  {"Dibatalkan", "Cancelled"},
		"CLOSED_FOR_POSITION_CHANGE": {"Ditutup (pindah jabatan)", "Closed (position change)"},
		"MISSING":                    {"Belum ada SKP", "No SKP"},
	},
	"evalstatus": {
		"DRAFT":           {"Draf", "Draft"},
		"ISSUED":          {"Disampaikan", "Issued"},
		"UNDER_OBJECTION": {"Dalam keberatan", "Under objection"},
		"FINAL":           {"Final", "Final"},
	},
	"improvementstage": {
		"PLAN_DUE": {"Rencana perbaikan belum dibuat", "Plan not yet opened"},
		"OPEN":     {"Rencana perbaikan berjalan", "Plan open"},
	},
	"finalreason": {
		"WINDOW_ELAPSED":       {"masa keberatan lewat", "objection window elapsed"},
		"OBJECTION_DECIDED":    {"keberatan diputus", "objection decided"},
		"NO_OBJECTION_ALLOWED": {"tanpa hak keberatan", "no objection allowed"},
	},
	"objstatus": {
		"OPEN":      {"Dalam proses", "Open"},
		"DECIDED":   {"Diputus", "Decided"},
		"WITHDRAWN": {"Ditarik", "Withdrawn"},
	},
	"outcome": {
		"UPHELD":  {"Dikuatkan", "Upheld"},
		"CHANGED": {"Diubah", "Changed"},
	},
	"source": {
		"APPRAISER": {"Pejabat penilai", "Appraiser"},
		"OBJECTION": {"Keputusan keberatan", "Objection decision"},
	},
	"approach": {
		"KUANTITATIF": {"Kuantitatif", "Quantitative"},
		"KUALITATIF":  {"Kualitatif", "Qualitative"},
	},
	"rhkkind": {
		"UTAMA":    {"Utama", "Main"},
		"TAMBAHAN": {"Tambahan", "Additional"},
	},
	"aspect": {
		"KUANTITAS": {"Kuantitas", "Quantity"},
		"KUALITAS":  {"Kualitas", "Quality"},
		"WAKTU":     {"Waktu", "Time"},
		"BIAYA":     {"Biaya", "Cost"},
	},
	"direction": {
		"HIGHER_IS_BETTER": {"makin tinggi makin baik", "higher is better"},
		"LOWER_IS_BETTER":  {"makin rendah makin baik", "lower is better"},
	},
	"relationship": {
		"APPRAISER":            {"pejabat penilai", "appraiser"},
		"PEER":                 {"rekan kerja", "colleague"},
		"SELF":                 {"pegawai sendiri", "the employee"},
		"TEAM_LEAD":            {"ketua tim kerja", "team lead"},
		"PEMBERI_PERTIMBANGAN": {"pemberi pertimbangan", "pemberi pertimbangan (adviser)"},
	},
	"party": {
		"APPRAISER": {"dari pejabat penilai", "from the appraiser"},
		"EMPLOYEE":  {"dari pegawai", "from the employee"},
	},
	"role": {
		"EMPLOYEE":           {"Pegawai", "Employee"},
		"APPRAISER":          {"Pejabat penilai", "Appraiser"},
		"APPRAISER_SUPERIOR": {"Atasan pejabat penilai", "Appraiser's superior"},
		"PEER":               {"Rekan kerja", "Colleague"},
		"UNIT_LEADER":        {"Pimpinan unit", "Unit leader"},
		"FEEDBACK_GIVER":     {"Pemberi umpan balik", "Feedback giver"},
		"SYSTEM":             {"Sistem", "System"},
		"HR_ADMIN":           {"Admin kepegawaian", "HR administrator"},
		"AUDITOR":            {"Auditor", "Auditor"},
		"HR_ANALYST":         {"Analis kepegawaian", "HR analyst"},
		"GRIEVANCE_CLERK":    {"Petugas keberatan", "Grievance clerk"},
		"FORMER_PARTY":       {"Mantan pihak", "Former party"},
		"SELF":               {"Diri sendiri", "Self"},
		"UNIT_HEAD":          {"Kepala unit", "Unit head"},
	},
	"poskind": {
		"JPT_UTAMA":     {"JPT Utama", "Senior executive (utama)"},
		"JPT_MADYA":     {"JPT Madya", "Senior executive (madya)"},
		"JPT_PRATAMA":   {"JPT Pratama", "Senior executive (pratama)"},
		"ADMINISTRATOR": {"Administrator", "Administrator"},
		"PENGAWAS":      {"Pengawas", "Supervisor"},
		"PELAKSANA":     {"Pelaksana", "Staff"},
		"JF":            {"Jabatan fungsional", "Functional post"},
	},
	"berakhlak": {
		"BERORIENTASI_PELAYANAN": {"Berorientasi Pelayanan", "Service-oriented"},
		"AKUNTABEL":              {"Akuntabel", "Accountable"},
		"KOMPETEN":               {"Kompeten", "Competent"},
		"HARMONIS":               {"Harmonis", "Harmonious"},
		"LOYAL":                  {"Loyal", "Loyal"},
		"ADAPTIF":                {"Adaptif", "Adaptive"},
		"KOLABORATIF":            {"Kolaboratif", "Collaborative"},
	},
}
