package wiring

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// Snapshots keeps the embedded read models' snapshot (memreadmodel's
// WriteSnapshot and LoadSnapshot; docs/projections.md, "Snapshots"): it
// loads it before the start-up catch-up, writes a new one every Every
// events or Interval (whichever comes first, while events arrive), and
// once more at a clean shutdown. A snapshot that is refused is renamed
// to Path+".refused" (kept for inspection, never loaded again; removed,
// or else marked refused, when the rename fails: see setAside), logged
// and counted, and the read models rebuild from the log.
type Snapshots struct {
	Model *memreadmodel.Model
	// Path is the snapshot file (DATA/readmodels.snapshot).
	Path string
	// Key seals the snapshots (the audit key); Verifiers are the audit
	// keys a snapshot may be sealed with.
	Key       *merkle.Signer
	Verifiers []*merkle.Verifier
	// Store is the ledger a snapshot is verified against, and
	// WriterKeys the keyring its checkpoint events are authenticated with
	// (memreadmodel.Model.CheckHistory).
	Store      eventstore.Store
	WriterKeys *eventstore.Keyring
	// Witnessed returns the checkpoint a witness holds and the start-up
	// trusts (Guard.Witnessed), or nil: only the entries it covers skip
	// their writer signature check when a snapshot is loaded. Nil: none.
	Witnessed func() *audit.Checkpoint
	// Sign, when set, signs (and witnesses) an audit checkpoint over the
	// trail before each snapshot (audit.Signer.SignNow), at shutdown too,
	// so that the snapshot's trail has a signed checkpoint in the ledger
	// to be compared with at load and the witness covers it.
	Sign func(context.Context) error
	// Healthy, when set, must be nil for a snapshot to be written (the
	// integrity guard's Problem: read models over a history that changed
	// are not worth keeping).
	Healthy func() error
	// Every and Interval: a snapshot once the audit projection has moved
	// Every positions past the last one, or Interval after it if it moved
	// at all.
	Every    uint64
	Interval time.Duration
	// CheckAtLoad runs the history check of a loaded snapshot inside Load,
	// before the catch-up and /readyz, as before issue 15's start-up work
	// (--snapshot-check-at-load). False (the default): Load only prepares
	// it, and CheckHistory runs it once the service is ready.
	CheckAtLoad bool
	// Duty bounds the share of time the background history check runs
	// (memreadmodel.HistoryCheckOptions.Duty; 0: 0.5).
	Duty float64
	// Release, when set, lets the store drop the pages the history check
	// has read from the resident set after each of its batches
	// (memreadmodel.HistoryCheckOptions.Release; kinerjad passes
	// boltstore.Store.ReleaseMapped), so that reading the whole history
	// does not leave it all in the process's RSS.
	Release func() error
	// OnHistoryChanged, when set, is called once when the background
	// history check finds the history below the loaded snapshot changed,
	// after the snapshot is set aside and counted: kinerjad records it
	// with its guard and stops, so that its restart rebuilds the read
	// models from the log.
	OnHistoryChanged func(error)
	Log              *slog.Logger

	mu       sync.Mutex // one write at a time
	last     eventstore.Position
	lastAt   time.Time
	loads    *prometheus.CounterVec
	writes   *prometheus.CounterVec
	position prometheus.Gauge
	size     prometheus.Gauge
	seconds  prometheus.Gauge

	// The history check of the loaded snapshot (see CheckHistory).
	hmu       sync.Mutex
	check     *memreadmodel.HistoryCheck // prepared by Load, nil once run or when none
	hstatus   string                     // "" (none), pending, running, ok, failed
	hchecked  uint64
	htotal    uint64
	hcheckedG prometheus.Gauge
	htotalG   prometheus.Gauge
	hsecondsG prometheus.Gauge
}

// History check states (HistoryStatus).
const (
	HistoryPending = "pending"
	HistoryRunning = "running"
	HistoryOK      = "ok"
	HistoryFailed  = "failed"
)

// Collectors returns the snapshot metrics (kinerja_readmodel_snapshot_*).
func (s *Snapshots) Collectors() []prometheus.Collector {
	s.init()
	return []prometheus.Collector{s.loads, s.writes, s.position, s.size, s.seconds, s.hcheckedG, s.htotalG, s.hsecondsG}
}

