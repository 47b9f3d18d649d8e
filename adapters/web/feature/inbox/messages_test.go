package inbox

import (
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/web/i18n"
	"github.com/kinerja-ledger/kinerja/adapters/web/page/pagetest"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

// Every message key the feature's templates use has both languages.
func TestMessages(t *testing.T) { pagetest.CheckMessages(t, files, messages) }

// Every kind of item has words in both languages, and the time left reads
// right on both sides of the deadline.
func TestWords(t *testing.T) {
	for _, k := range deadlines.Kinds() {
		txt, ok := messages["inbox.kind."+string(k)]
		if !ok || txt.ID == "" || txt.EN == "" {
			t.Errorf("kind %s has no words", k)
		}
	}
	due := time.Date(2027, 1, 18, 23, 59, 59, 0, time.UTC)
	for _, c := range []struct {
		days    int
		overdue bool
		id, en  string
	}{
		{3, false, "sisa 3 hari", "3 days left"},
		{0, false, "hari ini", "today"},
		{0, true, "tenggat telah lewat", "the deadline has passed"},
		{-2, true, "terlambat 2 hari", "2 days overdue"},
	} {
		it := app.InboxItem{Item: deadlines.Item{Kind: deadlines.RatePeriod, Due: due}, DaysLeft: c.days, Overdue: c.overdue}
		if got := DaysLeft(i18n.ID, it); got != c.id {
			t.Errorf("%d days (overdue %v): %q, want %q", c.days, c.overdue, got, c.id)
		}
		if got := DaysLeft(i18n.EN, it); got != c.en {
			t.Errorf("%d days (overdue %v): %q, want %q", c.days, c.overdue, got, c.en)
		}
	}
	if got := What(i18n.ID, app.InboxItem{Item: deadlines.Item{Kind: deadlines.DecideObjection}}); got != "Putuskan keberatan" {
		t.Errorf("what: %q", got)
	}
}
