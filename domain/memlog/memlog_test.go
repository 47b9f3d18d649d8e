package memlog_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/memlog"
)

type noted struct {
	Text string `json:"text"`
}

func (noted) EventType() string { return "test.noted.v1" }

func ev(text string) domain.NewEvent {
	return domain.NewEvent{ID: uuid.New(), Meta: domain.Meta{Actor: domain.Actor{ID: "x"}, OccurredAt: time.Date(2026, 1, 1, 0, 0, 0, 123456789, time.UTC)}, Event: noted{text}}
}

func TestExpectedRevisions(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	l := memlog.New(func() time.Time { return now }, nil)
	tests := []struct {
		name     string
		expected domain.Expected
		wantRev  uint64
		wantErr  error
	}{
		{name: "create", expected: domain.NoStream, wantRev: 0},
		{name: "create again", expected: domain.NoStream, wantErr: domain.ErrConcurrency},
		{name: "append at 0", expected: domain.ExactRevision(0), wantRev: 1},
		{name: "stale revision", expected: domain.ExactRevision(0), wantErr: domain.ErrConcurrency},
		{name: "future revision", expected: domain.ExactRevision(5), wantErr: domain.ErrConcurrency},
		{name: "append at 1", expected: domain.ExactRevision(1), wantRev: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rev, err := l.Append(ctx, "s-1", tt.expected, []domain.NewEvent{ev(tt.name)})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Append error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || rev != tt.wantRev {
				t.Fatalf("Append = %d, %v; want %d", rev, err, tt.wantRev)
			}
		})
	}
	events, rev, ok, err := l.Load(ctx, "s-1")
	if err != nil || !ok || rev != 2 || len(events) != 3 {
		t.Fatalf("Load = %d events, rev %d, exists %v, %v", len(events), rev, ok, err)
	}
	if got := events[0].Meta.OccurredAt; got.Nanosecond() != 123456000 {
		t.Errorf("occurred_at = %v, want truncated to microseconds", got)
	}
	if !events[2].RecordedAt.Equal(now) || events[2].Revision != 2 {
		t.Errorf("last event = %+v", events[2])
	}
	if _, _, ok, _ := l.Load(ctx, "missing"); ok {
		t.Error("a missing stream exists")
	}
	if _, err := l.Append(ctx, "bad name", domain.NoStream, []domain.NewEvent{ev("x")}); err == nil {
		t.Error("Append to an invalid stream name succeeded")
	}
}