func (s *Snapshots) init() {
	if s.loads != nil {
		return
	}
	s.loads = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "kinerja", Subsystem: "readmodel_snapshot", Name: "loads_total",
		Help: "Start-up loads of the read-model snapshot by result: loaded, absent, refused_format, refused_corrupt, refused_signature, refused_ledger, refused_history, error."}, []string{"result"})
	s.writes = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "kinerja", Subsystem: "readmodel_snapshot", Name: "writes_total",
		Help: "Read-model snapshots written, by result: ok or error."}, []string{"result"})
	s.position = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "kinerja", Subsystem: "readmodel_snapshot", Name: "position",
		Help: "Audit projection position of the newest snapshot loaded or written."})
	s.size = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "kinerja", Subsystem: "readmodel_snapshot", Name: "bytes",
		Help: "Size of the newest snapshot loaded or written."})
	s.seconds = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "kinerja", Subsystem: "readmodel_snapshot", Name: "last_write_seconds",
		Help: "How long the newest snapshot took to write."})
	s.hcheckedG = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "kinerja", Subsystem: "readmodel_snapshot", Name: "history_checked_entries",
		Help: "Audit entries below the loaded snapshot whose events the history check has checked so far (it runs after /readyz)."})
	s.htotalG = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "kinerja", Subsystem: "readmodel_snapshot", Name: "history_entries",
		Help: "Audit entries below the loaded snapshot that the history check covers (0: no snapshot loaded)."})
	s.hsecondsG = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "kinerja", Subsystem: "readmodel_snapshot", Name: "history_check_seconds",
		Help: "How long the finished history check of the loaded snapshot took (0 until it ends)."})
}

// Load loads the snapshot into the (empty) model. It reports whether one
// was loaded; a refused or unreadable one is set aside and the model left
// empty, to be rebuilt from the log.
//
// The check that the store's events below the snapshot are still the
// ones it was built from (memreadmodel.Model.CheckHistory) reads every one
// of them: it is prepared here and run by CheckHistory once the service
// is ready (unless CheckAtLoad), so that the start-up costs the snapshot's
// load and the events since, not the whole history.
//
// It first removes the temporary files of writes a killed process left
// (readmodel_snapshot_temp_removed): Load runs at start, before any write.
func (s *Snapshots) Load(ctx context.Context) bool {
	s.init()
	removed, err := memreadmodel.RemoveStaleTemps(s.Path)
	for _, name := range removed {
		s.Log.Info("readmodel_snapshot_temp_removed", "path", name, "reason", "left by a write that did not finish")
	}
	if err != nil {
		s.Log.Warn("readmodel_snapshot_temp_removed", "path", s.Path, "err", err)
	}
	if refused := s.marked(); refused != nil {
		// An earlier run refused this snapshot and could not set it aside.
		if _, err := os.Stat(s.Path); errors.Is(err, fs.ErrNotExist) {
			s.unmark() // gone since: nothing to refuse
		} else {
			s.setAside(refused, "rebuilding every read model from the log")
			return false
		}
	}
	info, err := s.Model.LoadSnapshot(ctx, s.Path, memreadmodel.LoadOptions{Keys: s.Verifiers, Store: s.Store})
	checked, checkTime := uint64(0), time.Duration(0)
	var check *memreadmodel.HistoryCheck
	if err == nil {
		check = s.Model.PrepareHistoryCheck()
		checkNow := s.CheckAtLoad
		if !checkNow {
			// A check after /readyz that fails must be able to set the
			// snapshot aside (or mark it), else the restart would serve it
			// again: where no file can be made next to it, check it now.
			if perr := s.probe(); perr != nil {
				s.Log.Warn("readmodel_history_check_at_load", "path", s.Path, "reason", "a refused snapshot could not be set aside", "err", perr)
				checkNow = true
			}
		}
		if checkNow {
			// The history the snapshot stands for must still be the store's.
			begin := time.Now()
			if checked, err = check.Run(ctx, s.Store, s.WriterKeys, s.witnessed(), memreadmodel.HistoryCheckOptions{Release: s.Release}); err != nil {
				s.reset(ctx)
			}
			checkTime = time.Since(begin)
			check = nil
		}
	}
	var refused *memreadmodel.SnapshotError
	switch {
	case err == nil:
		s.loads.WithLabelValues("loaded").Inc()
		s.mu.Lock()
		s.last, s.lastAt = info.Checkpoints[audit.Name], time.Now()
		s.mu.Unlock()
		s.position.Set(float64(s.last))
		s.size.Set(float64(info.Bytes))
		s.hmu.Lock()
		if check != nil {
			s.check, s.hstatus, s.hchecked, s.htotal = check, HistoryPending, 0, check.Size()
		} else {
			s.check, s.hstatus, s.hchecked, s.htotal = nil, HistoryOK, checked, checked
			s.hsecondsG.Set(checkTime.Seconds())
		}
		s.hcheckedG.Set(float64(s.hchecked))
		s.htotalG.Set(float64(s.htotal))
		status := s.hstatus
		s.hmu.Unlock()
		s.Log.Info("readmodel_snapshot_loaded", "path", s.Path, "audit_position", uint64(info.Checkpoints[audit.Name]),
			"resume_after", uint64(info.Min()), "audit_size", info.AuditSize, "bytes", info.Bytes, "seconds", info.Elapsed.Seconds(),
			"history_check", status, "history_checked", checked, "history_check_seconds", checkTime.Seconds())
		return true
	case errors.Is(err, memreadmodel.ErrNoSnapshot):
		s.loads.WithLabelValues("absent").Inc()
		s.Log.Info("readmodel_snapshot_absent", "path", s.Path)
	case errors.As(err, &refused):
		s.setAside(refused, "rebuilding every read model from the log")
	default:
		s.loads.WithLabelValues("error").Inc()
		s.Log.Warn("readmodel_snapshot_unreadable", "path", s.Path, "err", err, "action", "rebuilding every read model from the log")
	}
	return false
}

