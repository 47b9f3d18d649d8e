package main

import (
	"errors"
	"flag"
	"fmt"
	"github.com/kinerja-ledger/kinerja/projections"
	"io"
	"log/slog"
	"net/url"
	"time"

	application "github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
	"github.com/kinerja-ledger/kinerja/adapters/web"
	"github.com/kinerja-ledger/kinerja/adapters/web/session"
	"github.com/kinerja-ledger/kinerja/cmd/internal/backend"
	"github.com/kinerja-ledger/kinerja/cmd/internal/config"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/domain/bizdate"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/consequences"
)

// Read-model backends accepted by --read-models.
const (
	readModelsMemory   = "memory"
	readModelsPostgres = "postgres"
)

// Config is kinerjad's configuration. Every field has a flag and an
// environment variable of the same meaning (the flag wins); see README.md.
type Config struct {
	// DataDir holds the bbolt store, the signing keys and local state.
	DataDir string
	// Listen is the address to serve on (":0" picks a free port).
	Listen string
	// Store is bolt, postgres or kurrentdb.
	Store string
	// PostgresURL is the PostgreSQL of the store and/or the read models.
	PostgresURL string
	// PostgresTailReaders: --postgres-tail-readers.
	PostgresTailReaders int
	// KurrentDBURL is the KurrentDB connection string.
	KurrentDBURL string
	// ReadModels is memory (rebuilt from the store at start-up) or postgres.
	// Default: memory with the bolt store, postgres otherwise.
	ReadModels string
	// Projections runs the projections in this process ("inprocess", the
	// default) or not at all ("off": a separate projector process feeds the
	// PostgreSQL read models).
	Projections string
	// Migrate applies the PostgreSQL migrations at start-up.
	Migrate bool
	// NATSURL, when set, relays integration events to NATS JetStream on
	// subject NATSSubject.
	NATSURL     string
	NATSSubject string
	// ConsequenceSubject is the NATS subject of the consequences of final
	// evaluations (issue 14), published with NATSURL; "" publishes none.
	ConsequenceSubject string
	// Consequences are the conversion tables of the consequences
	// (--consequence-tables, a JSON file; the PermenPANRB 1/2023 defaults
	// without it).
	Consequences consequences.Tables
	// ConsequencesFile is the --consequence-tables file ("" without one):
	// its tables are adopted in the ledger at start (consequences.Adopt),
	// refused for years whose consequences are already published.
	ConsequencesFile string
	// Deadlines configures the deadline process manager (its reminders'
	// NATS subject, due days, leads, rounds).
	Deadlines wiring.DeadlineConfig
	// OIDCIssuer, when set, verifies tokens with the issuer's JWKS instead
	// of the embedded key; OIDCAudience is the expected audience.
	OIDCIssuer   string
	OIDCAudience string
	// SessionIdle and SessionMax end the dashboard's sessions: unused that
	// long, and that old.
	SessionIdle, SessionMax time.Duration
	// SecureCookies: the dashboard is served over https (behind a
	// TLS-terminating proxy): its cookies are Secure and the session
	// cookie is named __Host-kinerja_session. An https OIDC redirect URL
	// implies it.
	SecureCookies bool
	// RequireAgencyClaim: a token's agency roles act only with the
	// "agency" claim, whatever the number of agencies (required for a
	// multi-agency deployment; off by default for compatibility).
	RequireAgencyClaim bool
	// EvidenceMaxBytes bounds an uploaded evidence file.
	EvidenceMaxBytes int64
	// OIDCClientID, when set, lets the dashboard sign users in through the
	// issuer (authorization code flow with PKCE) as this client;
	// OIDCClientSecret authenticates a confidential client, and
	// OIDCRedirectURL is the callback registered with the issuer.
	OIDCClientID     string
	OIDCClientSecret string
	OIDCRedirectURL  string
	// PublicURL is the service's address as people reach it
	// (https://kinerja.example): the base of the verification URLs that
	// printed documents carry in their QR codes. Default: the address each
	// request came to.
	PublicURL string
	// AuditKeyName names the audit log (the checkpoints' origin) when its
	// key is created; AuditKeyFile overrides the key's path.
	AuditKeyName string
	AuditKeyFile string
	// Integrity is the writer key and keyring, the witnesses and the
	// rollback override (paths default into DataDir).
	Integrity wiring.IntegrityConfig
	// CheckpointEvery and CheckpointInterval: a signed checkpoint every N
	// entries or T, while entries arrive.
	CheckpointEvery    uint64
	CheckpointInterval time.Duration
	// SnapshotEvery and SnapshotInterval: with in-memory read models, a
	// snapshot of them every N events or T while events arrive (and at a
	// clean shutdown); SnapshotEvery 0 turns snapshots off.
	SnapshotEvery    uint64
	SnapshotInterval time.Duration
	// SnapshotCheckAtLoad checks the history below a loaded snapshot
	// before /readyz (the start-up then reads the whole history); false:
	// after it, in the background (docs/projections.md, "Snapshots").
	SnapshotCheckAtLoad bool
	// WarmViews folds the log into the consequence, calibration and
	// development views in the background once ready, so that their first
	// request does not wait for it.
	WarmViews bool
	// ProjectionCacheSKPs bounds the cache of SKP aggregates of each SKP
	// projection (skps, evaluations, scores, objections, timeline, in
	// memory or in PostgreSQL), of the deadline manager and of the
	// consequence relay, in SKPs, while kinerjad serves. The PostgreSQL
	// read models' caches are sized by the projections' default
	// (65,536, the flag's default too) and held to the flag once serving.
	ProjectionCacheSKPs int
	// ProjectionCacheMaxSKPs is what those caches may grow to during the
	// start-up catch-up when they meet a scan over more SKPs than they
	// hold (projections.Cache); ≤ ProjectionCacheSKPs (0 too): no cache
	// grows, nor does any once serving.
	ProjectionCacheMaxSKPs int
	// CatchUpCacheSKPs bounds those caches during the start-up catch-up
	// (projections.BoundedHistory): a rebuild from the whole log would
	// otherwise fill each to ProjectionCacheSKPs; 0: no other bound.
	CatchUpCacheSKPs int
	// KeepProjectionCaches keeps what the start-up catch-up put in those
	// caches; false: they are emptied once it is done (Model.DropCaches).
	KeepProjectionCaches bool
	// MemoryLimitMB is the Go runtime's soft memory limit (GOMEMLIMIT)
	// in MiB, applied unless GOMEMLIMIT is set in the environment; 0:
	// none.
	MemoryLimitMB int
	// MemoryBudgetMB bounds the raises of that limit over the live heap
	// (memlimit.go): the headroom shrinks as the live heap nears it; 0:
	// none (1.5 × the live heap).
	MemoryBudgetMB int
	// ServingGCPercent is the garbage collector's target (GOGC) once the
	// start-up is done, applied only under a soft memory limit and unless
	// GOGC is set in the environment; 0: the runtime's (100).
	ServingGCPercent int
	// ReadyMaxLag is the largest projection lag /readyz accepts.
	ReadyMaxLag time.Duration
	// ShutdownTimeout bounds the graceful drain of HTTP requests.
	ShutdownTimeout time.Duration
	// SnapshotShutdownTimeout bounds the read-model snapshot written at a
	// clean shutdown, on its own, after the drain (which may have used
	// all of ShutdownTimeout): a province's write takes 15–20 s.
	SnapshotShutdownTimeout time.Duration
	// ContentionWait bounds how long a command waits for its stream (its
	// turn in this process, and pauses after losing to another process)
	// before it answers 409 contention.
	ContentionWait time.Duration
	// LogLevel is debug, info, warn or error.
	LogLevel slog.Level
	// DebugAddr, when set, serves net/http/pprof there (keep it on
	// localhost: profiles reveal internals).
	DebugAddr string
	// CacheMB is the memory budget of the read caches (decoded events,
	// replayed SKPs, rendered views), split by cacheSizes. Each cache is
	// bounded by the estimated size of what it holds.
	CacheMB int
	// Policy is the appraisal rule configuration (domain/policy), from
	// Default with the overrides below.
	Policy policy.Policy
	// Version asks for the build's version instead of a service (--version);
	// nothing else is read or checked then.
	Version bool
}

