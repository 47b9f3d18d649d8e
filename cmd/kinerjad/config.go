package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/web"
	"github.com/kinerja-ledger/kinerja/cmd/internal/backend"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/policy"
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
	// OIDCIssuer, when set, verifies tokens with the issuer's JWKS instead
	// of the embedded key; OIDCAudience is the expected audience.
	OIDCIssuer   string
	OIDCAudience string
	// OIDCClientID, when set, lets the dashboard sign users in through the
	// issuer (authorization code flow with PKCE) as this client;
	// OIDCClientSecret authenticates a confidential client, and
	// OIDCRedirectURL is the callback registered with the issuer.
	OIDCClientID     string
	OIDCClientSecret string
	OIDCRedirectURL  string
	// AuditKeyName names the audit log (the checkpoints' origin) when its
	// key is created; AuditKeyFile overrides the key's path.
	AuditKeyName string
	AuditKeyFile string
	// CheckpointEvery and CheckpointInterval: a signed checkpoint every N
	// entries or T, while entries arrive.
	CheckpointEvery    uint64
	CheckpointInterval time.Duration
	// ReadyMaxLag is the largest projection lag /readyz accepts.
	ReadyMaxLag time.Duration
	// ShutdownTimeout bounds the graceful drain of HTTP requests.
	ShutdownTimeout time.Duration
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

