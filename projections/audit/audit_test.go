package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"iter"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// fakeTrail is a working in-memory audit.Store for these tests.
type fakeTrail struct {
	mu       sync.Mutex
	entries  []audit.Entry
	nodes    *merkle.MemNodes
	frontier []merkle.Hash
	cps      []audit.Checkpoint
	keys     map[audit.AgencyKey]string
	logs     map[string]*fakeLog
}

// fakeLog is one agency log of a fakeTrail.
type fakeLog struct {
	entries  []audit.AgencyEntry
	nodes    *merkle.MemNodes
	frontier []merkle.Hash
}

func newFakeTrail() *fakeTrail {
	return &fakeTrail{nodes: merkle.NewMemNodes(), keys: map[audit.AgencyKey]string{}, logs: map[string]*fakeLog{}}
}

func (f *fakeTrail) log(a string) *fakeLog {
	l := f.logs[a]
	if l == nil {
		l = &fakeLog{nodes: merkle.NewMemNodes()}
		f.logs[a] = l
	}
	return l
}

func (f *fakeTrail) AgencyOf(_ context.Context, k audit.AgencyKey) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.keys[k]
	return a, ok, nil
}

func (f *fakeTrail) SetAgencyOf(_ context.Context, k audit.AgencyKey, a string, _ eventstore.Position) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[k] = a
	return nil
}

func (f *fakeTrail) AgencySize(_ context.Context, a string) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return uint64(len(f.log(a).entries)), nil
}

func (f *fakeTrail) AgencyFrontier(_ context.Context, a string) ([]merkle.Hash, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]merkle.Hash(nil), f.log(a).frontier...), nil
}

func (f *fakeTrail) AppendAgency(_ context.Context, e audit.AgencyEntry, nodes []merkle.Node, frontier []merkle.Hash) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.log(e.Agency)
	l.entries = append(l.entries, e)
	l.frontier = frontier
	return l.nodes.Put(nodes...)
}

func (f *fakeTrail) Heads(context.Context) (uint64, []audit.AgencyHead, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var heads []audit.AgencyHead
	for a, l := range f.logs {
		if len(l.entries) > 0 {
			heads = append(heads, audit.AgencyHead{Agency: a, Size: uint64(len(l.entries))})
		}
	}
	slices.SortFunc(heads, func(a, b audit.AgencyHead) int { return strings.Compare(a.Agency, b.Agency) })
	return uint64(len(f.entries)), heads, nil
}

func (f *fakeTrail) AgencyNodes(a string) merkle.NodeReader {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.log(a).nodes
}

func (f *fakeTrail) AgencyEntries(_ context.Context, a string, from, to uint64, limit int) ([]audit.AgencyEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []audit.AgencyEntry
	for _, e := range f.log(a).entries {
		if e.Index >= from && e.Index < to && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *fakeTrail) AgencyCheckpoints(_ context.Context, a string) ([]audit.AgencyCheckpoint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []audit.AgencyCheckpoint
	for _, c := range f.cps {
		for _, ac := range c.AgencyCheckpoints {
			if ac.Agency == a {
				out = append(out, ac)
			}
		}
	}
	return out, nil
}

func (f *fakeTrail) Node(ctx context.Context, level uint8, index uint64) (merkle.Hash, error) {
	return f.nodes.Node(ctx, level, index)
}
func (f *fakeTrail) Size(context.Context) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return uint64(len(f.entries)), nil
}
func (f *fakeTrail) Frontier(context.Context) ([]merkle.Hash, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]merkle.Hash(nil), f.frontier...), nil
}
func (f *fakeTrail) Append(_ context.Context, e audit.Entry, nodes []merkle.Node, frontier []merkle.Hash) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries = append(f.entries, e)
	f.frontier = frontier
	return f.nodes.Put(nodes...)
}
func (f *fakeTrail) AddCheckpoint(_ context.Context, c audit.Checkpoint) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cps = append(f.cps, c)
	return nil
}
func (f *fakeTrail) AllEntries(context.Context) iter.Seq2[audit.Entry, error] {
	return func(yield func(audit.Entry, error) bool) {
		for _, e := range f.entries {
			if !yield(e, nil) {
				return
			}
		}
	}
}
func (f *fakeTrail) AllNodes(ctx context.Context) iter.Seq2[merkle.Node, error] {
	return func(yield func(merkle.Node, error) bool) {
		size := f.nodes.Size()
		for level := uint8(0); level < 64 && size>>level > 0; level++ {
			for i := uint64(0); i < size>>level; i++ {
				h, err := f.nodes.Node(ctx, level, i)
				if !yield(merkle.Node{Level: level, Index: i, Hash: h}, err) {
					return
				}
			}
		}
	}
}

