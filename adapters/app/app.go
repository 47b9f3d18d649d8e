// Package app is the application layer between the edges that act (the
// HTTP API, package httpapi, and the dashboard, package web and its
// feature packages) and the domain: what both edges need, written once.
// Each edge only translates: HTTP/JSON or an HTML form in, problem+json or
// a page out.
//
// What lives here (in the manner of wild-workouts' internal/trainings/app):
//
//   - Command execution. [Streams] lets the commands of one stream take
//     turns in the process and retries races lost to other processes (the
//     domain.Runner); [App.Keyed] runs a command under an idempotency key,
//     with event IDs derived from the key, so that a repeat (an API retry,
//     a double click on a form) never records twice (keyed.go).
//   - The services and readers ([Config]): the domain services that run
//     commands and authorised reads of one aggregate, and the read models'
//     readers, handed to the edges as one value.
//   - Reads that need an access decision ([App.ListSKPs], the registers,
//     the audit trail, the timeline) and the reports, computed once and
//     cached while the read models they read are unchanged (reports.go).
//     Every decision is asked of package domain/authz; nothing here or in
//     an edge compares roles itself (layout_test.go enforces it).
//   - One error-kind table ([Describe]): kind → HTTP status, problem code,
//     and what a person is told, in Indonesian and English; what is logged
//     stays apart from what is shown (errors.go).
//
// The package imports no other adapter of the project (layout_test.go):
// the edges import it, and cmd wires it.
package app

import (
	"context"
	"errors"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
	"log/slog"
	"sync"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/consequences"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/objections"
	"github.com/kinerja-ledger/kinerja/projections/scores"
	"github.com/kinerja-ledger/kinerja/projections/skps"
	"github.com/kinerja-ledger/kinerja/projections/timeline"
)

// IdempotencyStore keeps the first answer to each keyed command for at
// least the configured retention, across restarts. Records are opaque to
// the store. Implementations (boltstore.Idempotency in embedded mode,
// pgidempotency.Store otherwise) are safe for concurrent use.
type IdempotencyStore interface {
	// Get returns the record stored under key, or ok=false when there is
	// none or it expired at or before now.
	Get(ctx context.Context, key string, now time.Time) (record []byte, ok bool, err error)
	// Put stores record under key until expires, durably when it returns.
	// When an unexpired record is already stored under key it keeps that
	// one (the first answer wins) and returns nil.
	Put(ctx context.Context, key string, record []byte, now, expires time.Time) error
	// DeleteExpired removes the records that expired at or before now and
	// returns how many.
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
}

// IdempotencyClaimer is an IdempotencyStore that can write a record in the
// same transaction as a keyed command's events (pgidempotency.Store with
// pgstore, or boltstore's): Keyed then claims the key with the events and completes the
// claim with the answer, instead of a second durable write.
type IdempotencyClaimer interface {
	IdempotencyStore
	// Claim returns ctx carrying the claim: the event store writes claim
	// under key (as Put) in the transaction of every append made under
	// the returned context. claimed reports whether the claim took (it
	// wrote the record: no unexpired record was stored under key) in a
	// transaction that committed.
	Claim(ctx context.Context, key string, claim []byte, now, expires time.Time) (context.Context, func() (claimed bool))
	// Complete replaces the record stored under key with record only when
	// it is still claim, the bytes this request claimed with; otherwise it
	// changes nothing and reports completed=false. It need not be durable
	// when it returns: losing it leaves the claim.
	Complete(ctx context.Context, key string, claim, record []byte, now, expires time.Time) (completed bool, err error)
}

// Verifier recomputes the audit trail from the event store and checks it
// against the stored tree and signed checkpoints.
type Verifier interface {
	// Verify returns what it found; an error only when it could not read.
	Verify(ctx context.Context) (audit.Report, error)
}

// Positions tells how far a projection has read, for the answers served
// from it (the API's Kinerja-Projection-Position header, the pages' notes)
// and for the report cache.
type Positions interface {
	// Checkpoint returns the position of the last event the projection
	// named (directory.Name, skps.Name, audit.Name, …) applied.
	Checkpoint(ctx context.Context, projection string) (eventstore.Position, error)
}