func (s *Snapshots) witnessed() *audit.Checkpoint {
	if s.Witnessed == nil {
		return nil
	}
	return s.Witnessed()
}

// reset empties the model (a refused snapshot's state).
func (s *Snapshots) reset(ctx context.Context) {
	for _, sink := range s.Model.Sinks() {
		if rerr := sink.Reset(ctx); rerr != nil {
			s.Log.Error("readmodel_reset_failed", "projection", sink.Name(), "err", rerr)
		}
	}
}

// refusalReasons names the reasons a snapshot is refused for (the
// refused_* results of kinerja_readmodel_snapshot_loads_total).
var refusalReasons = []struct {
	err  error
	name string
}{{memreadmodel.ErrSnapshotFormat, "format"}, {memreadmodel.ErrSnapshotSignature, "signature"}, {memreadmodel.ErrSnapshotLedger, "ledger"},
	{memreadmodel.ErrSnapshotHistory, "history"}}

// Marker is the file that stands for a refusal of the snapshot at Path
// when the snapshot could be neither renamed nor removed: Load refuses
// the snapshot while it exists, and a snapshot written over Path removes
// it. It holds the reason (history, ledger, …).
func (s *Snapshots) Marker() string { return s.Path + ".refused-marker" }

// setAside counts a refused snapshot, renames it to Path+".refused" and
// logs it with the action taken. A snapshot that cannot be renamed (the
// target is a directory, a permission) is removed, and one that cannot be
// removed either is marked refused (Marker), so that the next start does
// not load it again: after a history check failure kinerjad exits, and
// its restart would otherwise serve the same snapshot over the changed
// history until the check failed again. The error says that none of the
// three worked; the caller must then not trust the next start to
// rebuild.
func (s *Snapshots) setAside(refused *memreadmodel.SnapshotError, action string) error {
	reason := "corrupt"
	for _, r := range refusalReasons {
		if errors.Is(refused, r.err) {
			reason = r.name
		}
	}
	s.loads.WithLabelValues("refused_" + reason).Inc()
	aside := s.Path + ".refused"
	rerr := os.Rename(s.Path, aside)
	if rerr == nil || errors.Is(rerr, fs.ErrNotExist) {
		s.Log.Warn("readmodel_snapshot_refused", "path", s.Path, "moved_to", aside, "reason", reason, "err", refused, "action", action)
		s.unmark()
		return nil
	}
	s.Log.Warn("readmodel_snapshot_set_aside_failed", "path", s.Path, "moved_to", aside, "err", rerr, "fallback", "removing it")
	derr := os.Remove(s.Path)
	if derr == nil || errors.Is(derr, fs.ErrNotExist) {
		s.Log.Warn("readmodel_snapshot_refused", "path", s.Path, "removed", true, "reason", reason, "err", refused, "action", action)
		s.unmark()
		return nil
	}
	merr := os.WriteFile(s.Marker(), []byte(reason+"\n"), 0o600)
	if merr == nil {
		s.Log.Warn("readmodel_snapshot_refused", "path", s.Path, "marked", s.Marker(), "remove_err", derr, "reason", reason, "err", refused, "action", action)
		return nil
	}
	err := fmt.Errorf("the refused snapshot %s could be neither renamed (%v), removed (%v) nor marked refused (%v): move it away before the next start", s.Path, rerr, derr, merr)
	s.Log.Error("readmodel_snapshot_refused", "path", s.Path, "reason", reason, "err", refused, "action", action, "set_aside_err", err)
	return err
}

// probe tells whether a file can be made and removed next to the
// snapshot (what setAside needs).
func (s *Snapshots) probe() error {
	p := s.Path + ".probe"
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		return err
	}
	return os.Remove(p)
}

