package seed

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// The lists below are the raw material of the agency: common Indonesian
// given names and family names, academic degrees, the agencies' and units'
// vocabulary, and the phrases of plans, feedback and decisions. Everything
// is composed from them with the seeded generator, so a seed always gives
// the same people and texts. None of the agencies exists.

var maleGiven = []string{
	"Agus", "Ahmad", "Andi", "Arief", "Bambang", "Budi", "Dedi", "Deni", "Dimas", "Eko", "Fajar", "Hadi",
	"Hendra", "Heru", "Imam", "Irfan", "Joko", "Muhammad", "Rudi", "Rizky", "Slamet", "Sugeng", "Teguh",
	"Wahyu", "Yusuf", "Bayu", "Gilang", "Hari", "Ilham", "Nanang", "Rahmat", "Ridwan", "Taufik", "Wawan",
	"Fikri", "Aditya", "Bagus", "Dani", "Galih", "Herman", "Iwan", "Lukman", "Mulyadi", "Yoga", "Arif",
	"Hendri", "Suryadi", "Sutrisno", "Yudi", "Fauzan", "Haris", "Kevin", "Reza", "Satria", "Tono",
}

var femaleGiven = []string{
	"Ani", "Ayu", "Dewi", "Dian", "Endang", "Fitri", "Indah", "Intan", "Kartika", "Lestari", "Maya", "Mega",
	"Nining", "Putri", "Rina", "Rini", "Ratna", "Sari", "Siti", "Sri", "Wulan", "Yanti", "Yuni", "Rahma",
	"Nurul", "Novi", "Lia", "Eka", "Dwi", "Anisa", "Nadia", "Rizka", "Suci", "Tuti", "Wahyuni", "Citra",
	"Desi", "Evi", "Fatimah", "Hesti", "Ika", "Lina", "Mira", "Nia", "Okta", "Puji", "Reni", "Susi", "Tika",
}

var maleFamily = []string{
	"Santoso", "Wijaya", "Saputra", "Pratama", "Hidayat", "Kusuma", "Setiawan", "Susanto", "Gunawan",
	"Hakim", "Nugroho", "Wibowo", "Purnomo", "Ramadhan", "Firmansyah", "Maulana", "Handoko", "Sulistyo",
	"Prabowo", "Syahputra", "Effendi", "Fauzi", "Rachman", "Kurniawan", "Prasetyo", "Hermawan", "Suharto",
}

var femaleFamily = []string{
	"Rahayu", "Wulandari", "Lestari", "Anggraini", "Utami", "Susanti", "Safitri", "Kurniasih", "Pratiwi",
	"Saputri", "Permatasari", "Handayani", "Puspitasari", "Maharani", "Novitasari", "Rahmawati", "Hartati",
}

// marga are Batak, Karo and Mandailing clan names, used by both sexes.
var marga = []string{
	"Siregar", "Nasution", "Harahap", "Lubis", "Simanjuntak", "Sitompul", "Hasibuan", "Tanjung", "Sinaga",
	"Manurung", "Tambunan", "Panjaitan", "Situmorang", "Daulay", "Pohan", "Sembiring", "Ginting", "Tarigan",
}

// Balinese names start with a birth-order name.
var (
	baliOrder  = []string{"Wayan", "Made", "Nyoman", "Ketut", "Putu", "Kadek", "Komang", "Gede"}
	baliGiven  = []string{"Suarta", "Wirawan", "Sudarma", "Artawan", "Suardana", "Mahendra", "Adnyana", "Suyasa"}
	baliGivenF = []string{"Sukerti", "Ariani", "Suryani", "Wahyuni", "Astiti", "Sriani", "Widiastuti", "Purnami"}
)

var (
	bachelor = []string{"S.E.", "S.Kom.", "S.H.", "S.Sos.", "S.T.", "S.Si.", "S.Stat.", "S.Ak.", "S.I.P.", "S.Pd.", "S.A.P."}
	master   = []string{"M.Si.", "M.M.", "M.T.", "M.Kom.", "M.A.P.", "M.Ec.Dev.", "M.P.A.", "M.Stat."}
	diploma  = []string{"A.Md.", "A.Md.Kom.", "A.Md.Ak."}
)