// parseConfig reads the flags, then the environment for every flag not
// given (cmd/internal/config: KINERJA_<FLAG>, the flag wins, a variable
// that does not parse is an error).
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("kinerjad", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Config
	var logLevel string
	var pf wiring.PolicyFlags
	var anonymityK int
	var tolerance, maxAge time.Duration
	var skpLimits string
	fs.StringVar(&c.DataDir, "data", "./data", "data directory")
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:8080", "listen address; :0 picks a free port")
	fs.StringVar(&c.Store, "store", backend.Bolt, "event store: bolt, postgres or kurrentdb")
	fs.StringVar(&c.PostgresURL, "postgres-url", "", "PostgreSQL URL")
	fs.IntVar(&c.PostgresTailReaders, "postgres-tail-readers", 0, "PostgreSQL store: most stream-tail statements in flight at once; reads arriving while that many run share the next statement (0: the store's default, 2; -1: every read its own statement)")
	fs.StringVar(&c.KurrentDBURL, "kurrentdb-url", "", "KurrentDB URL, e.g. esdb://127.0.0.1:2113?tls=false")
	fs.StringVar(&c.ReadModels, "read-models", "", "read models: memory or postgres (default: memory with bolt, else postgres)")
	fs.StringVar(&c.Projections, "projections", "inprocess", "inprocess or off (a separate projector)")
	fs.BoolVar(&c.Migrate, "migrate", false, "apply PostgreSQL migrations at start-up")
	fs.StringVar(&c.NATSURL, "nats-url", "", "relay integration events to this NATS JetStream")
	fs.StringVar(&c.NATSSubject, "nats-subject", "kinerja.events", "NATS subject of integration events")
	fs.StringVar(&c.ConsequenceSubject, "nats-consequences-subject", "kinerja.consequences", "NATS subject of the consequences of final evaluations (Angka Kredit, TPP factor, recognition); empty: none")
	var tablesFile string
	fs.StringVar(&tablesFile, "consequence-tables", "", "JSON file of the consequence tables (Angka Kredit percentages and jenjang coefficients, TPP factors; default PermenPANRB 1/2023, see docs/consequences.md)")
	c.Deadlines.RegisterFlags(fs)
	fs.StringVar(&c.OIDCIssuer, "oidc-issuer", "", "OIDC issuer URL whose JWKS verifies tokens")
	fs.StringVar(&c.OIDCAudience, "oidc-audience", "kinerja-api", "expected token audience with --oidc-issuer")
	fs.StringVar(&c.OIDCClientID, "oidc-client-id", "", "the dashboard's OIDC client: sign-in through --oidc-issuer")
	fs.StringVar(&c.OIDCClientSecret, "oidc-client-secret", "", "secret of a confidential dashboard client; prefer the environment")
	fs.StringVar(&c.OIDCRedirectURL, "oidc-redirect-url", "", "the dashboard's callback registered with the issuer, https://HOST/masuk/oidc/kembali")
	fs.DurationVar(&c.SessionIdle, "session-idle", session.DefaultIdleTimeout, "a dashboard session unused this long ends")
	fs.DurationVar(&c.SessionMax, "session-max", session.DefaultAbsoluteTimeout, "a dashboard session this old ends")
	fs.BoolVar(&c.RequireAgencyClaim, "require-agency-claim", false, "agency roles (HR_ADMIN, HR_ANALYST, AUDITOR, GRIEVANCE_CLERK) act only with a token naming its agency; required for a multi-agency deployment")
	fs.BoolVar(&c.SecureCookies, "secure-cookies", false, "the dashboard is served over https (a TLS proxy in front): Secure, __Host- cookies")
	fs.Int64Var(&c.EvidenceMaxBytes, "evidence-max-bytes", application.DefaultMaxEvidenceBytes, "largest evidence file people may upload, in bytes")
	fs.StringVar(&c.PublicURL, "public-url", "", "the service's address as people reach it (https://kinerja.example): base of the verification URLs of printed documents")
	fs.StringVar(&c.AuditKeyName, "audit-log-name", "kinerja-ledger", "name of the audit log (checkpoint origin)")
	fs.StringVar(&c.AuditKeyFile, "audit-key", "", "checkpoint signing key file (default DATA/audit-signing.key)")
	c.Integrity.RegisterFlags(fs)
	fs.Uint64Var(&c.CheckpointEvery, "checkpoint-every", 1000, "sign a checkpoint every N audit entries")
	fs.DurationVar(&c.CheckpointInterval, "checkpoint-interval", 10*time.Second, "sign a checkpoint at least this often while entries arrive")
	fs.Uint64Var(&c.SnapshotEvery, "snapshot-every", 100000, "in-memory read models: write their snapshot (DATA/"+memreadmodel.SnapshotFile+") every N events; 0: never (every start rebuilds them from the log)")
	fs.DurationVar(&c.SnapshotInterval, "snapshot-interval", 10*time.Minute, "in-memory read models: write their snapshot at least this often while events arrive")
	fs.BoolVar(&c.WarmViews, "warm-views", true, "fold the log into the consequence, calibration and development views in the background once ready (else the first request of /konsekuensi or /kalibrasi waits for it)")
	fs.BoolVar(&c.SnapshotCheckAtLoad, "snapshot-check-at-load", false, "in-memory read models: check the history below a loaded snapshot before /readyz answers 200 (the start-up then reads the whole history); default: after, in the background")
	fs.IntVar(&c.ProjectionCacheSKPs, "projection-cache-skps", DefaultProjectionCacheSKPs, "SKP aggregates each SKP cache (the read models', in memory or PostgreSQL, the deadline manager's, the consequence relay's) keeps once serving; a miss replays the SKP's stream")
	fs.IntVar(&c.ProjectionCacheMaxSKPs, "projection-cache-max-skps", DefaultProjectionCacheMaxSKPs, "SKP aggregates each SKP projection's cache may grow to during the start-up catch-up when the log visits more SKPs in turn than --projection-cache-skps (each miss would replay an SKP's stream); shrunk back to --projection-cache-skps once serving; 0 or at most --projection-cache-skps: no growth")
	fs.IntVar(&c.CatchUpCacheSKPs, "catchup-cache-skps", DefaultCatchUpCacheSKPs, "SKP aggregates each SKP projection keeps in its cache during the start-up catch-up (an SKP's events lie close together in the log; a miss replays the SKP's stream); 0: --projection-cache-skps")
	fs.BoolVar(&c.KeepProjectionCaches, "keep-projection-caches", false, "in-memory read models: keep the SKP aggregates the start-up catch-up cached (default: drop them once it is done)")
	fs.IntVar(&c.MemoryLimitMB, "memory-limit-mb", DefaultMemoryLimitMB, "soft memory limit of the Go runtime in MiB (as GOMEMLIMIT, which wins when set); 0: none")
	fs.IntVar(&c.MemoryBudgetMB, "memory-budget-mb", DefaultMemoryBudgetMB, "Go memory the raises of --memory-limit-mb above it aim to stay within, in MiB: the headroom over the live heap shrinks from 1.5 × to 5/4 × as the live heap nears it; none when --memory-limit-mb is at least it; 0: none (1.5 ×)")
	fs.IntVar(&c.ServingGCPercent, "serving-gc-percent", DefaultServingGCPercent, "garbage collector target (as GOGC, which wins when set) once kinerjad serves, applied only under a soft memory limit, which still bounds the heap; 0: the runtime's (100)")
	fs.DurationVar(&c.ReadyMaxLag, "ready-max-lag", 5*time.Second, "largest projection lag /readyz accepts")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 20*time.Second, "graceful shutdown bound (the HTTP drain)")
	fs.DurationVar(&c.SnapshotShutdownTimeout, "snapshot-shutdown-timeout", 2*time.Minute, "in-memory read models: bound of the snapshot written at a clean shutdown, after the HTTP drain and apart from --shutdown-timeout")
	fs.DurationVar(&c.ContentionWait, "contention-wait", 5*time.Second, "how long a command waits for a busy SKP or unit before 409 contention")
	fs.StringVar(&c.DebugAddr, "debug-addr", "", "serve /debug/pprof on this address (localhost only!)")
	fs.IntVar(&c.CacheMB, "cache-mb", 1024, "memory budget of the read caches in MiB")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	pf.RegisterFlags(fs) // --zone, --cadence, --establish-deadline, --objection-window-days, --distribution-mode (shared with the projector)
	fs.IntVar(&anonymityK, "feedback-anonymity-k", skp.DefaultAnonymityThreshold, "360° feedback: a PEER or SUBORDINATE group is shown (as an aggregate, once the round is closed) from this many answers on; at least 2")
	fs.DurationVar(&tolerance, "backdate-tolerance", bizdate.DefaultTolerance, "how far back an ordinary act may be dated (occurred_at, delivered_at, filed_at)")
	fs.DurationVar(&maxAge, "backfill-max-age", bizdate.DefaultMaxAge, "how far back a backfill of a paper record (with paper_ref) may be dated")
	fs.StringVar(&skpLimits, "skp-limits", "", "per-SKP limits over the defaults, e.g. rhk=200,indicators=20,realisations=5000,evidence=5000,feedback=5000")
	version := fs.Bool("version", false, "print the build's version and exit")
	if err := config.Parse(fs, args, getenv, config.NoEnv("version"), c.Integrity.NoEnv(), config.StopAt("version")); err != nil {
		return Config{}, err
	}
	if *version {
		return Config{Version: true}, nil
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	c.Integrity = c.Integrity.WithDefaults(c.DataDir)
	var errs []error
	if err := c.LogLevel.UnmarshalText([]byte(logLevel)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", logLevel))
	}
	c.Policy = policy.Default()
	c.Policy.FeedbackAnonymityThreshold = anonymityK
	if err := pf.Apply(&c.Policy); err != nil {
		errs = append(errs, err)
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			errs = append(errs, fmt.Errorf("--public-url %q: want http(s)://HOST[/PATH]", c.PublicURL))
		}
	}
	c.Policy.Dating = bizdate.Rule{Tolerance: tolerance, MaxAge: maxAge}
	if l, err := policy.ParseSKPLimits(skpLimits, c.Policy.SKPLimits); err != nil {
		errs = append(errs, fmt.Errorf("--skp-limits: %w", err))
	} else {
		c.Policy.SKPLimits = l
	}
	if t, err := consequences.LoadTables(tablesFile); err != nil {
		errs = append(errs, fmt.Errorf("--consequence-tables: %w", err))
	} else {
		c.Consequences, c.ConsequencesFile = t, tablesFile
	}
	if c.ReadModels == "" {
		c.ReadModels = readModelsMemory
		if c.Store != backend.Bolt {
			c.ReadModels = readModelsPostgres
		}
	}
	if err := errors.Join(append(errs, c.Validate())...); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate reports every problem of c, joined.
