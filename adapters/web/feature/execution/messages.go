package execution

import "github.com/kinerja-ledger/kinerja/adapters/web/i18n"

// messages are the feature's own words (i18n.Shared has the common ones).
var messages = i18n.Catalog{
	"execution.realisation.title":  {ID: "Catat realisasi", EN: "Record a realisation"},
	"execution.evidence.title":     {ID: "Unggah bukti dukung", EN: "Upload evidence"},
	"execution.feedback.title":     {ID: "Beri umpan balik", EN: "Give feedback"},
	"execution.self.title":         {ID: "Penilaian diri", EN: "Self-assessment"},
	"execution.self.hint":          {ID: "Penilaian diri Anda dibaca pejabat penilai sebelum memberi nilai periode ini. Mengirim lagi menggantikan yang sebelumnya; keduanya tetap tercatat.", EN: "Your appraiser reads your self-assessment before rating this period. Sending again supersedes the earlier one; both stay recorded."},
	"execution.self.current":       {ID: "Penilaian diri yang berlaku untuk periode ini disampaikan pada", EN: "The self-assessment in effect for this period was submitted at"},
	"execution.self.text":          {ID: "Penilaian diri", EN: "Self-assessment"},
	"execution.self.notes":         {ID: "Catatan per RHK (opsional)", EN: "Notes per RHK (optional)"},
	"execution.self.submit":        {ID: "Sampaikan penilaian diri", EN: "Submit the self-assessment"},
	"execution.notopen":            {ID: "SKP ini belum ditetapkan atau telah berakhir; belum ada yang dapat dicatat.", EN: "This SKP is not established or has ended; nothing can be recorded yet."},
	"execution.indicator":          {ID: "Indikator", EN: "Indicator"},
	"execution.target":             {ID: "target", EN: "target"},
	"execution.value":              {ID: "Capaian (angka)", EN: "Achieved (number)"},
	"execution.narrative":          {ID: "Keterangan (opsional)", EN: "Narrative (optional)"},
	"execution.save":               {ID: "Simpan", EN: "Save"},
	"execution.cancel":             {ID: "Batal", EN: "Cancel"},
	"execution.file":               {ID: "Berkas bukti dukung", EN: "Evidence file"},
	"execution.file.hint":          {ID: "PDF, PNG, JPEG, DOCX, XLSX, ODT atau teks biasa; jenis diperiksa dari isi berkas. Paling besar", EN: "PDF, PNG, JPEG, DOCX, XLSX, ODT or plain text; the type is checked from the file's content. At most"},
	"execution.upload":             {ID: "Unggah", EN: "Upload"},
	"execution.file.toolarge":      {ID: "Berkas ini terlalu besar. Paling besar", EN: "This file is too large. At most"},
	"execution.feedback.rhk":       {ID: "Tentang RHK (opsional)", EN: "About an RHK (optional)"},
	"execution.feedback.indicator": {ID: "Tentang indikator (opsional)", EN: "About an indicator (optional)"},
	"execution.feedback.behaviour": {ID: "Tentang perilaku kerja (opsional)", EN: "About a work behaviour (optional)"},
	"execution.feedback.general":   {ID: "(umum)", EN: "(general)"},
	"execution.feedback.text":      {ID: "Umpan balik", EN: "Feedback"},
	"execution.feedback.submit":    {ID: "Kirim umpan balik", EN: "Send the feedback"},
}
