package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// checkpointData is the stored JSON of a signed-checkpoint event. Note is
// authoritative; the other fields repeat it for readers.
type checkpointData struct {
	Note      string      `json:"note"`
	Origin    string      `json:"origin"`
	Size      uint64      `json:"size"`
	RootHash  merkle.Hash `json:"root_hash"`
	SignedAt  time.Time   `json:"signed_at"`
	KeyID     string      `json:"key_id"`
	Signature string      `json:"signature"`
	// Agencies repeat the note's agency lines; AgencyCheckpoints are the
	// agency checkpoints signed in the same round (issue 15).
	Agencies          []AgencyRoot           `json:"agencies,omitempty"`
	AgencyCheckpoints []agencyCheckpointData `json:"agency_checkpoints,omitempty"`
}

// CheckpointOf reads a signed-checkpoint event. It does not verify the
// signature (that needs the key; see OpenCheckpoint).
func CheckpointOf(ev eventstore.Event) (Checkpoint, error) {
	if ev.Type != CheckpointEventType {
		return Checkpoint{}, fmt.Errorf("audit: event %s has type %s, not %s", ev.ID, ev.Type, CheckpointEventType)
	}
	var d checkpointData
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return Checkpoint{}, fmt.Errorf("audit: checkpoint event %s: %w", ev.ID, err)
	}
	c := Checkpoint{Size: d.Size, RootHash: d.RootHash, SignedAt: d.SignedAt, KeyID: d.KeyID, Signature: d.Signature,
		Origin: d.Origin, Note: d.Note, Position: ev.Position, Agencies: d.Agencies}
	for _, a := range d.AgencyCheckpoints {
		c.AgencyCheckpoints = append(c.AgencyCheckpoints, AgencyCheckpoint{Agency: a.Agency, Size: a.Size, RootHash: a.RootHash,
			SignedAt: a.SignedAt, KeyID: a.KeyID, Signature: a.Signature, Origin: d.Origin, Note: a.Note, Position: ev.Position})
	}
	return c, nil
}

// OpenCheckpoint verifies c's note with one of verifiers and checks that the
// readable fields agree with the signed note.
func OpenCheckpoint(c Checkpoint, verifiers ...*merkle.Verifier) error {
	var errs []error
	for _, v := range verifiers {
		cp, sig, err := merkle.OpenSignature([]byte(c.Note), v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if cp.Size != c.Size || cp.Root != c.RootHash || !cp.SignedAt.Equal(c.SignedAt) || sig.KeyID() != c.KeyID || sig.Base64() != c.Signature {
			return fmt.Errorf("audit: checkpoint at size %d: its fields differ from its signed note", c.Size)
		}
		roots, err := parseAgencyLines(cp.Extensions)
		if err != nil {
			return fmt.Errorf("audit: checkpoint at size %d: %w", c.Size, err)
		}
		if !slices.Equal(roots, c.Agencies) {
			return fmt.Errorf("audit: checkpoint at size %d: its agency roots differ from its signed note", c.Size)
		}
		return nil
	}
	if len(errs) == 0 {
		return errors.New("audit: no verification key")
	}
	return fmt.Errorf("audit: checkpoint at size %d: no known key verifies it: %w", c.Size, errors.Join(errs...))
}

// TreeReader is what the Signer needs to know about the trail: its size and
// the root at any size (through its nodes).
type TreeReader interface {
	merkle.NodeReader
	Size(ctx context.Context) (uint64, error)
}

// AgencyTrail is implemented by a trail that keeps the agency logs; the
// Signer then signs the agency checkpoints and a national checkpoint over
// the agency roots.
type AgencyTrail interface {
	// Heads returns the global size and every agency log's size, read
	// together (one snapshot), so that the agency sizes add up to size.
	Heads(ctx context.Context) (size uint64, agencies []AgencyHead, err error)
	// AgencyNodes reads one agency log's tree.
	AgencyNodes(agency string) merkle.NodeReader
}

// ErrAgencyLogsIncomplete means the agency logs do not add up to the
// global trail (a PostgreSQL trail projected before the agency logs
// existed: rebuild the audit projection); the Signer signs nothing until
// they do.
var ErrAgencyLogsIncomplete = errors.New("audit: the agency logs do not add up to the trail (rebuild the audit projection)")

// SignerConfig configures a Signer.
type SignerConfig struct {
	// Store is the event store the checkpoints are appended to.
	Store eventstore.Store
	// Trail is the projected trail the checkpoints sign.
	Trail TreeReader
	// Key signs; its name is the checkpoints' origin.
	Key *merkle.Signer
	// Trusted verifies earlier checkpoints besides Key's own (after a key
	// rotation). Optional.
	Trusted []*merkle.Verifier
	// Every signs once this many entries were added since the last
	// checkpoint (default 1,000).
	Every uint64
	// Interval signs at least this often while entries keep arriving
	// (default 10 s).
	Interval time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives the signer's messages.
	Logger *slog.Logger
	// Witness, when set, records each checkpoint outside the store after it
	// is appended (and the latest one, once proven, if the witness lacks
	// it). A witness that cannot be written is logged and reported by
	// WitnessProblem; signing goes on.
	Witness *WitnessSet
}

// Signer signs checkpoints of the trail and appends them to
// CheckpointStream. It is safe for concurrent use.
type Signer struct {
	cfg SignerConfig

	mu       sync.Mutex
	verified bool  // the latest stored checkpoint was proven against the trail
	problem  error // why signing is refused, if it is
	last     *Checkpoint
	lastRev  uint64 // revision of the latest checkpoint event
	lastSize uint64
	lastTime time.Time
	lastID   uuid.UUID
	// lastAgencies are the agency roots of the latest checkpoint.
	lastAgencies map[string]AgencyRoot
	// witnessErr is why the latest checkpoint is not witnessed, if it is not.
	witnessErr error
	witnessed  bool // the latest checkpoint is witnessed
}

// NewSigner returns a Signer. It signs nothing until Run or SignNow.
func NewSigner(cfg SignerConfig) *Signer {
	if cfg.Every == 0 {
		cfg.Every = 1000
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Signer{cfg: cfg}
}

// ErrNotCaughtUp means the projected trail is behind the latest signed
// checkpoint, so it cannot be proven yet; signing waits.
var ErrNotCaughtUp = errors.New("audit: the trail has not caught up with the latest signed checkpoint")

// refusal marks an error of proveLatest that refuses signing for good:
// the latest checkpoint does not open or does not match the trail.
type refusal struct{ err error }

func (r refusal) Error() string { return r.err.Error() }
func (r refusal) Unwrap() error { return r.err }

// Problem returns why the signer refuses to sign, or nil.
func (s *Signer) Problem() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.problem
}

// WitnessProblem returns why the latest checkpoint could not be recorded
// by the witness, or nil.
func (s *Signer) WitnessProblem() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.witnessErr
}

