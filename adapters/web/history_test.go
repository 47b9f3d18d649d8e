package web

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// "My history": what was recorded about the signed-in person, by whom,
// newest first, with links to the SKP as recorded then; reachable from
// the home page; nobody else's.
func TestMyHistory(t *testing.T) {
	h := seeded(t)
	home := h.must200(empE, "/")
	if !strings.Contains(home.body, `id="home-history" href="/riwayat-saya"`) || !strings.Contains(home.body, `id="home-draft"`) {
		t.Error("the home page does not link an employee to their history and to drafting")
	}
	if r := h.must200(hrAdmin, "/"); strings.Contains(r.body, `id="home-history"`) {
		t.Error("the home page offers a service account a history")
	}
	r := h.must200(empE, "/riwayat-saya")
	for _, want := range []string{"Umpan balik diberikan", "Dewi Lestari", `href="/skp/` + h.ag.skpE + `?as_of=`, "Keberatan"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("E's history does not show %q", want)
		}
	}
	// Newest first.
	pos := regexp.MustCompile(`data-position="([0-9]+)"`).FindAllStringSubmatch(r.body, -1)
	if len(pos) < 10 {
		t.Fatalf("E's history has %d items", len(pos))
	}
	for i := 1; i < len(pos); i++ {
		if len(pos[i][1]) > len(pos[i-1][1]) || (len(pos[i][1]) == len(pos[i-1][1]) && pos[i][1] >= pos[i-1][1]) {
			t.Fatalf("the history is not newest first at item %d", i)
		}
	}
	// ?sebelum= shows what was recorded before a position.
	mid := pos[5][1]
	older := h.must200(empE, "/riwayat-saya?sebelum="+mid)
	if got := regexp.MustCompile(`data-position="([0-9]+)"`).FindStringSubmatch(older.body); got == nil || got[1] != pos[6][1] {
		t.Errorf("the page before %s starts at %v, want %s", mid, got, pos[6][1])
	}
	// Older pages: the positions continue below the last one shown.
	if next := regexp.MustCompile(`id="history-next" href="([^"]+)"`).FindStringSubmatch(r.body); next != nil {
		older := h.must200(empE, strings.ReplaceAll(next[1], "&amp;", "&"))
		if strings.Contains(older.body, `data-position="`+pos[len(pos)-1][1]+`"`) {
			t.Error("the older page repeats the last item")
		}
	}
	// English with the switch.
	if r := h.must200(empE, "/riwayat-saya?lang=en"); !strings.Contains(r.body, "<h1>My history</h1>") || !strings.Contains(r.body, "Feedback given") {
		t.Error("the history in English is not")
	}
	if r := h.must200(empE, "/skp/"+h.ag.skpE+"/penilaian-diri?lang=en"); !strings.Contains(r.body, "Submit the self-assessment") {
		t.Error("the self-assessment form in English is not")
	}
	// Only one's own; service accounts have none; bad parameters.
	if r := h.must200(empX, "/riwayat-saya"); strings.Contains(r.body, h.ag.skpE) {
		t.Error("X's history shows E's SKP")
	}
	if r := h.get(&hrAdmin, "/riwayat-saya"); r.status != http.StatusNotFound {
		t.Errorf("the history of a service account = %d, want 404", r.status)
	}
	for _, q := range []string{"abc", "0", "-1"} {
		if r := h.get(&empE, "/riwayat-saya?sebelum="+q); r.status != http.StatusBadRequest {
			t.Errorf("?sebelum=%s = %d, want 400", q, r.status)
		}
	}
	if r := h.get(nil, "/riwayat-saya"); r.status != http.StatusSeeOther {
		t.Errorf("the history without signing in = %d, want the sign-in redirect", r.status)
	}
}