// personName composes a name. Senior officials carry more degrees.
func personName(rng *rand.Rand, female bool, seniority int) string {
	var b strings.Builder
	if seniority >= 3 && rng.IntN(4) == 0 {
		b.WriteString("Dr. ")
	} else if seniority >= 2 && rng.IntN(10) == 0 {
		b.WriteString("Ir. ")
	}
	switch r := rng.IntN(100); {
	case r < 6: // Balinese
		if female {
			b.WriteString("Ni Luh " + pick(rng, baliOrder) + " " + pick(rng, baliGivenF))
		} else {
			b.WriteString("I " + pick(rng, baliOrder) + " " + pick(rng, baliGiven))
		}
	case r < 18: // a given name and a marga
		b.WriteString(given(rng, female) + " " + pick(rng, marga))
	case r < 30: // a single name, common in Java
		b.WriteString(given(rng, female))
	case r < 40: // two given names and a family name
		b.WriteString(given(rng, female) + " " + given(rng, female) + " " + family(rng, female))
	default:
		b.WriteString(given(rng, female) + " " + family(rng, female))
	}
	var degrees []string
	switch {
	case seniority >= 2:
		degrees = append(degrees, pick(rng, bachelor), pick(rng, master))
	case seniority == 1 || rng.IntN(100) < 70:
		degrees = append(degrees, pick(rng, bachelor))
		if rng.IntN(100) < 15 {
			degrees = append(degrees, pick(rng, master))
		}
	case rng.IntN(2) == 0:
		degrees = append(degrees, pick(rng, diploma))
	}
	if len(degrees) > 0 {
		b.WriteString(", " + strings.Join(degrees, ", "))
	}
	return b.String()
}

func given(rng *rand.Rand, female bool) string {
	if female {
		return pick(rng, femaleGiven)
	}
	return pick(rng, maleGiven)
}

func family(rng *rand.Rand, female bool) string {
	if female {
		return pick(rng, femaleFamily)
	}
	return pick(rng, maleFamily)
}

func pick[T any](rng *rand.Rand, list []T) T { return list[rng.IntN(len(list))] }

// agencies are the possible roots: a non-ministerial agency (lembaga
// pemerintah non-kementerian) headed by a JPT Utama.
var agencies = []struct{ name, code string }{
	{"Badan Pengelolaan Data dan Informasi Nasional", "BPDIN"},
	{"Badan Riset dan Pengembangan Kebijakan Publik", "BRPKP"},
	{"Badan Pengawasan Mutu Layanan Publik", "BPMLP"},
	{"Badan Statistik dan Geospasial Terpadu", "BSGT"},
	{"Lembaga Pengembangan Kapasitas Aparatur", "LPKA"},
}

// deputyFields name the deputies (Kedeputian, JPT Madya) after the first,
// which is always the Sekretariat Utama.
var deputyFields = []string{
	"Metodologi dan Informasi", "Pelayanan Publik", "Pengembangan Kapasitas", "Pengawasan dan Evaluasi",
	"Kerja Sama dan Kemitraan", "Riset dan Inovasi", "Analisis dan Diseminasi", "Kebijakan Strategis",
	"Pembinaan Wilayah", "Transformasi Digital",
}

// bureaus are the units (JPT Pratama) of the Sekretariat Utama; the first
// is where the HR administrator and the grievance clerk work.
var bureaus = []string{
	"Sumber Daya Manusia", "Perencanaan dan Keuangan", "Hukum dan Hubungan Masyarakat", "Umum dan Pengadaan",
	"Organisasi dan Tata Laksana", "Kerja Sama dan Protokol",
}

// topics name directorates, sub-directorates, sections and the subject of
// plans.
var topics = []string{
	"Analisis Kebijakan", "Pengolahan Data", "Diseminasi Informasi", "Standardisasi", "Pemantauan dan Evaluasi",
	"Layanan Informasi", "Pengendalian Mutu", "Metodologi", "Kemitraan Daerah", "Pengembangan Sistem",
	"Inovasi Layanan", "Penyusunan Norma", "Verifikasi dan Validasi", "Fasilitasi Daerah", "Integrasi Data",
	"Kajian Strategis", "Pengembangan Kompetensi", "Pelaporan Kinerja", "Perencanaan Program", "Tata Usaha",
	"Pengelolaan Arsip", "Keuangan dan Perbendaharaan", "Barang Milik Negara", "Hubungan Antarlembaga",
}

