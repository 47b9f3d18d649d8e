package deadlines_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

const (
	nipE = "199001012015031001"
	nipA = "198502022010012002"
	nipS = "197503032000031003"
)

var wib = policy.WIB

// journey builds an SKP from facts, in order, the way the ledger replays
// it.
type journey struct {
	events []domain.Stored
}

func (j *journey) add(at time.Time, actor string, e domain.Event) *journey {
	n := len(j.events)
	j.events = append(j.events, domain.Stored{
		ID: uuid.New(), Revision: uint64(n), RecordedAt: at,
		Meta:  domain.Meta{Actor: domain.Actor{ID: actor}, OccurredAt: at},
		Event: e,
	})
	return j
}

func (j *journey) skp() *skp.SKP { return skp.Replay(j.events) }

func drafted(at time.Time) *journey {
	j := &journey{}
	return j.add(at, nipE, skp.Drafted{SKPID: nipE + "-2026", NIP: nipE, Year: 2026, Sequence: 1, Approach: "KUANTITATIF",
		PeriodStart: calendar.MustNew(2026, 1, 1), PeriodEnd: calendar.MustNew(2026, 12, 31),
		Employee: skp.Snapshot{Name: "Pegawai E", UnitID: "DINKES"}, AppraiserNIP: nipA, AppraiserSuperiorNIP: nipS,
		Cadence: period.Quarterly, PolicyVersion: "test"})
}

func established(at time.Time) *journey {
	j := drafted(at.Add(-2 * time.Hour))
	j.add(at.Add(-time.Hour), nipE, skp.Submitted{Version: 1})
	return j.add(at, nipA, skp.Established{Version: 1, Deadline: calendar.MustNew(2026, 1, 31), AppraiserNIP: nipA, AppraiserSuperiorNIP: nipS, AppraiserSignedAt: at})
}

var good = skp.Scores{WorkResult: rating.MeetsExpectation, Behaviour: rating.MeetsExpectation, Predikat: rating.Derive(rating.MeetsExpectation, rating.MeetsExpectation)}

// issued is an SKP whose annual evaluation was delivered at delivered,
// with the objection deadline the domain's policy computes.
func issued(pol policy.Policy, delivered time.Time) *journey {
	j := established(time.Date(2026, 1, 20, 9, 0, 0, 0, wib))
	j.add(delivered.Add(-time.Hour), nipA, skp.RatingAssigned{Period: "2026", Scores: good, Rationale: "ok", AppraiserNIP: nipA, PolicyVersion: "test"})
	d := pol.ObjectionDeadline(delivered)
	return j.add(delivered, nipA, skp.EvaluationIssued{Period: "2026", Scores: good, DeliveredAt: delivered, ObjectionDeadline: &d, AppraiserNIP: nipA, PolicyVersion: "test"})
}

func find(items []deadlines.Item, k deadlines.Kind, p string) (deadlines.Item, bool) {
	for _, it := range items {
		if it.Kind == k && it.Period == p {
			return it, true
		}
	}
	return deadlines.Item{}, false
}

func kinds(items []deadlines.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, string(it.Kind)+" "+it.Period+" "+it.Recipient)
	}
	return out
}

