package i18n

import "regexp"

// The domain's validation messages are English (they are the API's too).
// A form shows them beside its fields in the page's language: Problem
// translates the ones it knows, by pattern, and keeps the others as they
// are (a message added to the domain later is still shown, in English,
// until a pattern for it is added here).

type problemPattern struct {
	re *regexp.Regexp
	// id is the Indonesian text; $1, $2 … are the pattern's groups.
	id string
}

var problemPatterns = func() []problemPattern {
	raw := [][2]string{
		{`^required$`, "Wajib diisi."},
		{`^required, at most (\d+) characters$`, "Wajib diisi, paling banyak $1 karakter."},
		{`^at most (\d+) characters$`, "Paling banyak $1 karakter."},
		{`^must be valid UTF-8$`, "Berisi karakter yang tidak sah (UTF-8 tidak valid)."},
		{`^must not contain NUL or other control characters.*$`, "Tidak boleh berisi karakter kendali."},
		// NIP and NI PPPK (domain/nip).
		{`^must have 18 digits, has (\d+)$`, "NIP harus 18 angka; yang diisi $1 angka."},
		{`^legacy 9-digit NIP is not accepted; use the 18-digit NIP$`, "NIP lama 9 angka tidak diterima; gunakan NIP 18 angka."},
		{`^digits 1-8 are not a valid date of birth YYYYMMDD \((\d+)\)$`, "Angka 1–8 bukan tanggal lahir yang sah (TTTTBBHH): $1."},
		{`^digits 13-14 \((\d+)\) are neither a TMT month 01-12 \(PNS\) nor a PPPK code 21-29$`, "Angka 13–14 ($1) bukan bulan TMT 01–12 (PNS) maupun kode PPPK 21–29."},
		{`^digit 15 \(sex\) must be 1 or 2, is (.)$`, "Angka ke-15 (jenis kelamin) harus 1 atau 2, bukan $1."},
		{`^serial \(digits 16-18\) must be 001-999, is 000$`, "Nomor urut (angka 16–18) harus 001–999, bukan 000."},
		{`^TMT CPNS (\d{4}-\d{2}) is not after the date of birth (\S+)$`, "TMT CPNS $1 tidak sesudah tanggal lahir $2."},
		{`^year of appointment (\d+) is not after the year of birth (\d+)$`, "Tahun pengangkatan $1 tidak sesudah tahun lahir $2."},
		{`^the date of birth (\S+) lies in the future \(today is (\S+)\)$`, "Tanggal lahir $1 masih di masa depan (hari ini $2)."},
		{`^TMT CPNS (\d{4}-\d{2}) lies in the future \(today is (\S+)\)$`, "TMT CPNS $1 masih di masa depan (hari ini $2)."},
		{`^the year of first appointment (\d+) lies in the future \(today is (\S+)\)$`, "Tahun pengangkatan pertama $1 masih di masa depan (hari ini $2)."},
		// Units, employees and reporting lines.
		{`^unit (\S+) does not exist$`, "Unit $1 tidak ada."},
		{`^a unit cannot be its own parent$`, "Unit tidak dapat menjadi induknya sendiri."},
		{`^must be 1-(\d+) characters of letters, digits and .*$`, "Harus 1–$1 karakter berupa huruf, angka dan _ . : @ = + -, diawali huruf atau angka."},
		{`^must be one of JPT_UTAMA, .*$`, "Pilih salah satu jenis jabatan."},
		{`^employee (\d+) is not registered$`, "Pegawai $1 belum terdaftar."},
		{`^an employee cannot appraise themselves$`, "Pegawai tidak dapat menilai dirinya sendiri."},
		{`^the appraiser's superior must be someone other than the appraiser$`, "Atasan pejabat penilai harus orang lain daripada pejabat penilai."},
		{`^an employee cannot be their own appraiser's superior$`, "Pegawai tidak dapat menjadi atasan pejabat penilainya sendiri."},
		{`^must be DEFINITIF, PLT, PLH or DELEGATE$`, "Pilih Definitif, Plt, Plh atau Delegasi."},
		{`^required when the appraiser acts as (\S+)$`, "Wajib diisi bila penilai berkedudukan $1."},
		{`^cycle in the appraisal chain on (\S+): (.*) \(each appraised by the next\)$`, "Rantai penilaian berputar pada $1: $2 (masing-masing dinilai oleh yang berikutnya)."},
		// Master data effective before today: HR's backfill from the decree
		// (domain.md §10, bizdate).
		{`^required: \S+ (\S+) lies before today, so the act is a backfill from the signed decree \(SK\): give its number$`, "Wajib diisi: tanggal berlaku $1 sebelum hari ini, jadi data ini entri susulan dari SK yang ditandatangani. Sebutkan nomor SK-nya."},
		{`^only for a backfill: \S+ (\S+) does not lie before today$`, "Hanya untuk entri susulan: tanggal berlaku $1 tidak sebelum hari ini. Kosongkan nomor SK."},
		{`^a backfill may be dated at most (\d+) days before its recording .*$`, "Entri susulan paling jauh $1 hari sebelum hari pencatatan."},
		{`^may lie at most (\d+) days after the recording$`, "Paling jauh $1 hari sesudah hari pencatatan."},
		{`^must not contain control characters$`, "Tidak boleh berisi karakter kendali."},
		{`^must not contain bidirectional override or isolate characters.*$`, "Tidak boleh berisi karakter pengubah arah teks (U+202A–U+202E, U+2066–U+2069)."},
		{`^must not begin or end with a space$`, "Tidak boleh diawali atau diakhiri spasi."},
		{`^at most (\d+) bytes$`, "Paling banyak $1 bita."},
		{`^the appraiser holds a (\S+) post; an appraiser is at least PENGAWAS .*$`, "Penilai menduduki jabatan $1; pejabat penilai sekurang-kurangnya Pengawas, kecuali ada penunjukan (Plt, Plh atau delegasi dengan dasar penunjukannya)."},
		// Feedback givers, objection deciders, officials, closing an SKP,
		// distribution justifications (the forms of issue 12).
		{`^must be TEAM_LEAD or PEMBERI_PERTIMBANGAN$`, "Pilih ketua tim atau pemberi pertimbangan."},
		{`^at most (\d+) characters, without control characters$`, "Paling banyak $1 karakter, tanpa karakter kendali."},
		{`^the employee gives feedback on their own SKP without an assignment$`, "Pegawai memberi umpan balik atas SKP-nya sendiri tanpa penugasan."},
		{`^the appraiser gives feedback without an assignment$`, "Pejabat penilai memberi umpan balik tanpa penugasan."},
		{`^must be DELEGATION_PLT, DELEGATION_PLH or ESCALATION$`, "Pilih pelimpahan kepada Plt, kepada Plh, atau eskalasi."},
		{`^required: the delegation letter, or why the objection is escalated \(at most (\d+) characters\)$`, "Wajib diisi: surat penugasan, atau alasan eskalasi (paling banyak $1 karakter)."},
		{`^the next level up on the filing date is (\S+)$`, "Atasan berikutnya pada tanggal pengajuan adalah $1."},
		{`^separation of duty: the decider cannot be the original appraiser$`, "Pemisahan tugas: pemutus tidak boleh pejabat penilai yang menilai."},
		{`^separation of duty: the employee cannot decide their own objection$`, "Pemisahan tugas: pegawai tidak dapat memutus keberatannya sendiri."},
		{`^must be 1-64 of A-Z, 0-9, _ and -$`, "Harus 1–64 karakter berupa huruf besar A–Z, angka, _ dan -."},
		{`^must be MINISTER, COORDINATING_MINISTER, .*$`, "Pilih salah satu jabatan."},
		{`^must lie in the SKP year (\d+)$`, "Harus dalam tahun SKP $1."},
		{`^"(\S+)": (-?\d+) is not a count of a known predikat$`, "$2 bukan jumlah untuk predikat yang dikenal ($1)."},
		{`^the distribution follows the pattern; there is nothing to justify$`, "Sebaran sudah sesuai pola; tidak ada yang perlu dijustifikasi."},
	}
	out := make([]problemPattern, len(raw))
	for i, r := range raw {
		out[i] = problemPattern{re: regexp.MustCompile(r[0]), id: r[1]}
	}
	return out
}()

// Problem returns the domain's validation message msg in lang: the
// Indonesian text of the first pattern that matches, or msg itself (in
// English, and for a message no pattern knows).
func Problem(lang, msg string) string {
	if lang == EN {
		return msg
	}
	for _, p := range problemPatterns {
		if m := p.re.FindStringSubmatchIndex(msg); m != nil {
			return string(p.re.ExpandString(nil, p.id, msg, m))
		}
	}
	return msg
}