func (c Config) Validate() error {
	var errs []error
	if err := (backend.StoreConfig{Name: c.Store, DataDir: c.DataDir, PostgresURL: c.PostgresURL, KurrentDBURL: c.KurrentDBURL}).Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data is required (signing keys live there)"))
	}
	if c.Listen == "" {
		errs = append(errs, errors.New("--listen is required"))
	}
	if c.PostgresTailReaders < -1 {
		errs = append(errs, fmt.Errorf("--postgres-tail-readers %d: want -1 (no sharing), 0 (the default) or more", c.PostgresTailReaders))
	}
	switch c.ReadModels {
	case readModelsMemory:
	case readModelsPostgres:
		if c.PostgresURL == "" {
			errs = append(errs, errors.New("--read-models postgres needs --postgres-url"))
		}
	default:
		errs = append(errs, fmt.Errorf("--read-models %q: want memory or postgres", c.ReadModels))
	}
	switch c.Projections {
	case "inprocess":
	case "off":
		if c.ReadModels == readModelsMemory {
			errs = append(errs, errors.New("--projections off needs --read-models postgres (in-memory read models are fed in process)"))
		}
	default:
		errs = append(errs, fmt.Errorf("--projections %q: want inprocess or off", c.Projections))
	}
	if c.CacheMB < minCacheMB {
		errs = append(errs, fmt.Errorf("--cache-mb must be at least %d", minCacheMB))
	}
	if c.CheckpointEvery == 0 {
		errs = append(errs, errors.New("--checkpoint-every must be at least 1"))
	}
	if c.ProjectionCacheMaxSKPs < 0 {
		errs = append(errs, errors.New("--projection-cache-max-skps must not be negative"))
	}
	if c.CatchUpCacheSKPs < 0 {
		errs = append(errs, errors.New("--catchup-cache-skps must not be negative"))
	}
	if c.MemoryLimitMB < 0 || c.MemoryLimitMB > maxMemoryMB {
		errs = append(errs, fmt.Errorf("--memory-limit-mb must be from 0 to %d", maxMemoryMB))
	}
	if c.MemoryBudgetMB < 0 || c.MemoryBudgetMB > maxMemoryMB {
		errs = append(errs, fmt.Errorf("--memory-budget-mb must be from 0 to %d", maxMemoryMB))
	}
	if c.ServingGCPercent < 0 {
		errs = append(errs, errors.New("--serving-gc-percent must not be negative"))
	}
	for name, d := range map[string]time.Duration{"--snapshot-interval": c.SnapshotInterval, "--checkpoint-interval": c.CheckpointInterval, "--ready-max-lag": c.ReadyMaxLag, "--shutdown-timeout": c.ShutdownTimeout,
		"--snapshot-shutdown-timeout": c.SnapshotShutdownTimeout,
		"--contention-wait":           c.ContentionWait, "--session-idle": c.SessionIdle, "--session-max": c.SessionMax} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be a positive duration", name))
		}
	}
	if c.SessionIdle > c.SessionMax {
		errs = append(errs, errors.New("--session-idle must not be longer than --session-max"))
	}
	if c.OIDCClientID != "" {
		if err := web.CheckOIDCSettings(c.OIDCIssuer, c.OIDCClientID, c.OIDCRedirectURL); err != nil {
			errs = append(errs, fmt.Errorf("--oidc-issuer, --oidc-client-id, --oidc-redirect-url: %w", err))
		}
		if c.OIDCClientID == c.OIDCAudience {
			// ID tokens would then open the API too.
			errs = append(errs, errors.New("--oidc-client-id must differ from --oidc-audience"))
		}
	} else if c.OIDCClientSecret != "" || c.OIDCRedirectURL != "" {
		errs = append(errs, errors.New("--oidc-client-secret and --oidc-redirect-url need --oidc-client-id"))
	}
	if c.EvidenceMaxBytes <= 0 {
		errs = append(errs, errors.New("--evidence-max-bytes must be positive"))
	}
	if err := c.Policy.Validate(); err != nil {
		errs = append(errs, err)
	} else if err := c.Deadlines.Validate(c.Policy); err != nil {
		errs = append(errs, err)
	}
	if err := c.Integrity.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// minCacheMB is the smallest read-cache budget: below it the caches hold
