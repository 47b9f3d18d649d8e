package documents

import "github.com/kinerja-ledger/kinerja/adapters/web/i18n"

// messages are the feature's own words (i18n.Shared has the common ones).
var messages = i18n.Catalog{
	"doc.title":          {ID: "Dokumen cetak", EN: "Printed documents"},
	"doc.intro":          {ID: "Dokumen resmi dalam format PDF, disusun menurut formulir PermenPANRB 6/2022. Setiap dokumen memuat blok verifikasi dengan kode QR: siapa pun dapat memeriksa bahwa isinya sesuai dengan buku besar.", EN: "Official documents as PDF, laid out after the forms of PermenPANRB 6/2022. Every document carries a verification block with a QR code: anyone can check that it matches the ledger."},
	"doc.skp":            {ID: "Sasaran Kinerja Pegawai beserta lampiran", EN: "The SKP with its annex"},
	"doc.evaluation":     {ID: "Dokumen Evaluasi Kinerja Pegawai", EN: "Performance evaluation document"},
	"doc.download":       {ID: "Unduh PDF", EN: "Download PDF"},
	"doc.noevals":        {ID: "Belum ada periode yang dinilai.", EN: "No period has been rated yet."},
	"doc.revision":       {ID: "Dicetak dari revisi terkini", EN: "Printed from the current revision"},
	"verify.title":       {ID: "Verifikasi dokumen", EN: "Document verification"},
	"verify.valid":       {ID: "Kode verifikasi sah: dokumen ini diterbitkan oleh Kinerja Ledger dan kodenya ditandatangani dengan kunci audit", EN: "The verification code is valid: this document was issued by Kinerja Ledger and its code is signed with the audit key"},
	"verify.kind":        {ID: "Jenis dokumen", EN: "Document"},
	"verify.revision":    {ID: "Revisi", EN: "Revision"},
	"doc.revision.short": {ID: "revisi", EN: "revision"},
	"verify.position":    {ID: "Posisi buku besar", EN: "Ledger position"},
	"verify.printed":     {ID: "Dicetak", EN: "Printed"},
	"verify.match":       {ID: "Cocok dengan buku besar: revisi yang dicetak masih tercatat pada posisi yang sama dengan hash rantai yang sama.", EN: "Matches the ledger: the printed revision is still recorded at the same position with the same chain hash."},
	"verify.mismatch":    {ID: "TIDAK cocok dengan buku besar: revisi yang dicetak tidak lagi tercatat seperti saat dicetak. Hubungi pengelola kepegawaian.", EN: "Does NOT match the ledger: the printed revision is no longer recorded as it was when printed. Contact the HR office."},
	"verify.changes":     {ID: "Perubahan sejak dicetak", EN: "Changes since printing"},
	"verify.nochange":    {ID: "Tidak ada perubahan sejak dicetak: dokumen ini mencerminkan keadaan terkini.", EN: "Nothing changed since printing: this document shows the current state."},
	"verify.changed":     {ID: "peristiwa tercatat sejak dicetak; revisi terkini", EN: "events recorded since printing; current revision"},
	"verify.shown":       {ID: "Ditampilkan paling banyak 50 yang terbaru.", EN: "At most the 50 newest are shown."},
	"verify.content":     {ID: "Halaman ini tidak menampilkan isi dokumen. Kode mengikat isi cetakan: periksa berkas PDF dengan kinerjactl verify-document dan kunci publik audit untuk memastikan isinya tidak diubah.", EN: "This page does not show the document's content. The code binds the printed content: check the PDF file with kinerjactl verify-document and the audit public key to make sure its content was not changed."},
	"verify.skp":         {ID: "Sasaran Kinerja Pegawai", EN: "SKP"},
	"verify.eval":        {ID: "Dokumen Evaluasi Kinerja Pegawai", EN: "Performance evaluation document"},
	"verify.event":       {ID: "Peristiwa", EN: "Event"},
}