// firstTopics fix the names of the first unit at each level below the
// Biro Sumber Daya Manusia, so that the HR administrator's unit reads right.
var firstTopics = map[int]string{3: "Pengelolaan Kepegawaian", 4: "Administrasi Kepegawaian"}

// roman numbers a name used twice among siblings.
func roman(n int) string {
	r := []string{"", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"}
	if n < len(r) {
		return r[n]
	}
	return fmt.Sprint(n)
}

// Staff posts: functional posts (JF, with their tiers) and administrative
// implementers (PELAKSANA).
var (
	jfPosts = []string{
		"Analis Kebijakan", "Analis Sumber Daya Manusia Aparatur", "Pranata Komputer", "Arsiparis", "Perencana",
		"Auditor", "Statistisi", "Pranata Hubungan Masyarakat", "Analis Pengelolaan Keuangan APBN", "Pustakawan",
		"Analis Anggaran", "Penerjemah", "Analis Hukum",
	}
	jfTiers        = []string{"Ahli Pertama", "Ahli Pertama", "Ahli Muda", "Ahli Muda", "Ahli Madya"}
	pelaksanaPosts = []string{
		"Pengadministrasi Perkantoran", "Penata Layanan Operasional", "Pengolah Data dan Informasi",
		"Pengelola Umum Operasional", "Operator Layanan Operasional", "Penelaah Teknis Kebijakan",
		"Pengelola Layanan Operasional", "Penata Kelola Sistem dan Teknologi Informasi", "Pengelola Keuangan",
		"Pengadministrasi Keuangan", "Pengelola Barang Milik Negara", "Pengolah Data Kepegawaian",
	}
)

// Plans: the planned results (RHK) at each level, completed with the unit's
// topic, and the additional results (TAMBAHAN).
var (
	rhkJPT = []string{
		"Meningkatnya kualitas %s yang dimanfaatkan pemangku kepentingan",
		"Terwujudnya tata kelola %s yang akuntabel",
		"Meningkatnya efektivitas program %s nasional",
	}
	rhkAdministrator = []string{
		"Tersedianya rekomendasi %s yang berkualitas",
		"Terlaksananya program %s sesuai rencana",
		"Meningkatnya efektivitas layanan %s",
	}
	rhkPengawas = []string{
		"Tersusunnya laporan %s tepat waktu",
		"Terlaksananya kegiatan %s sesuai standar",
		"Terkelolanya data %s secara akurat",
	}
	rhkStaff = []string{
		"Tersusunnya bahan %s",
		"Terlaksananya pengolahan data %s",
		"Terselesaikannya administrasi %s",
		"Tersedianya dokumen %s yang lengkap",
		"Terlaksananya dukungan teknis %s",
	}
	rhkExtra = []string{
		"Terlaksananya tugas sebagai anggota tim pengadaan barang dan jasa",
		"Terlaksananya tugas sebagai anggota tim Zona Integritas",
		"Terlaksananya tugas sebagai pengelola laman unit kerja",
		"Terlaksananya tugas sebagai sekretaris panitia kegiatan",
		"Terlaksananya tugas sebagai anggota tim reformasi birokrasi",
	}
	documents = []string{"dokumen", "laporan", "kajian", "rekomendasi", "kegiatan", "naskah"}
)

// Words of the appraisal: expectations, feedback, rationales, reasons and
// decisions.
var (
	expectations = []string{
		"Menyelesaikan layanan sesuai standar waktu dan responsif terhadap pengguna",
		"Melaporkan capaian secara jujur, tepat waktu, dan dapat dipertanggungjawabkan",
		"Aktif meningkatkan kompetensi melalui pelatihan dan berbagi pengetahuan",
		"Membangun suasana kerja yang saling menghargai",
		"Menjaga nama baik instansi dan kerahasiaan data",
		"Cepat menyesuaikan diri dengan perubahan proses bisnis dan aplikasi",
		"Terbuka bekerja sama lintas unit untuk hasil yang lebih baik",
	}
	feedbackAppraiser = []string{
		"Capaian sudah sesuai rencana; pertahankan ketepatan waktu pelaporan.",
		"Mohon lengkapi bukti dukung sebelum akhir triwulan.",
		"Kualitas naskah meningkat, namun perlu lebih cermat pada analisis data.",
		"Koordinasi dengan unit terkait perlu ditingkatkan agar target tercapai.",
		"Hasil kerja baik; silakan dokumentasikan praktik baiknya untuk tim.",
		"Target kuantitas masih tertinggal, susun rencana aksi percepatan.",
	}
	feedbackPeer = []string{
		"Terima kasih atas bantuan pengolahan data untuk laporan bersama.",
		"Sangat membantu saat koordinasi kegiatan lintas subbagian.",
		"Responsif dan teliti ketika menyiapkan bahan rapat.",
	}
	feedbackSelf = []string{
		"Kendala utama triwulan ini adalah keterlambatan data dari unit lain.",
		"Saya memerlukan pelatihan lanjutan pengolahan data.",
	}
	rationales = map[string][]string{
		"DI_ATAS_EKSPEKTASI": {
			"Capaian melampaui target pada seluruh indikator dengan bukti dukung lengkap.",
			"Hasil kerja di atas target dan menjadi rujukan unit lain.",
		},
		"SESUAI_EKSPEKTASI": {
			"Capaian sesuai target yang disepakati dengan bukti dukung memadai.",
			"Sebagian besar indikator tercapai sesuai rencana.",
		},
		"DI_BAWAH_EKSPEKTASI": {
			"Beberapa indikator utama belum mencapai target.",
			"Capaian di bawah target dan bukti dukung belum lengkap.",
		},
	}
	revisionReasons = []string{
		"Koreksi setelah verifikasi bukti dukung tambahan",
		"Penyesuaian setelah dialog kinerja dengan pegawai",
		"Perbaikan kekeliruan input penilaian perilaku",
	}
	returnReasons = []string{
		"Target kuantitas belum realistis; mohon disesuaikan dengan rencana aksi unit.",
		"Indikator kualitas perlu dirumuskan lebih terukur.",
		"Mohon selaraskan RHK dengan RHK pimpinan yang diintervensi.",
	}
	objectionReasons = []string{
		"Penilaian tidak mempertimbangkan bukti dukung yang telah saya unggah.",
		"Target yang dinilai berbeda dengan SKP yang ditetapkan.",
		"Saya tidak mendapat umpan balik selama tahun berjalan atas kekurangan yang dinilai.",
		"Penilaian perilaku tidak disertai catatan kejadian yang konkret.",
	}
	explanationsAppraiser = []string{
		"Penilaian didasarkan pada realisasi dan bukti dukung yang tercatat pada akhir tahun.",
		"Umpan balik telah disampaikan pada dialog kinerja triwulan.",
	}
	explanationsEmployee = []string{
		"Bukti dukung tambahan berupa laporan kegiatan telah saya lampirkan.",
		"Sebagian target terhambat karena penugasan tambahan dari pimpinan.",
	}
	decisionsUpheld = []string{
		"Setelah memeriksa keterangan kedua pihak, penilaian dinilai telah sesuai dengan bukti dukung.",
		"Keberatan tidak dapat diterima; penilaian pejabat penilai kinerja dikuatkan.",
	}
	decisionsChanged = []string{
		"Keberatan diterima sebagian; bukti dukung tambahan menunjukkan capaian lebih tinggi.",
		"Penilaian diubah karena umpan balik tidak pernah disampaikan selama tahun berjalan.",
	}
	withdrawReasons = []string{
		"Telah diselesaikan melalui dialog kinerja dengan pejabat penilai.",
		"Pegawai menerima penjelasan pejabat penilai kinerja.",
	}
	justifications = []string{
		"Sebaran predikat mencerminkan capaian riil unit; seluruh pegawai mencapai target dengan bukti dukung terverifikasi.",
		"Jumlah pegawai unit kecil sehingga pola distribusi tidak dapat dipenuhi secara proporsional.",
		"Deviasi telah dibahas dalam rapat pimpinan dan didukung hasil reviu APIP.",
	}
	predikatReasons = []string{
		"Koreksi berdasarkan hasil reviu Inspektorat atas capaian rencana aksi",
		"Penyesuaian setelah verifikasi data capaian perjanjian kinerja",
	}
)