// parseConfig reads flags, then the environment for every flag not given.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("kinerjad", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	var c Config
	var logLevel, cadence, deadline, mode string
	var windowDays int
	var migrate bool
	fs.StringVar(&c.DataDir, "data", env("KINERJA_DATA", "./data"), "data directory (env KINERJA_DATA)")
	fs.StringVar(&c.Listen, "listen", env("KINERJA_LISTEN", "127.0.0.1:8080"), "listen address; :0 picks a free port (env KINERJA_LISTEN)")
	fs.StringVar(&c.Store, "store", env("KINERJA_STORE", backend.Bolt), "event store: bolt, postgres or kurrentdb (env KINERJA_STORE)")
	fs.StringVar(&c.PostgresURL, "postgres-url", env("KINERJA_POSTGRES_URL", ""), "PostgreSQL URL (env KINERJA_POSTGRES_URL)")
	fs.StringVar(&c.KurrentDBURL, "kurrentdb-url", env("KINERJA_KURRENTDB_URL", ""), "KurrentDB URL, e.g. esdb://127.0.0.1:2113?tls=false (env KINERJA_KURRENTDB_URL)")
	fs.StringVar(&c.ReadModels, "read-models", env("KINERJA_READ_MODELS", ""), "read models: memory or postgres (default: memory with bolt, else postgres) (env KINERJA_READ_MODELS)")
	fs.StringVar(&c.Projections, "projections", env("KINERJA_PROJECTIONS", "inprocess"), "inprocess or off (a separate projector) (env KINERJA_PROJECTIONS)")
	fs.BoolVar(&migrate, "migrate", env("KINERJA_MIGRATE", "false") == "true", "apply PostgreSQL migrations at start-up (env KINERJA_MIGRATE)")
	fs.StringVar(&c.NATSURL, "nats-url", env("KINERJA_NATS_URL", ""), "relay integration events to this NATS JetStream (env KINERJA_NATS_URL)")
	fs.StringVar(&c.NATSSubject, "nats-subject", env("KINERJA_NATS_SUBJECT", "kinerja.events"), "NATS subject of integration events (env KINERJA_NATS_SUBJECT)")
	fs.StringVar(&c.OIDCIssuer, "oidc-issuer", env("KINERJA_OIDC_ISSUER", ""), "OIDC issuer URL whose JWKS verifies tokens (env KINERJA_OIDC_ISSUER)")
	fs.StringVar(&c.OIDCAudience, "oidc-audience", env("KINERJA_OIDC_AUDIENCE", "kinerja-api"), "expected token audience with --oidc-issuer (env KINERJA_OIDC_AUDIENCE)")
	fs.StringVar(&c.OIDCClientID, "oidc-client-id", env("KINERJA_OIDC_CLIENT_ID", ""), "the dashboard's OIDC client: sign-in through --oidc-issuer (env KINERJA_OIDC_CLIENT_ID)")
	fs.StringVar(&c.OIDCClientSecret, "oidc-client-secret", env("KINERJA_OIDC_CLIENT_SECRET", ""), "secret of a confidential dashboard client; prefer the environment (env KINERJA_OIDC_CLIENT_SECRET)")
	fs.StringVar(&c.OIDCRedirectURL, "oidc-redirect-url", env("KINERJA_OIDC_REDIRECT_URL", ""), "the dashboard's callback registered with the issuer, https://HOST/masuk/oidc/kembali (env KINERJA_OIDC_REDIRECT_URL)")
	fs.StringVar(&c.AuditKeyName, "audit-log-name", env("KINERJA_AUDIT_LOG_NAME", "kinerja-ledger"), "name of the audit log (checkpoint origin) (env KINERJA_AUDIT_LOG_NAME)")
	fs.StringVar(&c.AuditKeyFile, "audit-key", env("KINERJA_AUDIT_KEY", ""), "checkpoint signing key file (default DATA/audit-signing.key) (env KINERJA_AUDIT_KEY)")
	every, _ := strconv.ParseUint(env("KINERJA_CHECKPOINT_EVERY", "1000"), 10, 64)
	fs.Uint64Var(&c.CheckpointEvery, "checkpoint-every", every, "sign a checkpoint every N audit entries (env KINERJA_CHECKPOINT_EVERY)")
	fs.DurationVar(&c.CheckpointInterval, "checkpoint-interval", durEnv(env("KINERJA_CHECKPOINT_INTERVAL", "10s")), "sign a checkpoint at least this often while entries arrive (env KINERJA_CHECKPOINT_INTERVAL)")
	fs.DurationVar(&c.ReadyMaxLag, "ready-max-lag", durEnv(env("KINERJA_READY_MAX_LAG", "5s")), "largest projection lag /readyz accepts (env KINERJA_READY_MAX_LAG)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", durEnv(env("KINERJA_SHUTDOWN_TIMEOUT", "20s")), "graceful shutdown bound (env KINERJA_SHUTDOWN_TIMEOUT)")
	fs.DurationVar(&c.ContentionWait, "contention-wait", durEnv(env("KINERJA_CONTENTION_WAIT", "5s")), "how long a command waits for a busy SKP or unit before 409 contention (env KINERJA_CONTENTION_WAIT)")
	fs.StringVar(&c.DebugAddr, "debug-addr", env("KINERJA_DEBUG_ADDR", ""), "serve /debug/pprof on this address (localhost only!) (env KINERJA_DEBUG_ADDR)")
	fs.IntVar(&c.CacheMB, "cache-mb", intEnv(env("KINERJA_CACHE_MB", "1024")), "memory budget of the read caches in MiB (env KINERJA_CACHE_MB)")
	fs.StringVar(&logLevel, "log-level", env("KINERJA_LOG_LEVEL", "info"), "debug, info, warn or error (env KINERJA_LOG_LEVEL)")
	fs.StringVar(&cadence, "cadence", env("KINERJA_CADENCE", "QUARTERLY"), "periodic evaluation cadence: QUARTERLY or MONTHLY (env KINERJA_CADENCE)")
	fs.StringVar(&deadline, "establish-deadline", env("KINERJA_ESTABLISH_DEADLINE", "01-31"), "SKP establishment deadline MM-DD (env KINERJA_ESTABLISH_DEADLINE)")
	winDef, _ := strconv.Atoi(env("KINERJA_OBJECTION_WINDOW_DAYS", "14"))
	fs.IntVar(&windowDays, "objection-window-days", winDef, "objection window in days (env KINERJA_OBJECTION_WINDOW_DAYS)")
	fs.StringVar(&mode, "distribution-mode", env("KINERJA_DISTRIBUTION_MODE", "WARN"), "distribution pattern: WARN or BLOCK (env KINERJA_DISTRIBUTION_MODE)")
	version := fs.Bool("version", false, "print the build's version and exit")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if *version {
		return Config{Version: true}, nil
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	c.Migrate = migrate
	var errs []error
	if err := c.LogLevel.UnmarshalText([]byte(logLevel)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", logLevel))
	}
	c.Policy = policy.Default()
	c.Policy.Cadence = period.Cadence(strings.ToUpper(cadence))
	if m, d, ok := parseMonthDay(deadline); ok {
		c.Policy.EstablishDeadline = policy.MonthDay{Month: m, Day: d}
	} else {
		errs = append(errs, fmt.Errorf("--establish-deadline %q: want MM-DD", deadline))
	}
	c.Policy.ObjectionWindowDays = windowDays
	c.Policy.DistributionMode = policy.DistributionMode(strings.ToUpper(mode))
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

func durEnv(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		return -1 // Validate reports it
	}
	return d
}

func parseMonthDay(s string) (time.Month, int, bool) {
	var m, d int
	if _, err := fmt.Sscanf(s, "%d-%d", &m, &d); err != nil || m < 1 || m > 12 || d < 1 || d > 31 {
		return 0, 0, false
	}
	return time.Month(m), d, true
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
	for name, d := range map[string]time.Duration{"--checkpoint-interval": c.CheckpointInterval, "--ready-max-lag": c.ReadyMaxLag, "--shutdown-timeout": c.ShutdownTimeout,
		"--contention-wait": c.ContentionWait} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be a positive duration", name))
		}
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
	if err := c.Policy.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// intEnv parses an integer default from the environment; a malformed value
// becomes -1, which Validate refuses.
func intEnv(v string) int {
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return n
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
