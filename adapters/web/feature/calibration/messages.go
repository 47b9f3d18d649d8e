package calibration

import "github.com/kinerja-ledger/kinerja/adapters/web/i18n"

// messages are the feature's own words (i18n.Shared has the common ones).
var messages = i18n.Catalog{
	"cal.title":       {ID: "Kalibrasi penilai", EN: "Appraiser calibration"},
	"cal.intro":       {ID: "Sebaran predikat yang diberikan setiap pejabat penilai dibandingkan dengan unitnya dan instansi, dengan indeks kelonggaran/keketatan beserta selang kepercayaannya. Penanda hanya bahan telaah bagi pimpinan unit dan BKD; tidak ada nilai yang diubah.", EN: "The predikats each appraiser gave against their unit's and the agency's, with a leniency/severity index and its interval. A flag is material for the unit head and the BKD to review; no rating is ever changed."},
	"cal.choose":      {ID: "Pilih tahun dan unit", EN: "Choose the year and unit"},
	"cal.unit.hint":   {ID: "Kode unit: para penilai di unit itu dan di bawahnya; kosongkan untuk seluruh instansi.", EN: "Unit code: the appraisers of the unit and below; leave empty for the whole agency."},
	"cal.ratings":     {ID: "Penilaian tahunan dihitung", EN: "Annual ratings counted"},
	"cal.appraisers":  {ID: "Pejabat penilai", EN: "Appraisers"},
	"cal.judged":      {ID: "Dengan cukup penilaian untuk ditelaah", EN: "With enough ratings to be judged"},
	"cal.flagged":     {ID: "Ditandai", EN: "Flagged"},
	"cal.agency":      {ID: "Sebaran instansi", EN: "The agency's distribution"},
	"cal.method":      {ID: "Indeks = rata-rata selisih skor predikat (Sangat Baik 4 … Sangat Kurang 0) terhadap penilaian penilai lain di unit dengan predikat organisasi yang sama, disusutkan menurut jumlah penilaian (empirical Bayes). Ditandai hanya bila ada sedikitnya 5 penilaian, selangnya (dikoreksi Bonferroni) tidak memuat 0, dan indeksnya sedikitnya 0,25. Lihat docs/calibration.md.", EN: "Index = mean difference of predikat scores (Sangat Baik 4 … Sangat Kurang 0) from the other appraisers' ratings in units of the same organisation predikat, shrunk by the number of ratings (empirical Bayes). Flagged only with at least 5 ratings, an interval (Bonferroni-adjusted) that excludes 0, and an index of at least 0.25. See docs/calibration.md."},
	"cal.per":         {ID: "Per pejabat penilai", EN: "Per appraiser"},
	"cal.caption":     {ID: "Pejabat penilai, yang ditandai lebih dahulu", EN: "Appraisers, the flagged ones first"},
	"cal.appraiser":   {ID: "Pejabat penilai", EN: "Appraiser"},
	"cal.n":           {ID: "Jumlah dinilai", EN: "Rated"},
	"cal.given":       {ID: "Predikat yang diberikan", EN: "Predikats given"},
	"cal.means":       {ID: "Rata-rata skor", EN: "Mean scores"},
	"cal.mean.given":  {ID: "penilai", EN: "appraiser"},
	"cal.mean.unit":   {ID: "unit", EN: "unit"},
	"cal.mean.agency": {ID: "instansi", EN: "agency"},
	"cal.index":       {ID: "Indeks (selang)", EN: "Index (interval)"},
	"cal.flag":        {ID: "Penanda", EN: "Flag"},
	"cal.lenient":     {ID: "Longgar", EN: "Lenient"},
	"cal.severe":      {ID: "Ketat", EN: "Severe"},
	"cal.objections":  {ID: "Keberatan", EN: "Objections"},
	"cal.changed":     {ID: "diubah", EN: "changed"},
	"cal.revisions":   {ID: "Revisi", EN: "Revisions"},
	"cal.before":      {ID: "sebelum terbit", EN: "before issue"},
	"cal.after":       {ID: "sesudah diterima", EN: "after delivery"},
	"cal.evidence":    {ID: "Bukti", EN: "Evidence"},
	"cal.events":      {ID: "penilaian", EN: "ratings"},
	"cal.reorder":     {ID: "Kembali ke urutan laporan", EN: "Back to the report's order"},
	"cal.none":        {ID: "Belum ada penilaian tahunan untuk tahun ini.", EN: "No annual ratings for this year."},
}
