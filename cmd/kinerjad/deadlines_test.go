package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

// testNATS returns the NATS of the integration tests (skipped without
// one, a failure with KINERJA_REQUIRE_INTEGRATION=1).
func testNATS(t *testing.T) string {
	t.Helper()
	u := os.Getenv("KINERJA_TEST_NATS_URL")
	if u == "" {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("KINERJA_TEST_NATS_URL is not set but KINERJA_REQUIRE_INTEGRATION=1")
		}
		t.Skip("KINERJA_TEST_NATS_URL not set")
	}
	return u
}

func TestDeadlineRemindersEmbedded(t *testing.T) { deadlineReminders(t) }

func TestDeadlineRemindersPostgres(t *testing.T) {
	deadlineReminders(t, "--store", "postgres", "--postgres-url", postgresURL(t), "--migrate")
}

// deadlineReminders: the process manager runs in kinerjad, its items are
// the inbox, each reminder is published to NATS once (counted by a plain
// subscriber, which JetStream's deduplication does not hide), and a
// restart fires nothing again.
func deadlineReminders(t *testing.T, extra ...string) {
	url := testNATS(t)
	tag := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	subject := "kinerja-reminders-e2e-" + tag
	conn, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sub, err := conn.SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	if js, err := conn.JetStream(); err == nil {
		t.Cleanup(func() { js.DeleteStream(subject); js.DeleteStream("kinerja-events-e2e-" + tag) })
	}
	got := map[string]deadlines.Reminder{}
	count := map[string]int{}
	// next waits for the next reminder (the wait is for the scheduler's
	// round, not a timing assertion).
	next := func() deadlines.Reminder {
		t.Helper()
		m, err := sub.NextMsg(20 * time.Second)
		if err != nil {
			t.Fatalf("no reminder: %v", err)
		}
		var r deadlines.Reminder
		if err := json.Unmarshal(m.Data, &r); err != nil {
			t.Fatalf("reminder %s: %v", m.Data, err)
		}
		if m.Header.Get(nats.MsgIdHdr) != r.ReminderID || r.Type != deadlines.ReminderType {
			t.Errorf("reminder %+v under message ID %q", r, m.Header.Get(nats.MsgIdHdr))
		}
		got[r.ReminderID] = r
		count[r.ReminderID]++
		return r
	}

	data := t.TempDir()
	args := append([]string{"--nats-url", url, "--nats-subject", "kinerja-events-e2e-" + tag, "--nats-reminder-subject", subject, "--nats-consequences-subject", "",
		"--deadline-interval", "100ms"}, extra...)
	s := startServer(t, data, args...)
	for _, u := range []httpapi.CreateUnitBody{{ID: "PEMKOT", Name: "Pemerintah Kota"}, {ID: "DINKES", Name: "Dinas Kesehatan", ParentID: "PEMKOT"}} {
		s.must(201, "hr-admin", hrAdmin, "POST", "/v1/units", u, nil)
	}
	for _, e := range []struct{ nip, unit, kind string }{{nipE, "DINKES", "PELAKSANA"}, {nipA, "DINKES", "JPT_PRATAMA"}, {nipS, "PEMKOT", "JPT_MADYA"}} {
		s.must(201, "hr-admin", hrAdmin, "POST", "/v1/employees", httpapi.CreateEmployeeBody{NIP: e.nip, Name: "Pegawai " + e.nip[:8],
			UnitID: e.unit, Position: httpapi.PositionBody{Kind: e.kind, Title: "Jabatan " + e.kind}}, nil)
	}
	s.must(200, "hr-admin", hrAdmin, "PUT", "/v1/employees/"+nipE+"/reporting-line",
		map[string]string{"appraiser_nip": nipA, "appraiser_superior_nip": nipS, "effective_from": s.today()}, nil)
	// E's SKP of 2026, drafted after 31 January: its reminder is due at once.
	var v skp.View
	s.must(201, nipE, nil, "POST", "/v1/skps", httpapi.DraftBody{NIP: nipE, Year: 2026, Approach: "KUANTITATIF"}, &v)
	first := next()
	if first.Item.Kind != deadlines.SubmitSKP || first.Item.Recipient != nipE || first.Item.SKPID != v.ID || !first.Overdue {
		t.Fatalf("first reminder %+v", first)
	}
	var inbox httpapi.InboxPage
	s.must(200, nipE, nil, "GET", "/v1/inbox", nil, &inbox)
	if len(inbox.Items) != 1 || inbox.Items[0].Kind != deadlines.SubmitSKP || !inbox.Items[0].Overdue {
		t.Fatalf("E's inbox: %+v", inbox)
	}
	s.must(403, nipA, nil, "GET", "/v1/inbox?nip="+nipE, nil, nil)
	// The relay counts a reminder once the outbox forgot it, just after
	// the broker has it: wait for that.
	var metrics []byte
	for until := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get(s.base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		metrics, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(metrics), "kinerja_deadlines_reminders_published_total 1\n") || time.Now().After(until) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, m := range []string{"kinerja_deadlines_reminders_total 1", "kinerja_deadlines_reminders_published_total 1", "kinerja_deadlines_finalised_total 0"} {
		if !strings.Contains(string(metrics), m+"\n") {
			t.Errorf("/metrics lacks %q", m)
		}
	}
	var rd httpapi.Readiness
	s.must(200, "", nil, "GET", "/readyz", nil, &rd)
	found := false
	for _, p := range rd.Projections {
		found = found || (p.Name == deadlines.Name && p.Policy == "stop")
	}
	if !found {
		t.Errorf("/readyz does not show the process manager: %+v", rd.Projections)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	// Restart; a new fact gives a new reminder; the first is not sent
	// again (the round that sends the second ran after the restart).
	s = startServer(t, data, args...)
	// A change that moves no deadline sends nothing.
	s.must(201, nipE, nil, "POST", "/v1/skps/"+v.ID+"/rhk", httpapi.RHKBody{Text: "Terlaksananya imunisasi", Kind: "TAMBAHAN"}, nil)
	s.must(201, nipA, nil, "POST", "/v1/skps", httpapi.DraftBody{NIP: nipA, Year: 2026, Approach: "KUANTITATIF"}, nil)
	second := next()
	if second.Item.Kind != deadlines.SubmitSKP || second.Item.Recipient != nipA {
		t.Fatalf("the second reminder is not A's: %+v", second)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	for id, n := range count {
		if n != 1 {
			t.Errorf("reminder %s (%s) published %d times", id, got[id].Item.Kind, n)
		}
	}
	for _, line := range s.logLines() {
		if strings.Contains(line, "deadline_reminder_queued") && strings.Contains(line, first.ReminderID) {
			t.Errorf("the restarted service queued the first reminder again: %s", line)
		}
	}
}

// The process manager's settings are checked with the others, from flags
// and from the environment.
func TestDeadlineFlags(t *testing.T) {
	none := func(string) string { return "" }
	c, err := parseConfig(nil, none, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Deadlines.Settings(c.Policy); s.RatingDays != 14 || s.LeadDays != 3 || s.EstablishLeadDays != 7 || c.Deadlines.Interval != 30*time.Second ||
		c.Deadlines.ReminderSubject != "kinerja.reminders" || s.OverdueNotices != 3 || s.OverdueEveryDays != 7 {
		t.Errorf("defaults: %+v", c.Deadlines)
	}
	for _, args := range [][]string{
		{"--rating-due-days", "0"},
		{"--reminder-lead-days", "-1"},
		{"--establish-lead-days", "400"},
		{"--deadline-interval", "0s"},
		{"--overdue-notices", "-1"},
		{"--overdue-every-days", "0"},
		{"--nats-reminder-subject", ""},
	} {
		if _, err := parseConfig(args, none, io.Discard); err == nil {
			t.Errorf("parseConfig(%v) succeeded", args)
		}
	}
	c, err = parseConfig([]string{"--rating-due-days", "10"}, func(k string) string {
		return map[string]string{"KINERJA_RATING_DUE_DAYS": "20", "KINERJA_REMINDER_LEAD_DAYS": "5"}[k]
	}, io.Discard)
	if err != nil || c.Deadlines.RatingDueDays != 10 || c.Deadlines.LeadDays != 5 {
		t.Errorf("flags and environment: %+v, %v", c.Deadlines, err)
	}
	if _, err := parseConfig(nil, func(k string) string { return map[string]string{"KINERJA_DEADLINE_INTERVAL": "soon"}[k] }, io.Discard); err == nil {
		t.Error("KINERJA_DEADLINE_INTERVAL=soon was accepted")
	}
}
