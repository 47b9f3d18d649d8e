package wiring

import (
	"context"
	"testing"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

type cpSink struct {
	projections.Sink
	name string
	cp   eventstore.Position
}

func (s cpSink) Name() string { return s.name }
func (s cpSink) Checkpoint(context.Context) (eventstore.Position, error) {
	return s.cp, nil
}

type versionSink struct {
	cpSink
	v int64
}

func (s versionSink) Version(context.Context) (int64, error) { return s.v, nil }

// SinkPositions' Version is a Sink's Version when it has one (pgreadmodel's
// sum over agency groups), else its checkpoint; the checkpoint stays the
// checkpoint.
func TestSinkPositionsVersion(t *testing.T) {
	ctx := context.Background()
	p := PositionsOf([]projections.Sink{cpSink{name: "directory", cp: 7}, versionSink{cpSink{name: "skps", cp: 5}, 12}})
	for _, c := range []struct {
		name string
		cp   eventstore.Position
		v    int64
	}{{"directory", 7, 7}, {"skps", 5, 12}} {
		cp, err := p.Checkpoint(ctx, c.name)
		if err != nil || cp != c.cp {
			t.Errorf("Checkpoint(%s) = %d, %v; want %d", c.name, cp, err, c.cp)
		}
		if v, err := p.Version(ctx, c.name); err != nil || v != c.v {
			t.Errorf("Version(%s) = %d, %v; want %d", c.name, v, err, c.v)
		}
	}
	if _, err := p.Version(ctx, "nothing"); err == nil {
		t.Error("the version of an unknown projection")
	}
}