// The finality timer fires at the first second after the window the
// domain computed: calendar or working days, weekends and holidays, a
// delivery late in the WIB day (already the next day in WIB, still the
// day before in UTC).
func TestFinaliseTimerFollowsTheDomainsWindow(t *testing.T) {
	working := policy.Default()
	working.ObjectionWorkingDays = true
	holiday := working
	holiday.Holidays = []calendar.Date{calendar.MustNew(2027, 1, 18)}
	cases := []struct {
		name      string
		pol       policy.Policy
		delivered time.Time
		lastDay   calendar.Date // the window's last day, in WIB
	}{
		{"calendar days", policy.Default(), time.Date(2027, 1, 4, 10, 0, 0, 0, wib), calendar.MustNew(2027, 1, 18)},
		{"calendar days, window ends on a Sunday", policy.Default(), time.Date(2027, 1, 3, 10, 0, 0, 0, wib), calendar.MustNew(2027, 1, 17)},
		{"delivered 23:59:59 WIB", policy.Default(), time.Date(2027, 1, 4, 23, 59, 59, 0, wib), calendar.MustNew(2027, 1, 18)},
		{"delivered 00:30 WIB (17:30 UTC the day before)", policy.Default(), time.Date(2027, 1, 5, 0, 30, 0, 0, wib), calendar.MustNew(2027, 1, 19)},
		{"working days from a Monday", working, time.Date(2027, 1, 4, 10, 0, 0, 0, wib), calendar.MustNew(2027, 1, 22)},
		{"working days from a Friday", working, time.Date(2027, 1, 8, 10, 0, 0, 0, wib), calendar.MustNew(2027, 1, 28)},
		{"working days from a Saturday", working, time.Date(2027, 1, 9, 10, 0, 0, 0, wib), calendar.MustNew(2027, 1, 28)},
		{"working days over a holiday", holiday, time.Date(2027, 1, 4, 10, 0, 0, 0, wib), calendar.MustNew(2027, 1, 25)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sk := issued(c.pol, c.delivered).skp()
			items := deadlines.Items(sk, deadlines.DefaultSettings(c.pol))
			fin, ok := find(items, deadlines.FinaliseEvaluation, "2026")
			if !ok {
				t.Fatalf("no finality timer among %v", kinds(items))
			}
			wantDeadline := time.Date(c.lastDay.Year(), c.lastDay.Month(), c.lastDay.Day(), 23, 59, 59, 0, wib)
			if !fin.Due.Equal(wantDeadline) || !fin.FireAt.Equal(wantDeadline.Add(time.Second)) {
				t.Fatalf("due %v fire %v; want the window's end %v and a second later", fin.Due.In(wib), fin.FireAt.In(wib), wantDeadline)
			}
			if fin.Recipient != "" || fin.Reminds() {
				t.Errorf("the finality timer reminds %q", fin.Recipient)
			}
			// The domain agrees: open a second before, final at the
			// timer's instant.
			for _, e := range sk.View(fin.FireAt.Add(-time.Second)).Evaluations {
				if e.Status != skp.EvalIssued {
					t.Errorf("a second before the timer the evaluation is %s", e.Status)
				}
			}
			for _, e := range sk.View(fin.FireAt).Evaluations {
				if e.Status != skp.EvalFinal || e.FinalReason != skp.WindowElapsed {
					t.Errorf("at the timer the evaluation is %s/%s", e.Status, e.FinalReason)
				}
			}
			win, ok := find(items, deadlines.ObjectionWindow, "2026")
			if !ok || win.Recipient != nipE || !win.Due.Equal(fin.Due) || !win.From.Equal(c.delivered) {
				t.Errorf("the employee's window item: %+v (found %v)", win, ok)
			}
		})
	}
}

// No finality timer where the window does not decide finality: an open
// objection, a decision, a recorded finality, a periodic evaluation
// without objection right; a late objection does not hold the window open.
func TestFinaliseTimerOnlyWhenTheWindowDecides(t *testing.T) {
	pol := policy.Default()
	delivered := time.Date(2027, 1, 4, 10, 0, 0, 0, wib)
	deadline := pol.ObjectionDeadline(delivered)
	filed := delivered.Add(48 * time.Hour)
	objection := skp.ObjectionFiled{ObjectionID: "obj-1", Period: "2026", Reasons: "tidak setuju", FiledAt: filed, AddressedTo: nipS, AppraiserNIP: nipA, Evaluation: good, Deadline: deadline}
	cases := []struct {
		name     string
		j        func() *journey
		finalise bool
		want     []deadlines.Kind
	}{
		{"issued", func() *journey { return issued(pol, delivered) }, true, []deadlines.Kind{deadlines.ObjectionWindow}},
		{"objection open", func() *journey {
			return issued(pol, delivered).add(filed, nipE, objection)
		}, false, []deadlines.Kind{deadlines.DecideObjection}},
		{"explanations asked", func() *journey {
			return issued(pol, delivered).add(filed, nipE, objection).
				add(filed.Add(time.Hour), nipS, skp.ExplanationRequested{ObjectionID: "obj-1", RequestID: "r-a", From: skp.PartyAppraiser}).
				add(filed.Add(time.Hour), nipS, skp.ExplanationRequested{ObjectionID: "obj-1", RequestID: "r-e", From: skp.PartyEmployee}).
				add(filed.Add(2*time.Hour), nipE, skp.ExplanationSubmitted{ObjectionID: "obj-1", RequestID: "r-e", By: skp.PartyEmployee, Text: "x"})
		}, false, []deadlines.Kind{deadlines.DecideObjection, deadlines.GiveExplanation}},
		{"withdrawn within the window", func() *journey {
			return issued(pol, delivered).add(filed, nipE, objection).add(filed.Add(time.Hour), nipE, skp.ObjectionWithdrawn{ObjectionID: "obj-1"})
		}, true, []deadlines.Kind{deadlines.ObjectionWindow}},
		{"decided", func() *journey {
			return issued(pol, delivered).add(filed, nipE, objection).
				add(filed.Add(time.Hour), nipS, skp.ObjectionDecided{ObjectionID: "obj-1", Period: "2026", Outcome: "UPHELD", DecisionText: "tetap", Previous: good, Result: good, WaiverReason: "x", Final: true})
		}, false, nil},
		{"finality recorded", func() *journey {
			return issued(pol, delivered).add(deadline.Add(time.Hour), "system:deadlines", skp.EvaluationFinalised{Period: "2026", Reason: skp.WindowElapsed})
		}, false, nil},
		{"late objection recorded", func() *journey {
			late := objection
			late.FiledAt = deadline.Add(24 * time.Hour)
			return issued(pol, delivered).add(late.FiledAt, nipE, skp.ObjectionFiledLate{ObjectionFiled: late, DaysLate: 1})
		}, true, []deadlines.Kind{deadlines.DecideObjection, deadlines.ObjectionWindow}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			items := deadlines.Items(c.j().skp(), deadlines.DefaultSettings(pol))
			_, fin := find(items, deadlines.FinaliseEvaluation, "2026")
			if fin != c.finalise {
				t.Fatalf("finality timer %v, want %v: %v", fin, c.finalise, kinds(items))
			}
			var got []deadlines.Kind
			for _, it := range items {
				if it.Kind != deadlines.FinaliseEvaluation && it.Kind != deadlines.RatePeriod {
					got = append(got, it.Kind)
				}
			}
			slices.Sort(got)
			got = slices.Compact(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("items %v, want %v", kinds(items), c.want)
			}
		})
	}
}

