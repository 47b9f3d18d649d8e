// Package witness keeps the audit trail's witness records (see
// audit.Witness) outside the event store, where whoever can change or
// restore the store cannot also roll the witness back: a File on another
// volume, and a JetStream stream on a NATS server.
//
// A record is the JSON of an audit.WitnessRecord; its checkpoint note is
// signed with the audit key, so a record cannot be forged without it. What
// a witness must resist is being rolled back together with the store (an
// old backup of both put back), which is why the file belongs on a volume
// of its own and why JetStream refuses deletes and purges of the stream.
package witness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kinerja-ledger/kinerja/adapters/internal/atomicfile"
	"github.com/kinerja-ledger/kinerja/projections/audit"
)

// File keeps the newest record in one file, replaced atomically (a
// temporary file written and fsynced, renamed over the old one, the
// directory fsynced), so that a crash leaves the old record or the new,
// never a torn one.
type File struct {
	path string
}

var _ audit.Witness = (*File)(nil)

// NewFile returns a witness keeping its record at path. The directory is
// created (mode 0700) on the first Record.
func NewFile(path string) *File { return &File{path: path} }

// Name implements audit.Witness.
func (f *File) Name() string { return "file " + f.path }

// Latest implements audit.Witness: the record in the file; none when the
// file does not exist.
func (f *File) Latest(context.Context) (audit.WitnessRecord, bool, error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return audit.WitnessRecord{}, false, nil
	}
	if err != nil {
		return audit.WitnessRecord{}, false, err
	}
	var rec audit.WitnessRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return audit.WitnessRecord{}, false, fmt.Errorf("witness file %s: %w", f.path, err)
	}
	return rec, true, nil
}

// Record implements audit.Witness.
func (f *File) Record(_ context.Context, rec audit.WitnessRecord) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return ReplaceFile(f.path, append(b, '\n'), 0o600)
}

// ReplaceFile replaces the file at path with b, so that a crash leaves the
// old content or the new, never a mix (see atomicfile.Replace). The
// command's key and keyring files are written the same way.
func ReplaceFile(path string, b []byte, mode os.FileMode) error {
	return atomicfile.Replace(path, b, mode)
}

// JetStreamConfig configures a JetStream witness.
type JetStreamConfig struct {
	// URL is the NATS server. Required.
	URL string
	// Stream is the JetStream stream (default "KINERJA_WITNESS"); it is
	// created, or its configuration updated, at Open.
	Stream string
	// Subject is the records' subject (default "kinerja.witness"); use one
	// per ledger when several share a stream.
	Subject string
	// Replicas is the stream's replica count (default 1); use 3 on a
	// cluster.
	Replicas int
	// Timeout bounds connecting and each call (default 5 s).
	Timeout time.Duration
}

// JetStream keeps the records as messages of a JetStream stream with file
// storage, the newest being the last message on the subject. The stream
// denies deletes and purges, so a client cannot remove records (an
// operator of the NATS server still can: run it apart from the ledger's).
type JetStream struct {
	cfg    JetStreamConfig
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
}

var _ audit.Witness = (*JetStream)(nil)

// OpenJetStream connects to the NATS server and creates or updates the
// stream.
func OpenJetStream(ctx context.Context, cfg JetStreamConfig) (*JetStream, error) {
	if cfg.Stream == "" {
		cfg.Stream = "KINERJA_WITNESS"
	}
	if cfg.Subject == "" {
		cfg.Subject = "kinerja.witness"
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	nc, err := nats.Connect(cfg.URL, nats.Name("kinerja-witness"), nats.Timeout(cfg.Timeout))
	if err != nil {
		return nil, fmt.Errorf("witness: nats %s: %w", cfg.URL, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("witness: jetstream: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	st, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              cfg.Stream,
		Description:       "Kinerja Ledger: witnessed signed audit checkpoints",
		Subjects:          []string{cfg.Subject},
		Storage:           jetstream.FileStorage,
		Replicas:          cfg.Replicas,
		MaxMsgsPerSubject: 10_000,
		Discard:           jetstream.DiscardOld,
		DenyDelete:        true,
		DenyPurge:         true,
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("witness: stream %s: %w", cfg.Stream, err)
	}
	return &JetStream{cfg: cfg, nc: nc, js: js, stream: st}, nil
}

// Name implements audit.Witness.
func (j *JetStream) Name() string {
	return fmt.Sprintf("nats stream %s subject %s", j.cfg.Stream, j.cfg.Subject)
}

// Latest implements audit.Witness: the last message on the subject.
func (j *JetStream) Latest(ctx context.Context) (audit.WitnessRecord, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, j.cfg.Timeout)
	defer cancel()
	m, err := j.stream.GetLastMsgForSubject(ctx, j.cfg.Subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return audit.WitnessRecord{}, false, nil
	}
	if err != nil {
		return audit.WitnessRecord{}, false, err
	}
	var rec audit.WitnessRecord
	if err := json.Unmarshal(m.Data, &rec); err != nil {
		return audit.WitnessRecord{}, false, fmt.Errorf("witness message %d: %w", m.Sequence, err)
	}
	return rec, true, nil
}

// Record implements audit.Witness: it publishes rec and waits for the
// stream's acknowledgement (the message is stored).
func (j *JetStream) Record(ctx context.Context, rec audit.WitnessRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, j.cfg.Timeout)
	defer cancel()
	_, err = j.js.Publish(ctx, j.cfg.Subject, b, jetstream.WithExpectStream(j.cfg.Stream))
	return err
}

// Close closes the connection.
func (j *JetStream) Close() error {
	j.nc.Close()
	return nil
}
