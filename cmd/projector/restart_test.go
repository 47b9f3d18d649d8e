package main

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/pglease"
	"github.com/kinerja-ledger/kinerja/adapters/wmbridge"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// blipStore fails its first ReadAll, as PostgreSQL does during a blip.
type blipStore struct {
	eventstore.Store
	reads atomic.Int32
}

func (s *blipStore) ReadAll(ctx context.Context, opts eventstore.ReadAllOptions) iter.Seq2[eventstore.Event, error] {
	if s.reads.Add(1) == 1 {
		return func(yield func(eventstore.Event, error) bool) {
			yield(eventstore.Event{}, errors.New("blip: connection reset"))
		}
	}
	return s.Store.ReadAll(ctx, opts)
}

// cpSink is a projection that only keeps its checkpoint.
type cpSink struct {
	mu sync.Mutex
	cp eventstore.Position
}

func (s *cpSink) Name() string                { return "rm" }
func (s *cpSink) Policy() projections.Policy  { return projections.Stop }
func (s *cpSink) Filter() eventstore.Filter   { return eventstore.Filter{} }
func (s *cpSink) Reset(context.Context) error { return nil }
func (s *cpSink) DeadLetter(ctx context.Context, e projections.Event, _ error) error {
	return s.Apply(ctx, e)
}
func (s *cpSink) DeadLetters(context.Context) ([]projections.DeadLetterRecord, error) {
	return nil, nil
}
func (s *cpSink) Checkpoint(context.Context) (eventstore.Position, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cp, nil
}
func (s *cpSink) Apply(_ context.Context, events ...projections.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range events {
		s.cp = max(s.cp, e.Position)
	}
	return nil
}

// TestSharedPartitionRestartsAfterRunnerFailure: review finding 2. A
// partition whose catch-up fails (a ReadAll error during a database blip)
// used to stay locked and idle, its read model never moving again; its
// runner now reports Ended, the member releases it, and it is retaken with
// a fresh start, so the read model reaches the store's head.
func TestSharedPartitionRestartsAfterRunnerFailure(t *testing.T) {
	pg := os.Getenv("KINERJA_TEST_POSTGRES_URL")
	if pg == "" {
		t.Skip("KINERJA_TEST_POSTGRES_URL not set")
	}
	ctx := context.Background()
	bolt, err := boltstore.Open(filepath.Join(t.TempDir(), "k.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer bolt.Close()
	var last eventstore.AppendResult
	for i := range 20 {
		last, err = bolt.Append(ctx, fmt.Sprintf("s-%d", i%3), eventstore.Any, eventstore.EventData{
			ID: uuid.New(), Type: "test.happened.v1", SchemaVersion: 1, OccurredAt: time.Now(),
			Actor: eventstore.Actor{ID: "t", Role: "SYSTEM"}, Data: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
	}
	store := &blipStore{Store: bolt}
	sink := &cpSink{}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	m, err := pglease.Join(ctx, pglease.Config{URL: pg, Group: fmt.Sprintf("restart-%d-%d", os.Getpid(), time.Now().UnixNano()),
		Instance: "solo", Partitions: []string{"rm"}, Poll: 50 * time.Millisecond, Logger: log,
		New: func(name string) (pglease.Partition, error) {
			return &partition{start: func(ctx context.Context, wg *sync.WaitGroup, ended func()) error {
				p, err := wmbridge.NewProjector(ctx, wmbridge.ProjectorConfig{Store: store, Sinks: []projections.Sink{sink}, Logger: log})
				if err != nil {
					return err
				}
				runProjector(ctx, wg, p, log, name, nil, ended)
				return nil
			}}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(rctx) }()
	defer func() { cancel(); <-done }()
	// The failed projector's Close waits out its router's CloseTimeout
	// (10 s, a router that never ran) before the runner reports Ended.
	deadline := time.Now().Add(30 * time.Second)
	for {
		cp, _ := sink.Checkpoint(ctx)
		if cp >= last.Position {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("read model at %d, store head %d, after a failed catch-up (reads %d): the partition never restarted",
				cp, last.Position, store.reads.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if store.reads.Load() < 2 {
		t.Errorf("the blip never happened (reads %d)", store.reads.Load())
	}
}