// Versions is optional next to Positions: a number of the named projection
// that moves whenever any of its writers applies an event. Under agency
// groups a projection's Checkpoint is the least of its groups' (what every
// group has applied: right for read-your-writes waits), which a group
// ahead does not move and a stalled group freezes; what is kept while a
// read model stands still must key on this instead. Without it, Version is
// the Checkpoint.
type Versions interface {
	Version(ctx context.Context, projection string) (int64, error)
}

// Services are the domain services commands run on. A keyed command gets
// copies whose handlers derive their IDs from the key ([App.Services]).
type Services struct {
	// Units runs the organisation-unit commands.
	Units *orgunit.Service
	// Employees runs the employee commands.
	Employees *employee.Service
	// SKPs runs the SKP, evaluation and objection commands, and the
	// authorised reads and as-of replays of one SKP.
	SKPs *skp.Service
	// Distribution runs the distribution justifications.
	Distribution *distribution.Service
}

// Config is everything the application layer holds: the domain services,
// the event store, the read models' readers, and the shared settings. The
// edges read the services and readers from it ([App.Config]); reads that
// need an access decision go through the App's methods.
type Config struct {
	// Units, Employees, SKPs and Distribution are the domain services.
	// Required.
	Units        *orgunit.Service
	Employees    *employee.Service
	SKPs         *skp.Service
	Distribution *distribution.Service
	// Store is the event store (an SKP's events with positions and
	// hashes; the reconstruction of a keyed command's answer). Required.
	Store eventstore.Store
	// RequireAgencyClaim makes a token's agency roles act only with the
	// agency claim (kinerjad --require-agency-claim), however many agencies
	// the store holds: required for a multi-agency deployment.
	RequireAgencyClaim bool

	// Directory serves units, subtrees and employee names. Required.
	Directory directory.Reader
	// Justifications supplies the recorded justifications of distribution
	// deviations. Optional (none are shown without it).
	Justifications directory.JustificationReader
	// SKPList serves the SKP lists and the progress report. Required.
	SKPList skps.Reader
	// Evaluations serves the distribution report and evaluation lists.
	// Optional: the reads that need it answer not found without it.
	Evaluations evaluations.Reader
	// Scores serves an employee's score history. Optional.
	Scores scores.Reader
	// Objections serves the objection register. Optional.
	Objections objections.Reader
	// Timeline serves an employee's timeline. Optional.
	Timeline timeline.Reader
	// Inbox serves what waits for each person: the deadline process
	// manager's items (projections/deadlines). Optional: without it an
	// inbox is empty.
	Inbox InboxReader
	// Audit serves the audit trail, checkpoints and proofs. Required.
	Audit audit.Reader
	// Verifier checks the trail on request. Required.
	Verifier Verifier
	// AuditKey is the checkpoint key's public half (a C2SP note verifier
	// key), which appeal bundles carry. Optional: a bundle without it
	// verifies only against a key the auditor gives.
	AuditKey string
	// Positions tells how far the projections had read. Optional (reports
	// are then computed on every request and carry position 0).
	Positions Positions
	// WaitForProjections, when set, returns once every projection has
	// applied the events up to a position (the projector's WaitFor). The
	// distribution gate of BLOCK mode waits on it so that it counts the
	// population as it stands. Optional.
	WaitForProjections func(ctx context.Context, pos eventstore.Position) error

	// Blobs keeps the evidence files people upload. Optional (without it
	// uploads and downloads are not found).
	Blobs Blobs
	// MaxEvidenceBytes bounds an evidence file (default
	// DefaultMaxEvidenceBytes).
	MaxEvidenceBytes int64

	// DocumentKey signs the verification codes of printed documents (the
	// audit key). Optional: without it no document is printed, and
	// verification trusts DocumentKeys alone.
	DocumentKey *merkle.Signer
	// DocumentKeys are further keys whose codes are accepted (earlier audit
	// keys, after a rotation). Optional.
	DocumentKeys []*merkle.Verifier
	// PublicURL is the service's address as readers reach it
	// ("https://kinerja.example"), the base of the verification URL a
	// document's QR code holds. Optional: the edges then use the request's
	// own address.
	PublicURL string

	// Idempotency keeps the first answers of keyed commands. Required.
	Idempotency IdempotencyStore
	// IdempotencyRetention is how long an answer is kept (default and
	// minimum 30 days, as the API's contract promises).
	IdempotencyRetention time.Duration
	// IdempotencyExclusive says that this process alone uses Idempotency
	// (boltstore.Idempotency: its file is locked to the process). Only then
	// is a 2xx answer whose events committed returned before its record is
	// written (answers.go): the process's own memory is then every
	// repeat's view. With a store shared by several processes
	// (PostgreSQL) a repeat sent to another process must find the answer
	// stored, so it is written first.
	IdempotencyExclusive bool

	// Policy is the domain configuration (dates in its zone). Default
	// policy.Default().
	// ConsequenceTables are the tables of the consequences register
	// (zero: consequences.DefaultTables).
	ConsequenceTables consequences.Tables

	Policy policy.Policy
	// Pattern is the distribution pattern reports are checked against.
	// Default distribution.SE3_2023.
	Pattern distribution.Pattern
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives what the layer logs (failed idempotency writes) and
	// is the edges' logger too (default slog.Default()).
	Logger *slog.Logger
}