// Who each item waits for, and its deadline: the establishment deadline
// of the year (31 January), the period's end plus the rating days, the
// decision SLA from the filing, an explanation's own due date.
func TestItemsWaitForTheRightPerson(t *testing.T) {
	pol := policy.Default()
	set := deadlines.DefaultSettings(pol)
	set.OverdueNotices = 0 // the items themselves; their notices: TestOverdueNotices
	jan31 := time.Date(2026, 1, 31, 23, 59, 59, 0, wib)

	draft := deadlines.Items(drafted(time.Date(2026, 1, 5, 9, 0, 0, 0, wib)).skp(), set)
	if len(draft) != 1 || draft[0].Kind != deadlines.SubmitSKP || draft[0].Recipient != nipE || !draft[0].Due.Equal(jan31) ||
		!draft[0].FireAt.Equal(jan31.AddDate(0, 0, -7)) {
		t.Errorf("draft: %+v", draft)
	}
	// Drafted after the reminder's time: the reminder goes out at once.
	lateDraft := deadlines.Items(drafted(time.Date(2026, 1, 30, 9, 0, 0, 0, wib)).skp(), set)
	if !lateDraft[0].FireAt.Equal(time.Date(2026, 1, 30, 9, 0, 0, 0, wib)) {
		t.Errorf("a reminder before the item waits: %v", lateDraft[0].FireAt)
	}
	sub := drafted(time.Date(2026, 1, 5, 9, 0, 0, 0, wib)).add(time.Date(2026, 1, 6, 9, 0, 0, 0, wib), nipE, skp.Submitted{Version: 1})
	subItems := deadlines.Items(sub.skp(), set)
	if len(subItems) != 1 || subItems[0].Kind != deadlines.EstablishSKP || subItems[0].Recipient != nipA || subItems[0].RecipientRole != domain.RoleAppraiser {
		t.Errorf("submitted: %+v", subItems)
	}

	est := established(time.Date(2026, 1, 20, 9, 0, 0, 0, wib))
	items := deadlines.Items(est.skp(), set)
	if got := len(items); got != 5 {
		t.Fatalf("an established quarterly SKP waits for 4 quarters and the year, got %v", kinds(items))
	}
	q1, _ := find(items, deadlines.RatePeriod, "2026-Q1")
	if q1.Recipient != nipA || !q1.From.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, wib)) || !q1.Due.Equal(time.Date(2026, 4, 14, 23, 59, 59, 0, wib)) {
		t.Errorf("Q1: from %v due %v for %s", q1.From.In(wib), q1.Due.In(wib), q1.Recipient)
	}
	year, _ := find(items, deadlines.RatePeriod, "2026")
	if !year.From.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, wib)) {
		t.Errorf("the year's rating waits from %v", year.From.In(wib))
	}
	rated := est.add(time.Date(2026, 4, 3, 9, 0, 0, 0, wib), nipA, skp.RatingAssigned{Period: "2026-Q1", Scores: good, AppraiserNIP: nipA})
	items = deadlines.Items(rated.skp(), set)
	if _, ok := find(items, deadlines.RatePeriod, "2026-Q1"); ok {
		t.Error("a rated period still waits for its rating")
	}
	if iss, ok := find(items, deadlines.IssueEvaluation, "2026-Q1"); !ok || iss.Recipient != nipA || !iss.Due.Equal(time.Date(2026, 4, 17, 23, 59, 59, 0, wib)) {
		t.Errorf("issue item: %+v %v", iss, ok)
	}

	annual := est.add(time.Date(2026, 12, 20, 9, 0, 0, 0, wib), nipA, skp.RatingAssigned{Period: "2026", Scores: good, AppraiserNIP: nipA})
	for _, it := range deadlines.Items(annual.skp(), set) {
		if it.Kind == deadlines.RatePeriod {
			t.Errorf("a period waits for its rating after the year was rated: %s", it.Period)
		}
	}

	delivered := time.Date(2027, 1, 4, 10, 0, 0, 0, wib)
	due := time.Date(2027, 1, 20, 15, 0, 0, 0, wib)
	obj := issued(pol, delivered).
		add(delivered.Add(time.Hour), nipE, skp.ObjectionFiled{ObjectionID: "obj-1", Period: "2026", FiledAt: delivered.Add(time.Hour), AddressedTo: nipS, AppraiserNIP: nipA, Deadline: pol.ObjectionDeadline(delivered)}).
		add(delivered.Add(2*time.Hour), nipS, skp.ExplanationRequested{ObjectionID: "obj-1", RequestID: "r-a", From: skp.PartyAppraiser, DueAt: &due}).
		add(delivered.Add(2*time.Hour), nipS, skp.ExplanationRequested{ObjectionID: "obj-1", RequestID: "r-e", From: skp.PartyEmployee})
	items = deadlines.Items(obj.skp(), set)
	byKey := map[string]deadlines.Item{}
	for _, it := range items {
		byKey[string(it.Kind)+"/"+it.RequestID] = it
	}
	if d := byKey["DECIDE_OBJECTION/"]; d.Recipient != nipS || !d.Due.Equal(time.Date(2027, 1, 18, 23, 59, 59, 0, wib)) || d.ObjectionID != "obj-1" {
		t.Errorf("decision: %+v", d)
	}
	if a := byKey["GIVE_EXPLANATION/r-a"]; a.Recipient != nipA || !a.Due.Equal(due) || !a.FireAt.Equal(due.AddDate(0, 0, -3)) {
		t.Errorf("appraiser's explanation: %+v", a)
	}
	if e := byKey["GIVE_EXPLANATION/r-e"]; e.Recipient != nipE || !e.Due.Equal(time.Date(2027, 1, 11, 23, 59, 59, 0, wib)) {
		t.Errorf("employee's explanation: %+v", e)
	}

	for _, end := range []domain.Event{skp.Cancelled{Reason: "x"}, skp.ClosedForPositionChange{}} {
		if items := deadlines.Items(drafted(time.Date(2026, 1, 5, 9, 0, 0, 0, wib)).add(time.Date(2026, 1, 6, 9, 0, 0, 0, wib), nipE, end).skp(), set); len(items) != 0 {
			t.Errorf("an ended SKP (%T) waits: %v", end, kinds(items))
		}
	}
}

