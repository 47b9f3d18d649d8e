package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
	"github.com/kinerja-ledger/kinerja/adapters/httpapi/authkey"
	"github.com/kinerja-ledger/kinerja/adapters/web/session"
	"github.com/kinerja-ledger/kinerja/cmd/internal/pgtest"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/audit"
)

// The cast of the journey: E is the employee, A their appraiser (head of
// DINKES), S the appraiser's superior, T S's appraiser, U T's superior.
const (
	nipE = "199001012015031001"
	nipA = "198502022010012002"
	nipS = "197503032000031003"
	nipT = "196504041990031004"
	nipU = "197909092005091009"
)

// server is a kinerjad started through run on :0.
type server struct {
	t    *testing.T
	base string
	data string
	stop func() error
	key  *authkey.Key
	zone *time.Location // the agency zone of its --zone

	mu   sync.Mutex
	logs []string // the JSON log lines so far
}

// logLines returns the log lines so far.
func (s *server) logLines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.logs)
}

// startServer runs kinerjad with args (plus --listen 127.0.0.1:0 and a data
// directory) and waits for its "listening" log line.
// today is the agency's day by the real clock kinerjad runs on: the
// effective date of the lines the tests assign (an earlier one would be an
// HR backfill, at most 90 days back).
// today is today's date in the server's agency zone (its --zone, WIB by
// default): an effective date before it is a backfill, and a server in
// WITA or WIT is a day ahead of WIB for an hour or two each night.
func (s *server) today() string {
	zone := s.zone
	if zone == nil {
		zone = policy.WIB
	}
	return time.Now().In(zone).Format(time.DateOnly)
}

func startServer(t *testing.T, data string, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	args = append([]string{"--listen", "127.0.0.1:0", "--data", data, "--checkpoint-interval", "50ms"}, args...)
	go func() {
		err := run(ctx, args, func(string) string { return "" }, pw, io.Discard)
		pw.CloseWithError(fmt.Errorf("kinerjad exited: %v", err))
		done <- err
	}()
	addr := make(chan string, 1)
	s := &server{t: t, data: data, zone: policy.WIB}
	for i, a := range args {
		if a == "--zone" && i+1 < len(args) {
			if loc, ok := wiring.Zones[strings.ToUpper(args[i+1])]; ok {
				s.zone = loc
			}
		}
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			s.mu.Lock()
			s.logs = append(s.logs, sc.Text())
			s.mu.Unlock()
			var line struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				addr <- line.Addr
			}
		}
	}()
	select {
	case a := <-addr:
		k, err := authkey.Load(data)
		if err != nil {
			t.Fatal(err)
		}
		s.base, s.key = "http://"+a, k
		// stop is idempotent: the cleanup calls it again after a test did.
		var once sync.Once
		var stopErr error
		s.stop = func() error {
			once.Do(func() {
				cancel()
				select {
				case stopErr = <-done:
				case <-time.After(30 * time.Second):
					stopErr = fmt.Errorf("kinerjad did not stop within 30s")
				}
			})
			return stopErr
		}
		t.Cleanup(func() { s.stop() })
		return s
	case err := <-done:
		cancel()
		t.Fatalf("kinerjad stopped before listening: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("kinerjad did not log listening within 60s")
	}
	return nil
}

type answer struct {
	status int
	body   []byte
	header http.Header
}

func (s *server) call(sub string, roles []string, method, path string, body any, headers ...string) answer {
	s.t.Helper()
	a, err := s.do(sub, roles, method, path, body, headers...)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	return a
}