// too little to help.
const minCacheMB = 16

// bytesPerReplayedEvent is what the SKP read cache budgets per event an
// SKP was replayed from: a replayed SKP owns 120 to 250 bytes per event
// (measured with runtime.MemStats: 116 over an SKP of 3,000 RHK and
// indicator events, 251 over one of 32 events through rating, issue and an
// objection), and keeps its texts alive when the decoded events are
// evicted; 512 covers texts of about 300 bytes on average (an RHK may hold
// 2,000 characters, so the bound is an estimate, not a guarantee).
const bytesPerReplayedEvent = 512

// DefaultProjectionCacheSKPs is --projection-cache-skps: see
// docs/benchmarks.md §22 for the measurement behind it.
const DefaultProjectionCacheSKPs = projections.DefaultCacheSize

// DefaultProjectionCacheMaxSKPs is --projection-cache-max-skps:
// projections.MaxCacheSize, the SKPs of a province of up to 131,072
// employees. A cache grows only under a scan that revisits more SKPs than
// it holds (a first start over a province's seed: docs/benchmarks.md,
// the section of branch skpcache), and the serving caches are bounded by
// --projection-cache-skps again once the catch-up is done.
const DefaultProjectionCacheMaxSKPs = projections.MaxCacheSize

// servingCacheSKPs is what each SKP projection's cache holds while
// kinerjad serves: --projection-cache-skps, or the projections' default.
func servingCacheSKPs(n int) int {
	if n <= 0 {
		return projections.DefaultCacheSize
	}
	return n
}