// Keys are unique within an SKP and stable; a firing's ID changes with
// its deadline and only then.
func TestKeysAndFireIDs(t *testing.T) {
	pol := policy.Default()
	items := deadlines.Items(established(time.Date(2026, 1, 20, 9, 0, 0, 0, wib)).skp(), deadlines.DefaultSettings(pol))
	seen := map[string]bool{}
	for _, it := range items {
		if seen[it.Key] {
			t.Errorf("duplicate key %s", it.Key)
		}
		seen[it.Key] = true
		if _, err := uuid.Parse(it.FireID()); err != nil {
			t.Errorf("fire ID %q: %v", it.FireID(), err)
		}
	}
	a := items[0]
	b := a
	if a.FireID() != b.FireID() {
		t.Error("fire ID not stable")
	}
	b.Due = b.Due.Add(time.Hour)
	if a.FireID() == b.FireID() {
		t.Error("a moved deadline fires under the same ID")
	}
	if err := deadlines.DefaultSettings(pol).Validate(); err != nil {
		t.Error(err)
	}
	bad := deadlines.Settings{Policy: pol, RatingDays: 0, ExplanationDays: 400, LeadDays: -1}
	if err := bad.Validate(); err == nil {
		t.Error("bad settings accepted")
	}
}

// The employee's acknowledgement of receipt moves the window (the domain
// records the later deadline): the finality timer and the employee's
// window move with it, under a new firing ID.
func TestAcknowledgementMovesTheTimers(t *testing.T) {
	pol := policy.Default()
	delivered := time.Date(2027, 1, 4, 10, 0, 0, 0, wib)
	j := issued(pol, delivered)
	before, _ := find(deadlines.Items(j.skp(), deadlines.DefaultSettings(pol)), deadlines.FinaliseEvaluation, "2026")
	received := delivered.Add(72 * time.Hour)
	later := pol.ObjectionDeadline(received)
	j.add(received, nipE, skp.ReceiptAcknowledged{Period: "2026", ReceivedAt: received, ObjectionDeadline: &later})
	items := deadlines.Items(j.skp(), deadlines.DefaultSettings(pol))
	after, ok := find(items, deadlines.FinaliseEvaluation, "2026")
	if !ok || !after.Due.Equal(later) || !after.FireAt.Equal(later.Add(time.Second)) || after.Key != before.Key || after.FireID() == before.FireID() {
		t.Fatalf("finality timer after the acknowledgement: %+v (before %+v)", after, before)
	}
	if win, _ := find(items, deadlines.ObjectionWindow, "2026"); !win.Due.Equal(later) {
		t.Errorf("the employee's window ends %v, want %v", win.Due, later)
	}
}

