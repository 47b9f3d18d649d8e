package wiring

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
// to Path+".refused" (kept for inspection, never loaded again), logged
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
	Log      *slog.Logger

	mu       sync.Mutex // one write at a time
	last     eventstore.Position
	lastAt   time.Time
	loads    *prometheus.CounterVec
	writes   *prometheus.CounterVec
	position prometheus.Gauge
	size     prometheus.Gauge
	seconds  prometheus.Gauge
}

// Collectors returns the snapshot metrics (kinerja_readmodel_snapshot_*).
func (s *Snapshots) Collectors() []prometheus.Collector {
	s.init()
	return []prometheus.Collector{s.loads, s.writes, s.position, s.size, s.seconds}
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
}

// Load loads the snapshot into the (empty) model. It reports whether one
// was loaded; a refused or unreadable one is set aside and the model left
// empty, to be rebuilt from the log.
func (s *Snapshots) Load(ctx context.Context) bool {
	s.init()
	info, err := s.Model.LoadSnapshot(ctx, s.Path, memreadmodel.LoadOptions{Keys: s.Verifiers, Store: s.Store})
	checked, checkTime := uint64(0), time.Duration(0)
	if err == nil {
		// The history the snapshot stands for must still be the store's.
		begin := time.Now()
		var witnessed *audit.Checkpoint
		if s.Witnessed != nil {
			witnessed = s.Witnessed()
		}
		if checked, err = s.Model.CheckHistory(ctx, s.Store, s.WriterKeys, witnessed); err != nil {
			for _, sink := range s.Model.Sinks() {
				if rerr := sink.Reset(ctx); rerr != nil {
					s.Log.Error("readmodel_reset_failed", "projection", sink.Name(), "err", rerr)
				}
			}
		}
		checkTime = time.Since(begin)
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
		s.Log.Info("readmodel_snapshot_loaded", "path", s.Path, "audit_position", uint64(info.Checkpoints[audit.Name]),
			"resume_after", uint64(info.Min()), "audit_size", info.AuditSize, "bytes", info.Bytes, "seconds", info.Elapsed.Seconds(),
			"history_checked", checked, "history_check_seconds", checkTime.Seconds())
		return true
	case errors.Is(err, memreadmodel.ErrNoSnapshot):
		s.loads.WithLabelValues("absent").Inc()
		s.Log.Info("readmodel_snapshot_absent", "path", s.Path)
	case errors.As(err, &refused):
		reason := "corrupt"
		for _, r := range []struct {
			err  error
			name string
		}{{memreadmodel.ErrSnapshotFormat, "format"}, {memreadmodel.ErrSnapshotSignature, "signature"}, {memreadmodel.ErrSnapshotLedger, "ledger"},
			{memreadmodel.ErrSnapshotHistory, "history"}} {
			if errors.Is(err, r.err) {
				reason = r.name
			}
		}
		s.loads.WithLabelValues("refused_" + reason).Inc()
		aside := s.Path + ".refused"
		if rerr := os.Rename(s.Path, aside); rerr != nil {
			s.Log.Warn("readmodel_snapshot_set_aside_failed", "path", s.Path, "err", rerr)
		}
		s.Log.Warn("readmodel_snapshot_refused", "path", s.Path, "moved_to", aside, "reason", reason, "err", err,
			"action", "rebuilding every read model from the log")
	default:
		s.loads.WithLabelValues("error").Inc()
		s.Log.Warn("readmodel_snapshot_unreadable", "path", s.Path, "err", err, "action", "rebuilding every read model from the log")
	}
	return false
}

// due reports whether the audit projection moved far or long enough.
func (s *Snapshots) due(ctx context.Context, now time.Time) bool {
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
	s.last, s.lastAt = info.Checkpoints[audit.Name], time.Now()
	s.position.Set(float64(s.last))
	s.size.Set(float64(info.Bytes))
	s.seconds.Set(info.Elapsed.Seconds())
	s.Log.Info("readmodel_snapshot_written", "path", s.Path, "audit_position", uint64(s.last), "audit_size", info.AuditSize,
		"bytes", info.Bytes, "seconds", info.Elapsed.Seconds())
	return nil
}