// unmark removes the refusal marker, if any: the snapshot it stood for is
// gone (set aside, removed, or written over).
func (s *Snapshots) unmark() {
	if err := os.Remove(s.Marker()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.Log.Warn("readmodel_snapshot_marker_remove_failed", "path", s.Marker(), "err", err)
	}
}

// marked reports the refusal the marker records, or nil when there is
// none.
func (s *Snapshots) marked() *memreadmodel.SnapshotError {
	b, err := os.ReadFile(s.Marker())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	reason := memreadmodel.ErrSnapshotHistory // what an unreadable marker is most likely for
	if err == nil {
		for _, r := range refusalReasons {
			if strings.TrimSpace(string(b)) == r.name {
				reason = r.err
			}
		}
	}
	return &memreadmodel.SnapshotError{Reason: reason, Err: fmt.Errorf("marked refused by %s", s.Marker())}
}

// Replaced tells that the model the snapshot was loaded into was thrown
// away (the start-up rebuilt the read models from the log instead, after
// the witness's root check): its history check is moot.
func (s *Snapshots) Replaced(m *memreadmodel.Model) {
	s.Model = m
	s.hmu.Lock()
	defer s.hmu.Unlock()
	s.check, s.hstatus, s.hchecked, s.htotal = nil, "", 0, 0
	if s.hcheckedG != nil {
		s.hcheckedG.Set(0)
		s.htotalG.Set(0)
	}
}

// HistoryStatus is the state of the loaded snapshot's history check for
// /readyz: nil when no snapshot was loaded.
func (s *Snapshots) HistoryStatus() *httpapi.HistoryCheckState {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	if s.hstatus == "" {
		return nil
	}
	return &httpapi.HistoryCheckState{Status: s.hstatus, Checked: s.hchecked, Total: s.htotal}
}

// historyChecked reports whether the model's history is known good: no
// snapshot loaded, or its check ended ok. Snapshots wait for it.
func (s *Snapshots) historyChecked() bool {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	return s.hstatus == "" || s.hstatus == HistoryOK
}

// CheckHistory runs the history check that Load prepared (nothing when
// none is pending), at a bounded pace (Duty), reporting its progress in
// HistoryStatus, the kinerja_readmodel_snapshot_history_* gauges and a log
// line every progress interval. Run it once the service is ready.
//
// When the history below the snapshot changed, the read models serve a
// history that is not the store's: the snapshot is set aside as
// Path+".refused" and counted (refused_history), HistoryStatus says
// failed, and OnHistoryChanged is called (kinerjad records the problem
// with its guard and exits, so that its restart rebuilds every read model
// from the log, as a start-up refusal always did). A failure to read the
// store is retried after a pause until ctx ends.
func (s *Snapshots) CheckHistory(ctx context.Context, progressEvery time.Duration) {
	s.init()
	s.hmu.Lock()
	check := s.check
	if check == nil || s.hstatus != HistoryPending {
		s.hmu.Unlock()
		return
	}
	s.hstatus = HistoryRunning
	s.hmu.Unlock()
	duty := s.Duty
	if duty <= 0 {
		duty = 0.5
	}
	begin := time.Now()
	lastLog := begin
	s.Log.Info("readmodel_history_check_started", "path", s.Path, "entries", check.Size(), "duty", duty)
	for {
		checked, err := check.Run(ctx, s.Store, s.WriterKeys, s.witnessed(), memreadmodel.HistoryCheckOptions{Duty: duty, Release: s.Release,
			Progress: func(n uint64) {
				s.hmu.Lock()
				s.hchecked = n
				s.hmu.Unlock()
				s.hcheckedG.Set(float64(n))
				if now := time.Now(); now.Sub(lastLog) >= progressEvery {
					lastLog = now
					s.Log.Info("readmodel_history_check_progress", "checked", n, "entries", check.Size(),
						"percent", float64(n)*100/float64(max(check.Size(), 1)), "seconds", now.Sub(begin).Seconds())
				}
			}})
		var refused *memreadmodel.SnapshotError
		switch {
		case err == nil:
			s.hmu.Lock()
			s.check, s.hstatus, s.hchecked = nil, HistoryOK, checked
			s.hmu.Unlock()
			s.hcheckedG.Set(float64(checked))
			s.hsecondsG.Set(time.Since(begin).Seconds())
			s.Log.Info("readmodel_history_check_done", "result", HistoryOK, "checked", checked, "seconds", time.Since(begin).Seconds())
			return
		case errors.As(err, &refused):
			s.hmu.Lock()
			s.check, s.hstatus, s.hchecked = nil, HistoryFailed, checked
			s.hmu.Unlock()
			s.hsecondsG.Set(time.Since(begin).Seconds())
			logErr := err
			if aerr := s.setAside(refused, "stopping: the read models were loaded from it; the restart rebuilds every read model from the log"); aerr != nil {
				err = fmt.Errorf("%w; %w", err, aerr)
			}
			if s.OnHistoryChanged != nil {
				s.OnHistoryChanged(err)
			}
			// Logged once the failure is recorded (kinerjad's guard and its
			// exit error): whoever reads "failed" and then stops the process
			// sees it exit with the history error, not a clean stop.
			s.Log.Error("readmodel_history_check_done", "result", HistoryFailed, "checked", checked, "seconds", time.Since(begin).Seconds(), "err", logErr)
			return
		case ctx.Err() != nil:
			s.hmu.Lock()
			s.hstatus = HistoryPending // the next start checks it again
			s.hmu.Unlock()
			return
		}
		s.Log.Warn("readmodel_history_check_retry", "err", err, "checked", checked, "retry_in", "30s")
		select {
		case <-ctx.Done():
			return
		case <-time.After(30 * time.Second):
		}
	}
}