// After a deadline passes with the item still waiting, overdue notices
// follow the reminder: a second after the deadline, then every
// OverdueEveryDays, at most OverdueNotices; never for the objection
// window (it just closes) nor the finality timer; a slot not after the
// reminder itself is left out (the item began to wait after its
// deadline); they go away with the item.
func TestOverdueNotices(t *testing.T) {
	pol := policy.Default()
	set := deadlines.DefaultSettings(pol)
	jan31 := time.Date(2026, 1, 31, 23, 59, 59, 0, wib)
	notices := func(items []deadlines.Item, k deadlines.Kind, p string) []deadlines.Item {
		var out []deadlines.Item
		for _, it := range items {
			if it.Kind == k && it.Period == p && it.Notice > 0 {
				out = append(out, it)
			}
		}
		return out
	}
	cases := []struct {
		name       string
		n, every   int
		drafted    time.Time
		wantFireAt []time.Time
	}{
		{name: "defaults: 3, weekly", n: 3, every: 7, drafted: time.Date(2026, 1, 5, 9, 0, 0, 0, wib),
			wantFireAt: []time.Time{jan31.Add(time.Second), jan31.Add(time.Second).AddDate(0, 0, 7), jan31.Add(time.Second).AddDate(0, 0, 14)}},
		{name: "none", n: 0, every: 7, drafted: time.Date(2026, 1, 5, 9, 0, 0, 0, wib)},
		{name: "one, daily", n: 1, every: 1, drafted: time.Date(2026, 1, 5, 9, 0, 0, 0, wib), wantFireAt: []time.Time{jan31.Add(time.Second)}},
		{name: "drafted on the deadline's last second: the first slot is after it", n: 2, every: 7, drafted: jan31,
			wantFireAt: []time.Time{jan31.Add(time.Second), jan31.Add(time.Second).AddDate(0, 0, 7)}},
		{name: "drafted a day late: the first slot is before the reminder", n: 3, every: 7, drafted: jan31.Add(24 * time.Hour),
			wantFireAt: []time.Time{jan31.Add(time.Second).AddDate(0, 0, 7), jan31.Add(time.Second).AddDate(0, 0, 14)}},
		{name: "drafted after every slot", n: 2, every: 1, drafted: jan31.AddDate(0, 0, 5)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := set
			s.OverdueNotices, s.OverdueEveryDays = c.n, c.every
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			items := deadlines.Items(drafted(c.drafted).skp(), s)
			got := notices(items, deadlines.SubmitSKP, "")
			if len(got) != len(c.wantFireAt) {
				t.Fatalf("%d notices, want %d: %v", len(got), len(c.wantFireAt), got)
			}
			reminder, _ := find(items, deadlines.SubmitSKP, "")
			for i, it := range got {
				if !it.FireAt.Equal(c.wantFireAt[i]) || it.Due != reminder.Due || it.Recipient != nipE || it.BaseKey() != reminder.Key ||
					it.FireID() == reminder.FireID() || !it.FireAt.After(reminder.FireAt) {
					t.Errorf("notice %d: %+v (reminder %+v)", i, it, reminder)
				}
			}
		})
	}
	// No notices for the objection window or the finality timer; the
	// notices of a decided objection go with it.
	delivered := time.Date(2027, 1, 4, 10, 0, 0, 0, wib)
	j := issued(pol, delivered)
	for _, it := range deadlines.Items(j.skp(), set) {
		if it.Notice > 0 {
			t.Errorf("a notice of %s", it.Key)
		}
	}
	j.add(delivered.Add(time.Hour), nipE, skp.ObjectionFiled{ObjectionID: "obj-1", Period: "2026", FiledAt: delivered.Add(time.Hour), AddressedTo: nipS,
		AppraiserNIP: nipA, Deadline: pol.ObjectionDeadline(delivered)})
	if got := notices(deadlines.Items(j.skp(), set), deadlines.DecideObjection, "2026"); len(got) != 3 || got[0].Recipient != nipS {
		t.Errorf("an open objection's notices: %v", got)
	}
	if err := (deadlines.Settings{Policy: pol, RatingDays: 1, ExplanationDays: 1, OverdueNotices: 53, OverdueEveryDays: 7}).Validate(); err == nil {
		t.Error("53 notices accepted")
	}
	if err := (deadlines.Settings{Policy: pol, RatingDays: 1, ExplanationDays: 1, OverdueNotices: 1, OverdueEveryDays: 0}).Validate(); err == nil {
		t.Error("notices every 0 days accepted")
	}
}