type fixture struct {
	store   eventstore.Store
	path    string
	trail   *fakeTrail
	signer  *audit.Signer
	key     *merkle.Signer
	writers *eventstore.Keyring
	after   eventstore.Position
}

// writerKey is the fixture's writer key.
var writerKey = eventstore.NewEd25519Signer(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize)))

func newFixture(t *testing.T) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "k.db")
	writers := eventstore.NewKeyring(writerKey.Public())
	s, err := boltstore.Open(path, boltstore.Options{Signer: writerKey, Keyring: writers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	skey, _, err := merkle.GenerateKey("kinerja-ledger-test", bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	key, err := merkle.ParseSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: s, path: path, trail: newFakeTrail(), key: key, writers: writers}
	f.signer = audit.NewSigner(audit.SignerConfig{Store: s, Trail: f.trail, Key: key, Every: 1})
	return f
}

func (f *fixture) write(t *testing.T, stream string, n int) {
	t.Helper()
	for range n {
		_, err := f.store.Append(context.Background(), stream, eventstore.Any, eventstore.EventData{
			ID: uuid.New(), Type: "test.happened.v1", SchemaVersion: 1, OccurredAt: time.Now(),
			Actor: eventstore.Actor{ID: "196608011988031001", Role: "APPRAISER"}, Reason: "r", Data: []byte(`{}`),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// project applies every new event to the trail, as the projection runner
// would.
func (f *fixture) project(t *testing.T) {
	t.Helper()
	for ev, err := range f.store.ReadAll(context.Background(), eventstore.ReadAllOptions{After: f.after}) {
		if err != nil {
			t.Fatal(err)
		}
		if err := audit.Apply(context.Background(), f.trail, projections.Event{Event: ev}); err != nil {
			t.Fatal(err)
		}
		f.after = ev.Position
	}
}

func (f *fixture) verify(t *testing.T) audit.Report {
	t.Helper()
	r, err := audit.Verify(context.Background(), f.store, audit.VerifyOptions{Keys: []*merkle.Verifier{f.key.Verifier()}, Stored: f.trail, WriterKeys: f.writers})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSignProjectVerify(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, "skp-1", 5)
	f.project(t)
	c, signed, err := f.signer.SignNow(ctx)
	if err != nil || !signed || c.Size != 5 {
		t.Fatalf("SignNow = %+v, %v, %v; want a checkpoint of size 5", c, signed, err)
	}
	if _, signed, _ := f.signer.SignNow(ctx); signed {
		t.Error("SignNow signed again although the trail did not grow")
	}
	f.write(t, "skp-2", 3)
	f.project(t) // also projects the checkpoint event
	if c2, signed, err := f.signer.SignNow(ctx); err != nil || !signed || c2.Size != 8 {
		t.Fatalf("second SignNow = %+v, %v, %v", c2, signed, err)
	}
	f.project(t)
	r := f.verify(t)
	if !r.OK || r.Size != 8 || r.Checkpoints != 2 || r.Checked != 10 {
		t.Fatalf("Verify = %+v, want ok with 8 entries, 2 checkpoints, 10 events", r)
	}
	if len(f.trail.cps) != 2 {
		t.Errorf("projected %d checkpoints, want 2", len(f.trail.cps))
	}
	// Inclusion proof of every entry against the latest checkpoint.
	latest, _ := f.signer.Latest()
	for i, e := range f.trail.entries {
		proof, err := merkle.InclusionProof(ctx, f.trail.nodes, uint64(i), latest.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := merkle.VerifyInclusion(e.LeafHash, uint64(i), latest.Size, proof, latest.RootHash); err != nil {
			t.Errorf("entry %d: %v", i, err)
		}
	}
}

func TestRestartProvesBeforeSigning(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, "skp-1", 4)
	f.project(t)
	if _, _, err := f.signer.SignNow(ctx); err != nil {
		t.Fatal(err)
	}
	// A restart with a trail that lags: signing waits.
	lagging := newFakeTrail()
	s2 := audit.NewSigner(audit.SignerConfig{Store: f.store, Trail: lagging, Key: f.key})
	if _, _, err := s2.SignNow(ctx); err == nil || !strings.Contains(err.Error(), "caught up") {
		t.Errorf("SignNow on a lagging trail = %v, want ErrNotCaughtUp", err)
	}
	// A restart whose trail is not the one signed (history rewritten in the
	// store the trail was rebuilt from): it refuses and keeps refusing.
	forged := newFakeTrail()
	for i := range 4 {
		ev := eventstore.Event{EventData: eventstore.EventData{ID: uuid.New(), Type: "forged.v1"}, Stream: "skp-1", Revision: uint64(i), Position: eventstore.Position(i + 1)}
		if err := audit.Apply(ctx, forged, projections.Event{Event: ev}); err != nil {
			t.Fatal(err)
		}
	}
	s3 := audit.NewSigner(audit.SignerConfig{Store: f.store, Trail: forged, Key: f.key})
	if _, _, err := s3.SignNow(ctx); err == nil || !strings.Contains(err.Error(), "refusing to sign") {
		t.Fatalf("SignNow over a forged trail = %v, want a refusal", err)
	}
	if s3.Problem() == nil {
		t.Error("Problem() = nil after a refusal")
	}
	// A signer with another key cannot take over the log.
	skey, _, _ := merkle.GenerateKey("kinerja-ledger-test", bytes.NewReader(bytes.Repeat([]byte{9}, 64)))
	other, _ := merkle.ParseSigner(skey)
	s4 := audit.NewSigner(audit.SignerConfig{Store: f.store, Trail: f.trail, Key: other})
	if _, _, err := s4.SignNow(ctx); err == nil {
		t.Error("a signer with an unknown key signed over checkpoints it cannot verify")
	}
	// The honest restart proves and continues.
	f.write(t, "skp-1", 1)
	f.project(t)
	s5 := audit.NewSigner(audit.SignerConfig{Store: f.store, Trail: f.trail, Key: f.key})
	if c, signed, err := s5.SignNow(ctx); err != nil || !signed || c.Size != 5 {
		t.Errorf("honest restart SignNow = %+v, %v, %v", c, signed, err)
	}
}

func TestVerifyFindsTamperedTrail(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(f *fixture)
		want   string
		seq    uint64
	}{
		{"entry reason edited", func(f *fixture) { f.trail.entries[3].Reason = "edited" }, "stored audit entry differs", 3},
		{"entry deleted", func(f *fixture) { f.trail.entries = append(f.trail.entries[:2], f.trail.entries[3:]...) }, "stored audit entry differs", 2},
		{"entries swapped", func(f *fixture) { f.trail.entries[1], f.trail.entries[2] = f.trail.entries[2], f.trail.entries[1] }, "stored audit entry differs", 1},
		{"entry appended", func(f *fixture) {
			e := f.trail.entries[0]
			e.Seq = uint64(len(f.trail.entries))
			f.trail.entries = append(f.trail.entries, e)
		}, "has no event in the store", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.write(t, "skp-1", 6)
			f.project(t)
			tt.tamper(f)
			r := f.verify(t)
			if r.OK || len(r.Problems) == 0 {
				t.Fatalf("Verify after tampering = ok")
			}
			p := r.Problems[0]
			if !strings.Contains(p.Problem, tt.want) || p.Seq == nil || *p.Seq != tt.seq || p.Position == 0 {
				t.Errorf("first problem = %+v (seq %v), want %q at seq %d with a position", p, p.Seq, tt.want, tt.seq)
			}
		})
	}
}

func TestVerifyWithoutKeysReportsCheckpoints(t *testing.T) {
	f := newFixture(t)
	f.write(t, "skp-1", 2)
	f.project(t)
	if _, _, err := f.signer.SignNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	r, err := audit.Verify(context.Background(), f.store, audit.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.OK || !strings.Contains(r.Problems[0].Problem, "no key") {
		t.Errorf("Verify without keys = %+v, want a problem saying the signature cannot be checked", r)
	}
}

func TestLeafDataCoversEveryField(t *testing.T) {
	base := eventstore.Event{
		EventData: eventstore.EventData{ID: uuid.New(), Type: "t.v1", Actor: eventstore.Actor{ID: "a", Role: "r"}, Reason: "x",
			OccurredAt: time.Unix(100, 0)},
		Stream: "s", Revision: 1, Position: 2, RecordedAt: time.Unix(200, 0),
	}
	edits := []func(e *eventstore.Event){
		func(e *eventstore.Event) { e.ID[0]++ },
		func(e *eventstore.Event) { e.Type = "u.v1" },
		func(e *eventstore.Event) { e.Actor.ID = "b" },
		func(e *eventstore.Event) { e.Actor.Role = "q" },
		func(e *eventstore.Event) { e.Reason = "y" },
		func(e *eventstore.Event) { e.OccurredAt = e.OccurredAt.Add(time.Microsecond) },
		func(e *eventstore.Event) { e.RecordedAt = e.RecordedAt.Add(time.Microsecond) },
		func(e *eventstore.Event) { e.Stream = "t" },
		func(e *eventstore.Event) { e.Revision = 2 },
		func(e *eventstore.Event) { e.Position = 3 },
		func(e *eventstore.Event) { e.Hash[0]++ },
	}
	want := audit.EntryOf(0, base).LeafHash
	if audit.EntryOf(1, base).LeafHash == want {
		t.Error("seq not covered by the leaf")
	}
	for i, edit := range edits {
		e := base
		edit(&e)
		if audit.EntryOf(0, e).LeafHash == want {
			t.Errorf("edit %d not covered by the leaf", i)
		}
	}
}

func (f *fakeTrail) Entries(_ context.Context, q audit.Query) ([]audit.Entry, error) {
	var out []audit.Entry
	for _, e := range f.entries {
		if (q.AfterSet && e.Seq <= q.After) || !q.Match(e) {
			continue
		}
		out = append(out, e)
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
	}
	return out, nil
}

func TestAppealBundleVerifiesOfflineAndCatchesForgery(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, "skp-1", 4)
	f.write(t, "skp-2", 3)
	f.write(t, "skp-1", 2)
	f.project(t)
	cp, _, err := f.signer.SignNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.write(t, "skp-1", 1) // newer than the checkpoint: not covered
	f.project(t)
	b, err := audit.BuildBundle(ctx, f.store, f.trail, cp, f.key.Verifier().String(), "skp-1", []string{"skp-1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Through JSON, as it travels.
	raw, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var got audit.Bundle
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	r := audit.VerifyBundle(got, f.key.Verifier())
	if !r.OK || r.Events != 7 || r.Proven != 6 || r.Uncovered != 1 || !r.Trusted {
		t.Fatalf("VerifyBundle = %+v, want ok with 7 events, 6 proven, 1 uncovered", r)
	}
	forge := func(edit func(b *audit.Bundle)) audit.BundleReport {
		var c audit.Bundle
		json.Unmarshal(raw, &c)
		edit(&c)
		return audit.VerifyBundle(c, f.key.Verifier())
	}
	for name, edit := range map[string]func(b *audit.Bundle){
		"data edited":   func(b *audit.Bundle) { b.Streams[0].Events[2].Data = []byte(`{"forged":true}`) },
		"reason edited": func(b *audit.Bundle) { b.Streams[0].Events[1].Reason = "forged" },
		"event dropped": func(b *audit.Bundle) {
			b.Streams[0].Events = append(b.Streams[0].Events[:1], b.Streams[0].Events[2:]...)
		},
		"recorded_at moved": func(b *audit.Bundle) {
			b.Streams[0].Events[0].RecordedAt = b.Streams[0].Events[0].RecordedAt.Add(-time.Hour)
		},
		"checkpoint root swapped": func(b *audit.Bundle) { b.Checkpoint.RootHash[0] ^= 1 },
	} {
		if r := forge(edit); r.OK {
			t.Errorf("%s: VerifyBundle = ok, want a problem", name)
		}
	}
	// Another key cannot vouch for the bundle.
	skey, _, _ := merkle.GenerateKey("kinerja-ledger-test", bytes.NewReader(bytes.Repeat([]byte{3}, 64)))
	other, _ := merkle.ParseSigner(skey)
	if r := audit.VerifyBundle(got, other.Verifier()); r.OK {
		t.Error("a bundle verified with a key that did not sign it")
	}
}

// referenceLeafData is LeafData as it was written before AppendLeafData
// (field by field through a list of byte slices): the leaf bytes are
// signed in every checkpoint, so the rewrite must give exactly these.
func referenceLeafData(seq uint64, ev eventstore.Event) []byte {
	b := []byte("kinerja/audit-leaf/v1")
	u := func(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
	for _, f := range [][]byte{
		u(seq), u(uint64(ev.Position)), ev.ID[:], []byte(ev.Stream), u(ev.Revision),
		[]byte(ev.Type), []byte(ev.Actor.ID), []byte(ev.Actor.Role),
		u(uint64(ev.RecordedAt.UnixMicro())), u(uint64(ev.OccurredAt.UnixMicro())),
		[]byte(ev.Reason), ev.Hash[:],
	} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// TestAppendLeafDataIsLeafData: the allocation-free encoding gives the
// reference bytes, appended after whatever dst held.
func TestAppendLeafDataIsLeafData(t *testing.T) {
	evs := []eventstore.Event{
		{},
		{EventData: eventstore.EventData{ID: uuid.New(), Type: "skp.drafted.v1", Actor: eventstore.Actor{ID: "198001012005011001", Role: "EMPLOYEE"},
			Reason: "alasan — é\x00", OccurredAt: time.UnixMicro(1_700_000_000_123_456)},
			Stream: "skp-" + strings.Repeat("x", 300), Revision: 1 << 40, Position: 123456789, RecordedAt: time.UnixMicro(-5), Hash: eventstore.Hash{1, 2, 3}},
	}
	for i, ev := range evs {
		for _, seq := range []uint64{0, 7, 1<<64 - 1} {
			want := referenceLeafData(seq, ev)
			if got := audit.LeafData(seq, ev); !bytes.Equal(got, want) {
				t.Fatalf("event %d seq %d: LeafData\n%x, want\n%x", i, seq, got, want)
			}
			if got := audit.AppendLeafData([]byte("prefix"), seq, ev); !bytes.Equal(got, append([]byte("prefix"), want...)) {
				t.Fatalf("event %d seq %d: AppendLeafData after a prefix differs", i, seq)
			}
		}
	}
	dst := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { dst = audit.AppendLeafData(dst[:0], 3, evs[1]) }); n != 0 {
		t.Errorf("AppendLeafData into a large enough buffer: %v allocations", n)
	}
}