// due reports whether the audit projection moved far or long enough.
func (s *Snapshots) due(ctx context.Context, now time.Time) bool {
	if !s.historyChecked() {
		return false // a snapshot of a history not yet checked is not written
	}
	pos, err := s.Model.Sink(audit.Name).Checkpoint(ctx)
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if pos <= s.last {
		return false
	}
	return uint64(pos-s.last) >= s.Every || now.Sub(s.lastAt) >= s.Interval
}

// Run writes a snapshot whenever one is due, polling every poll, until ctx
// ends.
func (s *Snapshots) Run(ctx context.Context, poll time.Duration) {
	s.mu.Lock()
	if s.lastAt.IsZero() {
		s.lastAt = time.Now()
	}
	s.mu.Unlock()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if s.due(ctx, time.Now()) {
			if err := s.Write(ctx); err != nil && ctx.Err() == nil {
				s.Log.Warn("readmodel_snapshot_failed", "path", s.Path, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Write signs a checkpoint (Sign) and writes a snapshot now, unless the
// audit projection has not moved since the last one.
func (s *Snapshots) Write(ctx context.Context) error { return s.write(ctx, true) }

// WriteAtShutdown signs a checkpoint (Sign) and writes a snapshot, as
// Write, except that a checkpoint that cannot be signed (the witness is
// down) is logged and the snapshot written regardless: the entries past
// the last witnessed checkpoint are then authenticated by their writer
// signatures when it is loaded (memreadmodel.Model.CheckHistory).
func (s *Snapshots) WriteAtShutdown(ctx context.Context) error { return s.write(ctx, false) }

func (s *Snapshots) write(ctx context.Context, mustSign bool) error {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Healthy != nil {
		if err := s.Healthy(); err != nil {
			return err
		}
	}
	if !s.historyChecked() {
		// The loaded snapshot's history check has not ended ok: the
		// snapshot on disk stays (the next start checks it again), and
		// none is written of read models over a history not yet checked.
		s.Log.Info("readmodel_snapshot_skipped", "path", s.Path, "reason", "the history check of the loaded snapshot has not ended ok")
		return nil
	}
	if pos, err := s.Model.Sink(audit.Name).Checkpoint(ctx); err != nil || pos <= s.last {
		return err
	}
	if s.Sign != nil {
		if err := s.Sign(ctx); err != nil {
			if mustSign {
				s.writes.WithLabelValues("error").Inc()
				return err
			}
			s.Log.Warn("readmodel_snapshot_unsigned", "path", s.Path, "err", err,
				"consequence", "the next start checks the writer signatures of the events past the last witnessed checkpoint")
		}
	}
	info, err := s.Model.WriteSnapshot(ctx, s.Path, s.Key, s.Store)
	if err != nil {
		s.writes.WithLabelValues("error").Inc()
		return err
	}
	s.writes.WithLabelValues("ok").Inc()
	s.unmark() // the refused snapshot it stood for is written over
	s.last, s.lastAt = info.Checkpoints[audit.Name], time.Now()
	s.position.Set(float64(s.last))
	s.size.Set(float64(info.Bytes))
	s.seconds.Set(info.Elapsed.Seconds())
	s.Log.Info("readmodel_snapshot_written", "path", s.Path, "audit_position", uint64(s.last), "audit_size", info.AuditSize,
		"bytes", info.Bytes, "seconds", info.Elapsed.Seconds())
	return nil
}