// An SKP closed for a position change mid-period is rated for the periods
// served: their ratings wait from the first day in the new post (the close
// opens them), later periods wait for nobody, and a rated one waits to be
// issued.
func TestClosedSKPWaitsForTheServedPeriods(t *testing.T) {
	pol := policy.Default()
	set := deadlines.DefaultSettings(pol)
	set.OverdueNotices = 0
	may1 := time.Date(2026, 5, 1, 0, 0, 0, 0, wib)
	j := established(time.Date(2026, 1, 20, 9, 0, 0, 0, wib)).
		add(time.Date(2026, 5, 4, 9, 0, 0, 0, wib), "hr", skp.ClosedForPositionChange{EffectiveFrom: calendar.MustNew(2026, 5, 1), Reason: "mutasi"})
	items := deadlines.Items(j.skp(), set)
	var got []string
	for _, it := range items {
		got = append(got, string(it.Kind)+" "+it.Period)
	}
	if want := []string{"RATE_PERIOD 2026-Q1", "RATE_PERIOD 2026-Q2", "RATE_PERIOD 2026"}; !slices.Equal(got, want) {
		t.Fatalf("items %v, want %v", got, want)
	}
	q1, _ := find(items, deadlines.RatePeriod, "2026-Q1")
	q2, _ := find(items, deadlines.RatePeriod, "2026-Q2")
	year, _ := find(items, deadlines.RatePeriod, "2026")
	if !q1.From.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, wib)) || !q1.Due.Equal(time.Date(2026, 4, 14, 23, 59, 59, 0, wib)) {
		t.Errorf("Q1 (ended before the close): from %v due %v", q1.From.In(wib), q1.Due.In(wib))
	}
	for _, it := range []deadlines.Item{q2, year} {
		if !it.From.Equal(may1) || !it.Due.Equal(time.Date(2026, 5, 14, 23, 59, 59, 0, wib)) || it.Recipient != nipA {
			t.Errorf("%s: from %v due %v for %s, want from 1 May (the first day in the new post)", it.Period, it.From.In(wib), it.Due.In(wib), it.Recipient)
		}
	}
	j.add(time.Date(2026, 5, 5, 9, 0, 0, 0, wib), nipA, skp.RatingAssigned{Period: "2026-Q2", Scores: good, AppraiserNIP: nipA})
	if iss, ok := find(deadlines.Items(j.skp(), set), deadlines.IssueEvaluation, "2026-Q2"); !ok || iss.Recipient != nipA {
		t.Errorf("the rated served period does not wait to be issued: %+v", iss)
	}
}