// witness records the latest checkpoint with the witness, unless done.
// Called with s.mu held.
func (s *Signer) witness(ctx context.Context) {
	if s.cfg.Witness == nil || s.cfg.Witness.Len() == 0 || s.last == nil || s.witnessed {
		return
	}
	if _, err := s.cfg.Witness.Record(ctx, WitnessRecordOf(*s.last, s.lastRev, s.lastID)); err != nil {
		if ctx.Err() != nil {
			return // the shutdown: the next start witnesses it
		}
		s.witnessErr = err
		s.cfg.Logger.Error("audit_witness", "err", err, "size", s.last.Size)
		return
	}
	s.witnessErr, s.witnessed = nil, true
}

// Latest returns the latest checkpoint the signer knows (signed by it or
// proven at start).
func (s *Signer) Latest() (Checkpoint, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		return Checkpoint{}, false
	}
	return *s.last, true
}

// Run signs checkpoints until ctx ends: it checks every poll interval
// whether Every entries were added or Interval passed with entries added.
func (s *Signer) Run(ctx context.Context, poll time.Duration) error {
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if _, _, err := s.SignIfDue(ctx); err != nil && !errors.Is(err, ErrNotCaughtUp) && ctx.Err() == nil {
			s.cfg.Logger.Error("audit_signer", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// SignIfDue signs a checkpoint if Every entries were added since the last
// one, or Interval passed and entries were added.
func (s *Signer) SignIfDue(ctx context.Context) (Checkpoint, bool, error) {
	return s.sign(ctx, false)
}

// SignNow signs a checkpoint of the current trail if it grew since the last.
func (s *Signer) SignNow(ctx context.Context) (Checkpoint, bool, error) {
	return s.sign(ctx, true)
}

func (s *Signer) sign(ctx context.Context, force bool) (Checkpoint, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.verified {
		if err := s.proveLatest(ctx); err != nil {
			// Only a proof that failed is a problem for good. A trail not
			// yet caught up, a read that failed or a cancelled context
			// (the shutdown) is tried again at the next sign.
			var r refusal
			if errors.As(err, &r) {
				s.problem = r.err
				return Checkpoint{}, false, r.err
			}
			return Checkpoint{}, false, err
		}
	}
	if s.problem != nil {
		return Checkpoint{}, false, s.problem
	}
	at, hasAgencies := s.cfg.Trail.(AgencyTrail)
	var size uint64
	var heads []AgencyHead
	var err error
	if hasAgencies {
		size, heads, err = at.Heads(ctx)
	} else {
		size, err = s.cfg.Trail.Size(ctx)
	}
	if err != nil {
		return Checkpoint{}, false, err
	}
	now := s.cfg.Now()
	grew := size > s.lastSize
	due := grew && (force || size-s.lastSize >= s.cfg.Every || now.Sub(s.lastTime) >= s.cfg.Interval)
	if !due {
		return Checkpoint{}, false, nil
	}
	root, err := merkle.RootAt(ctx, s.cfg.Trail, size)
	if err != nil {
		return Checkpoint{}, false, err
	}
	if s.last != nil {
		// Append-only: the tree we are about to sign must contain the one we
		// signed last.
		old, err := merkle.RootAt(ctx, s.cfg.Trail, s.last.Size)
		if err != nil {
			return Checkpoint{}, false, err
		}
		if old != s.last.RootHash {
			s.problem = fmt.Errorf("audit: the trail's root at size %d is %s, but checkpoint signed %s: history changed", s.last.Size, old, s.last.RootHash)
			return Checkpoint{}, false, s.problem
		}
	}
	// SignedAt at the ledger's precision (microseconds), so every read model
	// stores exactly what the note signs.
	cp := merkle.Checkpoint{Origin: s.cfg.Key.Name(), Size: size, Root: root, SignedAt: eventstore.NormalizeTime(now)}
	var roots []AgencyRoot
	var agencyCPs []AgencyCheckpoint
	if hasAgencies {
		if roots, err = s.agencyRoots(ctx, at, size, heads); err != nil {
			return Checkpoint{}, false, err
		}
		for _, r := range roots {
			if last, ok := s.lastAgencies[r.Agency]; ok && last.Size == r.Size {
				continue // unchanged: its latest agency checkpoint still holds
			}
			ac, err := signAgency(s.cfg.Key, r, cp.SignedAt)
			if err != nil {
				return Checkpoint{}, false, err
			}
			agencyCPs = append(agencyCPs, ac)
		}
		cp.Extensions = agencyLines(roots)
	}
	note, err := merkle.Sign(cp, s.cfg.Key)
	if err != nil {
		return Checkpoint{}, false, err
	}
	_, sig, err := merkle.OpenSignature(note, s.cfg.Key.Verifier())
	if err != nil {
		return Checkpoint{}, false, err
	}
	c := Checkpoint{Size: size, RootHash: root, SignedAt: cp.SignedAt, KeyID: sig.KeyID(), Signature: sig.Base64(), Origin: cp.Origin, Note: string(note),
		Agencies: roots, AgencyCheckpoints: agencyCPs}
	cd := checkpointData{Note: c.Note, Origin: c.Origin, Size: c.Size, RootHash: c.RootHash, SignedAt: c.SignedAt, KeyID: c.KeyID, Signature: c.Signature,
		Agencies: roots}
	for _, a := range agencyCPs {
		cd.AgencyCheckpoints = append(cd.AgencyCheckpoints, agencyCheckpointData{Agency: a.Agency, Note: a.Note, Size: a.Size, RootHash: a.RootHash,
			SignedAt: a.SignedAt, KeyID: a.KeyID, Signature: a.Signature})
	}
	data, err := json.Marshal(cd)
	if err != nil {
		return Checkpoint{}, false, err
	}
	exp := eventstore.NoStream
	if s.last != nil {
		exp = eventstore.Exact(s.lastRev)
	}
	id := uuid.Must(uuid.NewV7())
	res, err := s.cfg.Store.Append(ctx, CheckpointStream, exp, eventstore.EventData{
		ID: id, Type: CheckpointEventType, SchemaVersion: 1, OccurredAt: now,
		Actor: eventstore.Actor{ID: "audit-signer", Role: "SYSTEM"}, Data: data,
	})
	if err != nil {
		if errors.Is(err, eventstore.ErrWrongExpectedRevision) {
			s.verified = false // another signer wrote one: prove it before going on
		}
		return Checkpoint{}, false, fmt.Errorf("audit: append checkpoint: %w", err)
	}
	c.Position = res.Position
	for i := range c.AgencyCheckpoints {
		c.AgencyCheckpoints[i].Position = res.Position
	}
	if hasAgencies {
		s.lastAgencies = rootMap(roots)
	}
	s.last, s.lastRev, s.lastSize, s.lastTime, s.lastID, s.witnessed = &c, res.Revision, size, now, id, false
	s.witness(ctx)
	return c, true, nil
}

// proveLatest loads the latest stored checkpoint and proves the trail
// against it: a known key signed it, and the trail's root at its size is
// its root. Called with s.mu held.
func (s *Signer) proveLatest(ctx context.Context) error {
	var latest *eventstore.Event
	for ev, err := range s.cfg.Store.ReadStream(ctx, CheckpointStream, eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.End, Limit: 1}) {
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			break
		}
		if err != nil {
			return err
		}
		latest = &ev
	}
	if latest == nil {
		s.verified, s.last, s.lastSize, s.lastTime, s.lastAgencies = true, nil, 0, s.cfg.Now(), nil
		return nil
	}
	c, err := CheckpointOf(*latest)
	if err != nil {
		return refusal{err}
	}
	if err := OpenCheckpoint(c, append([]*merkle.Verifier{s.cfg.Key.Verifier()}, s.cfg.Trusted...)...); err != nil {
		return refusal{fmt.Errorf("audit: refusing to sign: %w", err)}
	}
	size, err := s.cfg.Trail.Size(ctx)
	if err != nil {
		return err
	}
	if size < c.Size {
		return fmt.Errorf("%w (trail %d, checkpoint %d)", ErrNotCaughtUp, size, c.Size)
	}
	root, err := merkle.RootAt(ctx, s.cfg.Trail, c.Size)
	if err != nil {
		return err
	}
	if root != c.RootHash {
		return refusal{fmt.Errorf("audit: refusing to sign: the trail's root at size %d is %s, the signed checkpoint says %s", c.Size, root, c.RootHash)}
	}
	if at, ok := s.cfg.Trail.(AgencyTrail); ok && len(c.Agencies) > 0 {
		_, heads, err := at.Heads(ctx)
		if err != nil {
			return err
		}
		sizes := map[string]uint64{}
		for _, h := range heads {
			sizes[h.Agency] = h.Size
		}
		for _, r := range c.Agencies {
			if sizes[r.Agency] < r.Size {
				return fmt.Errorf("%w (agency %q: %d, checkpoint %d)", ErrNotCaughtUp, r.Agency, sizes[r.Agency], r.Size)
			}
			got, err := merkle.RootAt(ctx, at.AgencyNodes(r.Agency), r.Size)
			if err != nil {
				return err
			}
			if got != r.RootHash {
				return refusal{fmt.Errorf("audit: refusing to sign: agency %q's root at size %d is %s, the signed checkpoint says %s", r.Agency, r.Size, got, r.RootHash)}
			}
		}
	}
	s.lastAgencies = rootMap(c.Agencies)
	c.Position = latest.Position
	s.verified, s.last, s.lastRev, s.lastSize, s.lastTime, s.lastID = true, &c, latest.Revision, c.Size, c.SignedAt, latest.ID
	// Proven against the trail: witness it if the witness lacks it (the
	// process may have stopped between the append and the witness).
	if s.cfg.Witness != nil {
		rec, ok, err := s.cfg.Witness.Latest(ctx)
		s.witnessed = err == nil && ok && rec.EventID == latest.ID.String()
		s.witness(ctx)
	}
	return nil
}

// agencyRoots returns the agency roots at heads (which must add up to
// size), after checking each log is append-only since the latest
// checkpoint. Called with s.mu held.
func (s *Signer) agencyRoots(ctx context.Context, at AgencyTrail, size uint64, heads []AgencyHead) ([]AgencyRoot, error) {
	sum := uint64(0)
	for _, h := range heads {
		sum += h.Size
	}
	if sum != size {
		return nil, fmt.Errorf("%w: %d agency entries, %d trail entries", ErrAgencyLogsIncomplete, sum, size)
	}
	roots := make([]AgencyRoot, 0, len(heads))
	seen := map[string]bool{}
	for _, h := range heads {
		nodes := at.AgencyNodes(h.Agency)
		root, err := merkle.RootAt(ctx, nodes, h.Size)
		if err != nil {
			return nil, err
		}
		if last, ok := s.lastAgencies[h.Agency]; ok {
			if h.Size < last.Size {
				s.problem = fmt.Errorf("audit: agency %q's log has %d entries, but checkpoint signed %d: history changed", h.Agency, h.Size, last.Size)
				return nil, s.problem
			}
			old, err := merkle.RootAt(ctx, nodes, last.Size)
			if err != nil {
				return nil, err
			}
			if old != last.RootHash {
				s.problem = fmt.Errorf("audit: agency %q's root at size %d is %s, but checkpoint signed %s: history changed", h.Agency, last.Size, old, last.RootHash)
				return nil, s.problem
			}
		}
		seen[h.Agency] = true
		roots = append(roots, AgencyRoot{Agency: h.Agency, Size: h.Size, RootHash: root})
	}
	for a := range s.lastAgencies {
		if !seen[a] {
			s.problem = fmt.Errorf("audit: agency %q's log was signed before but is gone: history changed", a)
			return nil, s.problem
		}
	}
	slices.SortFunc(roots, func(a, b AgencyRoot) int { return strings.Compare(a.Agency, b.Agency) })
	return roots, nil
}

func rootMap(roots []AgencyRoot) map[string]AgencyRoot {
	m := make(map[string]AgencyRoot, len(roots))
	for _, r := range roots {
		m[r.Agency] = r
	}
	return m
}
