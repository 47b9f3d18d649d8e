package i18n

import (
	"testing"

	"github.com/kinerja-ledger/kinerja/domain/eventcodec"
)

// Every stored event type has a name in both languages (the SKP timeline
// and the audit filter show them), and every shared message both texts.
func TestEventNames(t *testing.T) {
	for _, typ := range eventcodec.Types() {
		m, ok := Shared["event."+typ]
		if !ok || m.ID == "" || m.EN == "" {
			t.Errorf("no name in both languages for the event type %s", typ)
		}
	}
	for k, m := range Shared {
		if m.ID == "" || m.EN == "" {
			t.Errorf("message %q lacks a language", k)
		}
	}
}

func TestLabels(t *testing.T) {
	for kind, values := range map[string][]string{
		"predikat": {"SANGAT_BAIK", "BAIK", "BUTUH_PERBAIKAN", "KURANG_MISCONDUCT", "SANGAT_KURANG"},
		"status":   {"DRAFT", "SUBMITTED", "ESTABLISHED", "AMENDMENT", "CANCELLED", "CLOSED_FOR_POSITION_CHANGE"},
	} {
		for _, v := range values {
			if Label(ID, kind, v) == v || Label(EN, kind, v) == v {
				t.Errorf("no label for %s %s", kind, v)
			}
		}
	}
	if got := Label(EN, "predikat", "SOMETHING_NEW"); got != "SOMETHING_NEW" {
		t.Errorf("an unknown value is shown as %q, want its stored spelling", got)
	}
	if got := Label(ID, "predikat", ""); got != "—" {
		t.Errorf("an empty value is shown as %q", got)
	}
}

// The domain's validation messages are shown in Indonesian when a pattern
// knows them, in English with the switch, and as they are otherwise.
func TestProblem(t *testing.T) {
	for msg, want := range map[string]string{
		"must have 18 digits, has 17":                                                        "NIP harus 18 angka; yang diisi 17 angka.",
		"required, at most 200 characters":                                                   "Wajib diisi, paling banyak 200 karakter.",
		"employee 198001012005011099 is not registered":                                      "Pegawai 198001012005011099 belum terdaftar.",
		"the date of birth 2027-01-01 lies in the future (today is 2026-01-05)":              "Tanggal lahir 2027-01-01 masih di masa depan (hari ini 2026-01-05).",
		"cycle in the appraisal chain on 2026-07-01: 1 → 2 → 1 (each appraised by the next)": "Rantai penilaian berputar pada 2026-07-01: 1 → 2 → 1 (masing-masing dinilai oleh yang berikutnya).",
		"a message nobody translated":                                                        "a message nobody translated",
	} {
		if got := Problem(ID, msg); got != want {
			t.Errorf("Problem(id, %q) = %q, want %q", msg, got, want)
		}
		if got := Problem(EN, msg); got != msg {
			t.Errorf("Problem(en, %q) = %q", msg, got)
		}
	}
}
