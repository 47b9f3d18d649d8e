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