// DefaultCatchUpCacheSKPs is --catchup-cache-skps: 0, no bound beyond
// --projection-cache-skps. A bound of 4096 cost more CPU than it saved
// memory at 20,000 employees (docs/benchmarks.md, "bounded cold start");
// a province's first start is better made offline with `kinerjactl
// snapshot`, which bounds its caches by default.
const DefaultCatchUpCacheSKPs = 0

// DefaultMemoryLimitMB is --memory-limit-mb: the Go heap's soft limit,
// leaving room under the 2 GiB of issue 15 for the runtime's own memory
// and the pages of the mmapped bbolt files.
const DefaultMemoryLimitMB = 1536

// maxMemoryMB bounds --memory-limit-mb and --memory-budget-mb (1 PiB):
// kinerjad shifts them to bytes (<< 20), which above 2^43 MiB wraps an
// int64 to a negative or tiny limit.
const maxMemoryMB = 1 << 30

// DefaultMemoryBudgetMB is --memory-budget-mb: 7/8 of issue 15's 2 GiB,
// the rest for the mapped pages of the bbolt files and the runtime's
// overshoot of its limit (memlimit.go).
const DefaultMemoryBudgetMB = 1792

// DefaultServingGCPercent is --serving-gc-percent. At GOGC 100, with a
// live heap of 40-90 MB (1,000 employees), the collector marked the whole
// live heap every ≈ 60 MB allocated: 10-16 % of kinerjad's CPU under a
// mutation load. At 400: a quarter of the collections, 18 % less CPU per
// mutation and a lower p99, for a heap of up to 5 × the live data
// (docs/benchmarks.md, branch mutcpu). The soft memory limit still caps
// the heap, so a large deployment, whose live heap is near the limit,
// collects as before.
const DefaultServingGCPercent = 400

// cacheSizes splits the budget: two fifths to decoded events (in bytes, as
// eventlog.EventBytes estimates them: every read of an aggregate and every
// authorisation needs them; a miss costs a store read and JSON decoding),
// two fifths to replayed SKPs (in events, at bytesPerReplayedEvent: a miss
// costs a replay of cached events), a fifth to rendered views (in bytes: a
// miss costs a JSON encoding). Every cache is bounded by the size of what
// it holds, not by a count, so one huge SKP cannot take more than its share
// (issue 9 §4).
func (c Config) cacheSizes() (eventBytes, skpEvents, renderBytes int) {
	budget := c.CacheMB << 20
	return budget * 2 / 5, budget * 2 / 5 / bytesPerReplayedEvent, budget / 5
}

// dashboardOIDC is the dashboard's OIDC sign-in as configured (IDTokens and
// Endpoints are set when the issuer's discovery document is at hand).
func (c Config) dashboardOIDC() *web.OIDC {
	return &web.OIDC{ClientID: c.OIDCClientID, ClientSecret: c.OIDCClientSecret, RedirectURL: c.OIDCRedirectURL}
}