// do sends one request signed for sub and roles.
func (s *server) do(sub string, roles []string, method, path string, body any, headers ...string) (answer, error) {
	var rd io.Reader
	if raw, ok := body.([]byte); ok {
		rd = bytes.NewReader(raw) // sent as it is
	} else if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return answer{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		return answer{}, err
	}
	if sub != "" {
		tok, err := s.key.Sign(authkey.Claims{Subject: sub, Roles: roles})
		if err != nil {
			return answer{}, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{resp.StatusCode, b, resp.Header}, nil
}

// must calls and fails the test unless the status is want; it decodes the
// body into out when out is not nil.
func (s *server) must(want int, sub string, roles []string, method, path string, body, out any) answer {
	s.t.Helper()
	a := s.call(sub, roles, method, path, body)
	if a.status != want {
		s.t.Fatalf("%s %s as %s: %d %s, want %d", method, path, sub, a.status, a.body, want)
	}
	if out != nil {
		if err := json.Unmarshal(a.body, out); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", method, path, a.body, err)
		}
	}
	return a
}

var hrAdmin, auditor = []string{"HR_ADMIN"}, []string{"AUDITOR"}

// journey runs the whole appraisal journey of issue 5 through HTTP and
// checks as_of at three moments, the score history and the audit trail.
func journey(t *testing.T, s *server) {
	id, rhkE, ind := established(t, s)
	s.must(201, nipE, nil, "POST", "/v1/skps/"+id+"/realisations", httpapi.RealisationBody{Period: "2025-Q1", IndicatorID: ind, Value: 2, Narrative: "2 puskesmas"}, nil)
	journeyOn(t, s, id, rhkE)
}

// established registers the cast and their reporting lines, establishes
// A's SKP and E's cascaded from it, and returns E's SKP, RHK and indicator.
func established(t *testing.T, s *server) (id, rhkE, ind string) {
	for _, u := range []httpapi.CreateUnitBody{{ID: "PEMKOT", Name: "Pemerintah Kota"}, {ID: "DINKES", Name: "Dinas Kesehatan", ParentID: "PEMKOT"}} {
		s.must(201, "hr-admin", hrAdmin, "POST", "/v1/units", u, nil)
	}
	for _, e := range []struct{ nip, unit, kind string }{
		{nipE, "DINKES", "PELAKSANA"}, {nipA, "DINKES", "JPT_PRATAMA"}, {nipS, "PEMKOT", "JPT_MADYA"},
		{nipT, "PEMKOT", "JPT_UTAMA"}, {nipU, "PEMKOT", "JPT_MADYA"},
	} {
		s.must(201, "hr-admin", hrAdmin, "POST", "/v1/employees", httpapi.CreateEmployeeBody{NIP: e.nip, Name: "Pegawai " + e.nip[:8],
			UnitID: e.unit, Position: httpapi.PositionBody{Kind: e.kind, Title: "Jabatan " + e.kind}}, nil)
	}
	for _, l := range [][3]string{{nipE, nipA, nipS}, {nipA, nipS, nipT}, {nipS, nipT, nipU}} {
		s.must(200, "hr-admin", hrAdmin, "PUT", "/v1/employees/"+l[0]+"/reporting-line",
			map[string]string{"appraiser_nip": l[1], "appraiser_superior_nip": l[2], "effective_from": s.today()}, nil)
	}
	// The SKPs are of 2025: kinerjad runs on the wall clock, and a period
	// is rated only after it ends, so the journey's year must have ended.
	// A's SKP (a JPT post citing the PK), established by S.
	var v skp.View
	s.must(201, nipA, nil, "POST", "/v1/skps", httpapi.DraftBody{NIP: nipA, Year: 2025, Approach: "KUANTITATIF"}, &v)
	skpA := v.ID
	var c httpapi.Created
	s.must(201, nipA, nil, "POST", "/v1/skps/"+skpA+"/rhk", httpapi.RHKBody{Text: "Meningkatnya cakupan imunisasi", Kind: "UTAMA", PKRef: "PK-DINKES-2025-01"}, &c)
	rhkA := c.RHKID
	s.must(201, nipA, nil, "POST", "/v1/skps/"+skpA+"/rhk/"+rhkA+"/indicators",
		httpapi.IndicatorBody{Aspect: "KUANTITAS", Text: "Cakupan imunisasi dasar lengkap", Target: httpapi.TargetBody{Value: 95, Unit: "%"}}, nil)
	s.must(200, nipA, nil, "POST", "/v1/skps/"+skpA+"/submit", nil, nil)
	s.must(200, nipS, nil, "POST", "/v1/skps/"+skpA+"/establish", nil, nil)
	// E's SKP, cascaded from A's RHK, established by A.
	s.must(201, nipE, nil, "POST", "/v1/skps", httpapi.DraftBody{NIP: "19900101 201503 1 001", Year: 2025, Approach: "KUANTITATIF"}, &v)
	id = v.ID
	s.must(201, nipE, nil, "POST", "/v1/skps/"+id+"/rhk", httpapi.RHKBody{Text: "Terlaksananya imunisasi di 5 puskesmas", Kind: "UTAMA", IntervenedRHKID: rhkA}, &c)
	rhkE = c.RHKID
	s.must(201, nipE, nil, "POST", "/v1/skps/"+id+"/rhk/"+rhkE+"/indicators",
		httpapi.IndicatorBody{Aspect: "KUANTITAS", Text: "Puskesmas yang melaksanakan imunisasi", Target: httpapi.TargetBody{Value: 5, Unit: "puskesmas"}}, &c)
	ind = c.IndicatorID
	s.must(200, nipE, nil, "POST", "/v1/skps/"+id+"/submit", nil, nil)
	s.must(200, nipA, nil, "POST", "/v1/skps/"+id+"/establish", nil, &v)
	if v.Status != skp.StatusEstablished || v.Plan[0].IntervenedRHKID != rhkA || !v.Late {
		t.Fatalf("established SKP = %+v (established after 31 January: late)", v)
	}
	return id, rhkE, ind
}

// journeyOn continues the journey on E's established SKP.
func journeyOn(t *testing.T, s *server, id, rhkE string) {
	s.must(201, nipA, nil, "POST", "/v1/skps/"+id+"/feedback", httpapi.FeedbackBody{About: httpapi.FeedbackAboutBody{RHKID: rhkE}, Text: "Bagus"}, nil)
	s.must(200, nipA, nil, "PUT", "/v1/skps/"+id+"/evaluations/2025-Q1", httpapi.RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "DI_ATAS_EKSPEKTASI", Rationale: "Sesuai rencana"}, nil)
	s.must(200, nipA, nil, "POST", "/v1/skps/"+id+"/evaluations/2025-Q1/issue", nil, nil)
	// Annual: a rating, then a revision with a reason.
	s.must(200, nipA, nil, "PUT", "/v1/skps/"+id+"/evaluations/2025", httpapi.RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Target tercapai"}, nil)
	t1 := time.Now()
	time.Sleep(20 * time.Millisecond)
	s.must(200, nipA, nil, "PUT", "/v1/skps/"+id+"/evaluations/2025",
		map[string]any{"work_result": "DI_BAWAH_EKSPEKTASI", "behaviour": "SESUAI_EKSPEKTASI", "rationale": "Satu puskesmas tertinggal", "reason": "Data realisasi Q4 dikoreksi"}, nil)
	t2 := time.Now()
	time.Sleep(20 * time.Millisecond)
	s.must(200, nipA, nil, "POST", "/v1/skps/"+id+"/evaluations/2025/issue", nil, nil)
	// Objection, explanations from both parties, decision CHANGED by S.
	s.must(201, nipE, nil, "POST", "/v1/skps/"+id+"/evaluations/2025/objection", httpapi.ObjectionBody{Reasons: "Data Q4 belum lengkap"}, nil)
	s.must(201, nipS, nil, "POST", "/v1/skps/"+id+"/evaluations/2025/objection/explanation-requests", httpapi.ExplanationRequestBody{From: "APPRAISER"}, nil)
	s.must(201, nipS, nil, "POST", "/v1/skps/"+id+"/evaluations/2025/objection/explanation-requests", httpapi.ExplanationRequestBody{From: "EMPLOYEE"}, nil)
	s.must(201, nipA, nil, "POST", "/v1/skps/"+id+"/evaluations/2025/objection/explanations", httpapi.ExplanationBody{Text: "Data Q4 terlambat"}, nil)
	s.must(201, nipE, nil, "POST", "/v1/skps/"+id+"/evaluations/2025/objection/explanations", httpapi.ExplanationBody{Text: "Bukti terlampir"}, nil)
	// The appraiser may not decide an objection on their own rating.
	if a := s.call(nipA, nil, "POST", "/v1/skps/"+id+"/evaluations/2025/objection/decision",
		httpapi.DecisionBody{Outcome: "UPHELD", DecisionText: "x"}); a.status != 403 && a.status != 404 {
		t.Errorf("appraiser deciding the objection: %d %s, want 403", a.status, a.body)
	}
	var ev struct {
		Status     string `json:"status"`
		WorkResult string `json:"work_result"`
		Predikat   string `json:"predikat"`
	}
	s.must(200, nipS, nil, "POST", "/v1/skps/"+id+"/evaluations/2025/objection/decision",
		httpapi.DecisionBody{Outcome: "CHANGED", WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "DI_ATAS_EKSPEKTASI", DecisionText: "Bukti Q4 diterima"}, &ev)
	if ev.Status != "FINAL" || ev.Predikat != "BAIK" {
		t.Fatalf("decided evaluation = %+v, want FINAL with BAIK", ev)
	}
	// as_of at three moments shows the annual scores as the ledger knew them.
	annual := func(when time.Time) string {
		t.Helper()
		var v skp.View
		path := "/v1/skps/" + id
		if !when.IsZero() {
			path += "?as_of=" + url.QueryEscape(when.Format(time.RFC3339Nano))
		}
		s.must(200, nipE, nil, "GET", path, nil, &v)
		for _, e := range v.Evaluations {
			if e.Period == "2025" {
				return string(e.WorkResult) + "/" + string(e.Behaviour) + "/" + string(e.Predikat)
			}
		}
		return ""
	}
	want := []string{"SESUAI_EKSPEKTASI/SESUAI_EKSPEKTASI/BAIK", "DI_BAWAH_EKSPEKTASI/SESUAI_EKSPEKTASI/BUTUH_PERBAIKAN", "SESUAI_EKSPEKTASI/DI_ATAS_EKSPEKTASI/BAIK"}
	for i, got := range []string{annual(t1), annual(t2), annual(time.Time{})} {
		if got != want[i] {
			t.Errorf("annual scores at moment %d = %s, want %s", i+1, got, want[i])
		}
	}
	// The score history keeps every value with the one it replaced.
	var sh struct {
		Items []skp.ScoreEntry `json:"items"`
	}
	s.must(200, "auditor-1", auditor, "GET", "/v1/skps/"+id+"/score-history", nil, &sh)
	var sources []string
	for _, e := range sh.Items {
		if e.Period != "2025" {
			continue
		}
		prev := "-"
		if e.Previous != nil {
			prev = string(e.Previous.Predikat)
		}
		sources = append(sources, string(e.Source)+":"+prev+"→"+string(e.Predikat))
	}
	if got := strings.Join(sources, " "); got != "APPRAISER:-→BAIK APPRAISER:BAIK→BUTUH_PERBAIKAN OBJECTION:BUTUH_PERBAIKAN→BAIK" {
		t.Errorf("annual score history = %s", got)
	}
}

// verifyAudit waits for a signed checkpoint covering the trail, then checks
// that POST /v1/audit/verify finds nothing wrong.
func verifyAudit(t *testing.T, s *server) audit.Report {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var cp audit.Checkpoint
		a := s.call("auditor-1", auditor, "GET", "/v1/audit/checkpoint", nil)
		if a.status == 200 && json.Unmarshal(a.body, &cp) == nil && cp.Size > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no signed checkpoint: %d %s", a.status, a.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The report is of the trail as projected: wait until it holds every
	// event (nothing pending), so that two reports compare whole trails.
	for {
		var rep audit.Report
		s.must(200, "auditor-1", auditor, "POST", "/v1/audit/verify", nil, &rep)
		if !rep.OK || rep.Checkpoints == 0 || rep.Size == 0 {
			t.Fatalf("audit verification = %+v, want ok with checkpoints", rep)
		}
		if rep.Pending == 0 {
			return rep
		}
		if time.Now().After(deadline) {
			t.Fatalf("the audit trail still lacks %d events: %+v", rep.Pending, rep)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestJourneyEmbedded(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	journey(t, s)
	before := verifyAudit(t, s)
	if err := s.stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	// A restart rebuilds the read models from the store and proves the
	// signed checkpoints before signing again.
	s = startServer(t, data)
	after := verifyAudit(t, s)
	if after.Size != before.Size || after.RootHash != before.RootHash {
		t.Errorf("after restart the trail is %d/%s, was %d/%s", after.Size, after.RootHash, before.Size, before.RootHash)
	}
	var page struct {
		Items []struct{ ID string } `json:"items"`
	}
	s.must(200, "hr-admin", hrAdmin, "GET", "/v1/skps?year=2025", nil, &page)
	if len(page.Items) != 2 {
		t.Errorf("after restart GET /v1/skps lists %d SKPs, want 2", len(page.Items))
	}
}

func TestConfigRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--store", "mongo"},
		{"--store", "postgres"},
		{"--read-models", "postgres"},
		{"--projections", "off"},
		{"--cadence", "WEEKLY"},
		{"--establish-deadline", "13-40"},
		{"--checkpoint-every", "0"},
		{"--snapshot-interval", "0s"},
		{"--cache-mb", "8"},
		{"--catchup-cache-skps", "-1"},
		{"--memory-limit-mb", "-5"},
		{"--evidence-max-bytes", "0"},
		{"--oidc-redirect-url", "https://k.example/masuk/oidc/kembali"},
		// Valid, and failing once the store is open: the issuer is down.
		{"--oidc-issuer", "http://127.0.0.1:1"},
	} {
		if err := run(context.Background(), append([]string{"--data", t.TempDir()}, args...), func(string) string { return "" }, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%v) succeeded, want a configuration error", args)
		}
	}
	// The dashboard's OIDC settings are refused before anything is fetched,
	// each for its own reason.
	oidc := []string{"--oidc-issuer", "https://idp.example", "--oidc-client-id", "dash", "--oidc-redirect-url", "https://k.example/masuk/oidc/kembali"}
	with := func(flag, value string) []string {
		out := slices.Clone(oidc)
		i := slices.Index(out, flag)
		if value == "" {
			return slices.Delete(out, i, i+2)
		}
		out[i+1] = value
		return out
	}
	if _, err := parseConfig(oidc, func(string) string { return "" }, io.Discard); err != nil {
		t.Errorf("valid OIDC settings refused: %v", err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{with("--oidc-issuer", ""), "issuer"},
		{with("--oidc-issuer", "http://idp.example"), "issuer"},
		{with("--oidc-redirect-url", ""), "redirect URL"},
		{with("--oidc-redirect-url", "https://k.example/callback"), "redirect URL"},
		{with("--oidc-redirect-url", "http://k.example/masuk/oidc/kembali"), "redirect URL"},
		{with("--oidc-client-id", "kinerja-api"), "must differ from --oidc-audience"},
	} {
		if _, err := parseConfig(c.args, func(string) string { return "" }, io.Discard); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseConfig(%v) = %v, want an error about %s", c.args, err, c.want)
		}
	}

	// The environment fills what flags do not give, and flags win.
	c, err := parseConfig([]string{"--listen", ":0"}, func(k string) string {
		return map[string]string{"KINERJA_LISTEN": "1.2.3.4:5", "KINERJA_DATA": "/tmp/x", "KINERJA_CADENCE": "MONTHLY"}[k]
	}, io.Discard)
	if err != nil || c.Listen != ":0" || c.DataDir != "/tmp/x" || c.Policy.Cadence != "MONTHLY" {
		t.Errorf("parseConfig = %+v, %v", c, err)
	}
	// The dating rule (domain.md §10): a flag and its variable, validated.
	c, err = parseConfig([]string{"--backdate-tolerance", "2m"}, func(k string) string {
		return map[string]string{"KINERJA_BACKFILL_MAX_AGE": "720h"}[k]
	}, io.Discard)
	if err != nil || c.Policy.Dating.Tolerance != 2*time.Minute || c.Policy.Dating.MaxAge != 30*24*time.Hour {
		t.Errorf("dating flags: %+v, %v", c.Policy.Dating, err)
	}
	c, err = parseConfig(nil, func(k string) string { return map[string]string{"KINERJA_SKP_LIMITS": "rhk=30,feedback=99"}[k] }, io.Discard)
	if err != nil || c.Policy.SKPLimits.RHK != 30 || c.Policy.SKPLimits.Feedback != 99 || c.Policy.SKPLimits.IndicatorsPerRHK != 20 {
		t.Errorf("--skp-limits from the environment: %+v, %v", c.Policy.SKPLimits, err)
	}
	if _, err := parseConfig([]string{"--skp-limits", "pages=3"}, func(string) string { return "" }, io.Discard); err == nil || !strings.Contains(err.Error(), "skp-limits") {
		t.Errorf("--skp-limits pages=3: %v", err)
	}
	for _, args := range [][]string{{"--backdate-tolerance", "-1s"}, {"--backdate-tolerance", "2h", "--backfill-max-age", "1h"}} {
		if _, err := parseConfig(args, func(string) string { return "" }, io.Discard); err == nil || !strings.Contains(err.Error(), "back") {
			t.Errorf("parseConfig(%v) = %v, want a dating error", args, err)
		}
	}
	if _, err := parseConfig(nil, func(k string) string {
		return map[string]string{"KINERJA_CACHE_MB": "lots"}[k]
	}, io.Discard); err == nil {
		t.Error("KINERJA_CACHE_MB=lots was accepted")
	}
	// The default budget holds a 10,000-employee agency's SKP events (about
	// 350,000 of about 300 bytes of data), its replayed SKPs and their
	// rendered views; and no more than the budget.
	c, err = parseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	events, skpEvents, renders := c.cacheSizes()
	if events < 350_000*(300+450) || skpEvents < 350_000 || renders < 100<<20 {
		t.Errorf("default cache sizes = %d bytes of events, SKPs of %d events, %d bytes of views; too small for 10,000 employees", events, skpEvents, renders)
	}
	if total := events + skpEvents*bytesPerReplayedEvent + renders; total > c.CacheMB<<20 {
		t.Errorf("the caches may take %d bytes, over --cache-mb %d", total, c.CacheMB)
	}
}

func TestMain(m *testing.M) {
	if crashChild() || signalChild() {
		return
	}
	os.Exit(m.Run())
}

// postgresURL creates a fresh database for one test (see pgtest).
func postgresURL(t *testing.T) string { return pgtest.NewDatabase(t) }

func TestJourneyPostgres(t *testing.T) {
	pg := postgresURL(t)
	data := t.TempDir()
	args := []string{"--store", "postgres", "--postgres-url", pg, "--migrate"}
	s := startServer(t, data, args...)
	journey(t, s)
	before := verifyAudit(t, s)
	if err := s.stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	s = startServer(t, data, args...)
	after := verifyAudit(t, s)
	if after.Size != before.Size || after.RootHash != before.RootHash {
		t.Errorf("after restart the trail is %d/%s, was %d/%s", after.Size, after.RootHash, before.Size, before.RootHash)
	}
}

func TestCrashSafetyPostgres(t *testing.T) {
	pg := postgresURL(t)
	crashSafety(t, t.TempDir(), "--store", "postgres", "--postgres-url", pg, "--migrate")
}

func TestDashboardIsMounted(t *testing.T) {
	s := startServer(t, t.TempDir())
	for path, want := range map[string]int{"/": 200, "/static/app.css": 200, "/healthz": 200, "/openapi.json": 200, "/v1/units/x": 401} {
		resp, err := http.Get(s.base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
		if path == "/" && !strings.Contains(string(body), "<html") {
			t.Errorf("GET / did not serve the dashboard: %.200s", body)
		}
	}
}

// A sign-in link written into the data directory while kinerjad runs (as
// kinerjactl login-link does) signs a person in to the dashboard once,
// with a server-side session; sign-out ends it.
func TestDashboardSignInLink(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	codes, err := session.OpenLoginCodes(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	code, _, err := codes.Issue(domain.Principal{ID: "auditor-1", Roles: []domain.Role{domain.RoleAuditor}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	post := func(path string, form url.Values) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", s.base)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if r := post("/masuk/tautan", url.Values{"kode": {code}, "next": {"/audit"}}); r.StatusCode != http.StatusOK || r.Request.URL.Path != "/audit" {
		t.Fatalf("sign-in link = %d at %s, want the audit page", r.StatusCode, r.Request.URL)
	}
	u, _ := url.Parse(s.base)
	var id string
	for _, ck := range jar.Cookies(u) {
		if ck.Name == session.CookieName {
			id = ck.Value
		}
	}
	if id == "" {
		t.Fatal("no session cookie")
	}
	if r := post("/masuk/tautan", url.Values{"kode": {code}}); r.Request.URL.Query().Get("gagal") != "tautan" {
		t.Errorf("the link worked twice: ended at %s", r.Request.URL)
	}
	post("/keluar", nil)
	resp, err := c.Get(s.base + "/audit")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/masuk" {
		t.Errorf("after sign-out /audit ended at %s, want the sign-in form", resp.Request.URL)
	}
}

// Behind a TLS proxy (--secure-cookies) the dashboard's session cookie is
// __Host-kinerja_session and Secure.
func TestSecureCookies(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, "--secure-cookies")
	codes, err := session.OpenLoginCodes(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	code, _, err := codes.Issue(domain.Principal{ID: "auditor-1", Roles: []domain.Role{domain.RoleAuditor}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.PostForm(s.base+"/masuk/tautan", url.Values{"kode": {code}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == session.SecureCookieName {
			ck = c
		}
	}
	if ck == nil || !ck.Secure || ck.Path != "/" || ck.Domain != "" || !ck.HttpOnly {
		t.Errorf("session cookie with --secure-cookies = %+v (all: %v)", ck, resp.Cookies())
	}
}