// MinIdempotencyRetention is the contract's "kept at least 30 days".
const MinIdempotencyRetention = 30 * 24 * time.Hour

func (c *Config) setDefaults() {
	if c.IdempotencyRetention == 0 {
		c.IdempotencyRetention = MinIdempotencyRetention
	}
	if c.MaxEvidenceBytes <= 0 {
		c.MaxEvidenceBytes = DefaultMaxEvidenceBytes
	}
	if c.Policy.Version == "" {
		c.Policy = policy.Default()
	}
	if c.Pattern == nil {
		c.Pattern = distribution.SE3_2023
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every problem of c, joined. It expects the defaults of
// New to have been applied for the optional fields.
func (c Config) Validate() error {
	var errs []error
	missing := func(name string, ok bool) {
		if !ok {
			errs = append(errs, errors.New("app: "+name+" is required"))
		}
	}
	missing("Units", c.Units != nil && c.Units.Handler != nil)
	missing("Employees", c.Employees != nil && c.Employees.Handler != nil)
	missing("SKPs", c.SKPs != nil && c.SKPs.Handler != nil)
	missing("Distribution", c.Distribution != nil && c.Distribution.Handler != nil)
	missing("Store", c.Store != nil)
	missing("Directory", c.Directory != nil)
	missing("SKPList", c.SKPList != nil)
	missing("Audit", c.Audit != nil)
	missing("Verifier", c.Verifier != nil)
	missing("Idempotency", c.Idempotency != nil)
	if c.IdempotencyRetention < MinIdempotencyRetention {
		errs = append(errs, errors.New("app: IdempotencyRetention must be at least 30 days (the contract keeps keys that long)"))
	}
	if err := c.Policy.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// App is the application layer. It is safe for concurrent use; one value
// serves both edges, so that they share one report cache and one lock per
// idempotency key.
type App struct {
	cfg Config

	keyLocks Keyed        // keyed commands with the same key take turns
	answers  answerWriter // keyed answers written in the background (answers.go)
	reports  reportCache
	past     pastCache  // the SKPs rebuilt at the cuts of as-of reports
	views    viewsCache // the fold of the store behind consequences and calibration

	// takeOverHook, set by tests only, is called by takeOver at its steps
	// ("swap": about to replace a claim; "wait": about to wait for one),
	// so that a test can order two takeovers (keyed.go).
	takeOverHook func(step string)
	// claimTiming, set by tests only, shortens the durations of claims
	// (claimrenew.go); zero means the defaults.
	claimTiming claimTiming

	verifyMu   sync.Mutex
	lastVerify *Verification
	// lastVerifyOf is the last verification of each audit scope.
	lastVerifyOf map[string]*Verification

	tenancy agencies // what never changes about the agencies (tenancy.go)
}

// New returns the application layer for cfg, after applying defaults and
// validating it.
func New(cfg Config) (*App, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &App{cfg: cfg}
	if cfg.Policy.DistributionMode == policy.Block && cfg.SKPs.Distribution == nil {
		// BLOCK mode: the SKP service asks the App before it issues. A
		// copy, so that the caller's service is left as it was.
		s := *cfg.SKPs
		s.Distribution = a
		a.cfg.SKPs = &s
	}
	return a, nil
}

// Config returns the configuration (with defaults applied): the services
// and readers the edges read from.
func (a *App) Config() Config { return a.cfg }

// Now returns the time on the layer's clock.
func (a *App) Now() time.Time { return a.cfg.Now() }

// Today returns the date in the policy's zone.
func (a *App) Today() calendar.Date { return a.cfg.Policy.Date(a.cfg.Now()) }
