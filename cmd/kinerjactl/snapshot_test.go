package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/deadlinestore"
	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

// kinerjadProc is a kinerjad process with its log lines.
type kinerjadProc struct {
	base   string
	mu     sync.Mutex
	lines  []string
	cmd    *exec.Cmd
	exited chan struct{}
}

func (p *kinerjadProc) logged(msg string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.lines {
		if strings.Contains(l, `"msg":"`+msg+`"`) {
			return l
		}
	}
	return ""
}

func (p *kinerjadProc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
		t.Fatal("kinerjad did not stop within 60 s")
	}
}

// buildKinerjad builds kinerjad into a temporary directory.
func buildKinerjad(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build kinerjad: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "kinerjad")
	if out, err := exec.Command(goBin, "build", "-o", bin, "../kinerjad").CombinedOutput(); err != nil {
		t.Fatalf("build kinerjad: %v\n%s", err, out)
	}
	return bin
}

// runKinerjad starts bin on data and waits until it listens.
func runKinerjad(t *testing.T, bin, data string, extra ...string) *kinerjadProc {
	t.Helper()
	p := &kinerjadProc{exited: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"--data", data, "--listen", "127.0.0.1:0"}, extra...)...)
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	listening := make(chan struct{})
	go func() {
		defer close(p.exited)
		defer p.cmd.Wait()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		once := sync.Once{}
		for sc.Scan() {
			l := sc.Text()
			p.mu.Lock()
			p.lines = append(p.lines, l)
			p.mu.Unlock()
			if strings.Contains(l, `"msg":"listening"`) {
				if i := strings.Index(l, `"addr":"`); i >= 0 {
					a := l[i+len(`"addr":"`):]
					p.base = "http://" + a[:strings.IndexByte(a, '"')]
					once.Do(func() { close(listening) })
				}
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case <-listening:
		return p
	case <-p.exited:
		t.Fatalf("kinerjad exited before listening:\n%s", strings.Join(p.lines, "\n"))
	case <-time.After(2 * time.Minute):
		t.Fatal("kinerjad did not listen within 2 minutes")
	}
	return nil
}

// readModelAnswers is what kinerjad's read models answer (as HR_ADMIN and
// AUDITOR): the SKP list, the employees, the objections, the audit trail.
func readModelAnswers(t *testing.T, p *kinerjadProc, token string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, path := range []string{"/v1/skps?limit=200", "/v1/employees?limit=200", "/v1/objections", "/v1/audit?limit=1000"} {
		req, err := http.NewRequest("GET", p.base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d %s", path, resp.StatusCode, b)
		}
		out[path] = string(b)
	}
	return out
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// deadlineItems returns the deadline items of every kind in the deadline
// store at path, and its checkpoint.
func deadlineItems(t *testing.T, path string) ([]deadlines.Item, eventstore.Position) {
	t.Helper()
	b, err := deadlinestore.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	items, err := b.OfKinds(ctx, deadlines.SubmitSKP, deadlines.EstablishSKP, deadlines.RatePeriod, deadlines.IssueEvaluation,
		deadlines.ObjectionWindow, deadlines.DecideObjection, deadlines.GiveExplanation, deadlines.SignAmendedPlan,
		deadlines.JustifyDistribution, deadlines.FinaliseEvaluation, deadlines.OpenImprovementPlan, deadlines.ImprovementFollowUp,
		deadlines.ImprovementResult)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := b.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return items, cp
}

// TestSnapshotOffline: kinerjactl snapshot over a seeded ledger writes the
// read models' snapshot; kinerjad then starts warm from it
// (readmodel_snapshot_loaded) and answers exactly as a cold start over a
// copy of the same ledger; the command refuses while kinerjad holds the
// data directory (the bbolt lock), and over a ledger with no trusted
// checkpoint it says what to do. The same pass writes deadlines.db as the
// offline deadline rebuild does, so that the warm start reads no event.
func TestSnapshotOffline(t *testing.T) {
	data, cold := t.TempDir(), t.TempDir()
	mustCtl(t, "seed", "--data", data, "--employees", "40", "--year", strconv.Itoa(time.Now().Year()-1))
	token := strings.TrimSpace(mustCtl(t, "token", "--init", "--data", data, "--sub", "hr-admin", "--roles", "HR_ADMIN,AUDITOR"))
	copyDir(t, data, cold)
	bin := buildKinerjad(t)

	c := runKinerjad(t, bin, cold, "--snapshot-every", "0")
	if c.logged("readmodel_snapshot_loaded") != "" {
		t.Fatal("the cold start loaded a snapshot")
	}
	want := readModelAnswers(t, c, token)
	c.stop(t)

	// The deadline process manager's state as the offline rebuild makes it,
	// on a copy no kinerjad ran on (its scheduler would finalise and fire).
	ref := t.TempDir()
	copyDir(t, data, ref)
	mustCtl(t, "projections", "rebuild", "deadlines", "--data", ref)

	out := mustCtl(t, "snapshot", "--data", data, "--catchup-cache-skps", "2")
	if !strings.Contains(out, `"stream_replays"`) || strings.Contains(out, `"stream_replays": 0,`) {
		t.Errorf("snapshot report %s: want the tiny cache's replays counted", out)
	}
	if _, err := os.Stat(filepath.Join(data, memreadmodel.SnapshotFile)); err != nil {
		t.Fatalf("no snapshot written: %v", err)
	}

	// The same pass wrote deadlines.db, up to the log's end, with the
	// items the offline rebuild makes.
	wantItems, wantCP := deadlineItems(t, filepath.Join(ref, "deadlines.db"))
	gotItems, gotCP := deadlineItems(t, filepath.Join(data, "deadlines.db"))
	if wantCP == 0 || gotCP != wantCP || !strings.Contains(out, fmt.Sprintf(`"deadlines_checkpoint": %d`, wantCP)) {
		t.Errorf("deadlines.db after the snapshot at %d, the rebuild's at %d; report %s", gotCP, wantCP, out)
	}
	if len(wantItems) == 0 || !reflect.DeepEqual(gotItems, wantItems) {
		t.Errorf("deadlines.db after the snapshot holds %d items, the rebuild %d; they differ", len(gotItems), len(wantItems))
	}

	w := runKinerjad(t, bin, data)
	if l := w.logged("readmodel_snapshot_loaded"); l == "" {
		t.Fatalf("kinerjad did not load the offline snapshot: %v", w.lines)
	}
	// Next to nothing left to read at the warm start (one event here):
	// without deadlines.db the deadline manager alone replayed the whole log.
	var caught struct {
		EventsRead int    `json:"events_read"`
		Covered    uint64 `json:"covered_by_checkpoint"`
	}
	if l := w.logged("read_models_caught_up"); json.Unmarshal([]byte(l), &caught) != nil || caught.Covered < 100 || caught.EventsRead > 2 {
		t.Errorf("the warm start after the offline snapshot read %d events of a log of %d: %s", caught.EventsRead, caught.Covered, l)
	}
	got := readModelAnswers(t, w, token)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s after the offline snapshot differs from the cold start:\nwant %s\ngot  %s", k, v, got[k])
		}
	}
	// kinerjad holds the data directory: refused before anything is read.
	if _, err := ctl(t, "snapshot", "--data", data); err == nil || !strings.Contains(err.Error(), "is kinerjad running") {
		t.Errorf("snapshot while kinerjad runs = %v, want a refusal naming kinerjad", err)
	}
	w.stop(t)

	// No signed checkpoint: refused, saying what to do.
	bare := t.TempDir()
	mustCtl(t, "seed", "--data", bare, "--employees", "8", "--sign-checkpoint=false")
	mustCtl(t, "token", "--init", "--data", bare, "--sub", "x") // the audit key, as a kinerjad start would make it
	_, err := ctl(t, "snapshot", "--data", bare)
	if !errors.Is(err, errNoTrustedCheckpoint) || !strings.Contains(err.Error(), "Start kinerjad") {
		t.Errorf("snapshot without a checkpoint = %v, want errNoTrustedCheckpoint", err)
	}
	if _, err := os.Stat(filepath.Join(bare, memreadmodel.SnapshotFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a snapshot was written without a trusted checkpoint: %v", err)
	}
}

// TestSnapshotDeadlinesHeld: a deadlines.db another process holds (a
// kinerjad whose event store is elsewhere, a running deadline rebuild)
// makes the snapshot refuse before it reads anything, naming the file;
// --deadlines=false leaves the file alone and writes the snapshot.
func TestSnapshotDeadlinesHeld(t *testing.T) {
	data := t.TempDir()
	mustCtl(t, "seed", "--data", data, "--employees", "8")
	path := filepath.Join(data, "deadlines.db")
	b, err := deadlinestore.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := ctl(t, "snapshot", "--data", data); err == nil || !strings.Contains(err.Error(), "deadlines.db is held by another process") {
		t.Errorf("snapshot with deadlines.db held = %v, want a refusal naming it", err)
	}
	if _, err := os.Stat(filepath.Join(data, memreadmodel.SnapshotFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a snapshot was written although deadlines.db was held: %v", err)
	}
	out := mustCtl(t, "snapshot", "--data", data, "--deadlines=false")
	if !strings.Contains(out, `"deadlines_checkpoint": 0`) {
		t.Errorf("snapshot --deadlines=false reports %s, want checkpoint 0", out)
	}
	if cp, err := b.Checkpoint(context.Background()); err != nil || cp != 0 {
		t.Errorf("deadlines.db at %d (%v) after --deadlines=false, want untouched", cp, err)
	}
}

// TestSnapshotDeadlineSettings (review of warmstart, finding 1): a
// snapshot run with other deadline flags (here --reminder-lead-days 10)
// records them in deadlines.db; kinerjad started with its defaults resets
// the items (deadlines_reset reason=settings) and rebuilds them, so that
// they are what an offline rebuild with the defaults makes over the same
// log. Without the check the items kept the snapshot's deadlines until
// their SKP's next event.
func TestSnapshotDeadlineSettings(t *testing.T) {
	data := t.TempDir()
	mustCtl(t, "seed", "--data", data, "--employees", "12", "--year", strconv.Itoa(time.Now().Year()-1))
	bin := buildKinerjad(t)
	ref := t.TempDir()
	copyDir(t, data, ref)
	mustCtl(t, "projections", "rebuild", "deadlines", "--data", ref)
	defItems, _ := deadlineItems(t, filepath.Join(ref, "deadlines.db"))

	mustCtl(t, "snapshot", "--data", data, "--reminder-lead-days", "10", "--establish-lead-days", "10")
	other, _ := deadlineItems(t, filepath.Join(data, "deadlines.db"))
	if len(defItems) == 0 || reflect.DeepEqual(other, defItems) {
		t.Fatalf("--reminder-lead-days 10 made the same %d items as the defaults: the test proves nothing", len(other))
	}
	// The flags that do nothing in a snapshot are refused.
	if _, err := ctl(t, "snapshot", "--data", data, "--deadline-interval", "1s"); err == nil {
		t.Error("snapshot accepted --deadline-interval, which it does not use")
	}

	w := runKinerjad(t, bin, data)
	l := w.logged("deadlines_reset")
	if !strings.Contains(l, `"reason":"settings"`) || !strings.Contains(l, "lead=10") || !strings.Contains(l, "lead=3") {
		t.Errorf("kinerjad with the default settings over deadlines.db of --reminder-lead-days 10 logged %q, want deadlines_reset reason=settings naming both", l)
	}
	w.stop(t)

	// Over last year's seed the scheduler's first round, at the start,
	// appends the overdue finalities, and the stop may come before the
	// deadline projection has applied them (its checkpoint then trails the
	// log: "7 items at 425" against a rebuild's "5 items at 427"). Bring
	// deadlines.db to the log's end offline, as the next start would:
	// `kinerjactl snapshot` with the defaults catches it up from its own
	// checkpoint; a reset there would mean kinerjad had not recorded the
	// defaults, and fails the test. Then compare with a rebuild with the
	// defaults over the same log.
	var snapOut, snapErr bytes.Buffer
	if err := run(context.Background(), []string{"snapshot", "--data", data}, func(string) string { return "" }, &snapOut, &snapErr); err != nil {
		t.Fatalf("snapshot after kinerjad's start: %v\n%s", err, snapErr.String())
	}
	if strings.Contains(snapErr.String(), "deadlines_reset") {
		t.Errorf("the snapshot with the defaults reset deadlines.db after kinerjad's start: kinerjad did not record the defaults:\n%s", snapErr.String())
	}
	ref2 := t.TempDir()
	copyDir(t, data, ref2)
	mustCtl(t, "projections", "rebuild", "deadlines", "--data", ref2)
	wantItems, wantCP := deadlineItems(t, filepath.Join(ref2, "deadlines.db"))
	gotItems, gotCP := deadlineItems(t, filepath.Join(data, "deadlines.db"))
	if gotCP != wantCP || !reflect.DeepEqual(gotItems, wantItems) {
		t.Errorf("deadlines.db after kinerjad's start: %d items at %d; a rebuild with the defaults: %d items at %d; they differ", len(gotItems), gotCP, len(wantItems), wantCP)
	}

	// Started again with the same settings: no reset.
	w = runKinerjad(t, bin, data)
	if l := w.logged("deadlines_reset"); l != "" {
		t.Errorf("a second start with the same settings reset again: %s", l)
	}
	w.stop(t)
}

// stallingSink is a deadline sink held at its first SKP event (poison).
type stallingSink struct{ projections.Sink }

func (s stallingSink) Apply(ctx context.Context, events ...projections.Event) error {
	for _, ev := range events {
		if strings.HasPrefix(ev.Stream, domain.SKPStreamPrefix) {
			return projections.Poison(ev.Event, errors.New("test: poison"))
		}
	}
	return s.Sink.Apply(ctx, events...)
}

// TestSnapshotDeadlinesStalled (review of warmstart, finding 2): a
// stalled deadline projection does not hold back the read models'
// snapshot: it is written, the report says deadlines_stalled, and the
// command exits non-zero (errDeadlinesStalled).
func TestSnapshotDeadlinesStalled(t *testing.T) {
	data := t.TempDir()
	mustCtl(t, "seed", "--data", data, "--employees", "8")
	old := snapshotDeadlineSink
	snapshotDeadlineSink = func(s *deadlines.Sink) projections.Sink { return stallingSink{s} }
	defer func() { snapshotDeadlineSink = old }()
	out, err := ctl(t, "snapshot", "--data", data)
	if !errors.Is(err, errDeadlinesStalled) {
		t.Errorf("snapshot with a stalled deadline projection = %v, want errDeadlinesStalled", err)
	}
	if _, err := os.Stat(filepath.Join(data, memreadmodel.SnapshotFile)); err != nil {
		t.Errorf("no snapshot written because the deadline projection stalled: %v", err)
	}
	if !strings.Contains(out, `"deadlines_stalled": "held at position`) || !strings.Contains(out, "test: poison") {
		t.Errorf("report %s: want deadlines_stalled naming the event", out)
	}
}
