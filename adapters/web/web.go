package web

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/objections"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// Authenticator verifies a bearer token and names its caller. It has the
// method set of httpapi.Authenticator, so kinerjad passes the same value
// (package jwtauth) to both. Any error means "not signed in"; it is logged,
// never shown.
type Authenticator interface {
	// Authenticate returns the caller named by token.
	Authenticate(ctx context.Context, token string) (domain.Principal, error)
}

// Verifier recomputes the audit trail from the event store and checks it
// against the stored tree and the signed checkpoints. It has the method set
// of httpapi.Verifier (wiring.Verifier implements both).
type Verifier interface {
	// Verify returns what it found; an error only when it could not read.
	Verify(ctx context.Context) (audit.Report, error)
}

// Positions tells how far a projection has read; the pages say it under
// every table read from one. It has the method set of httpapi.Positions.
type Positions interface {
	// Checkpoint returns the position of the last event the projection
	// named (directory.Name, skps.Name, audit.Name, …) applied.
	Checkpoint(ctx context.Context, projection string) (eventstore.Position, error)
}

// Config is everything the dashboard needs: the same domain service and
// read models the API is given. The handler writes nothing to the ledger.
type Config struct {
	// SKPs is the domain service behind the SKP page: authorised reads,
	// as_of replays and the stream's events (for the timeline). Required.
	SKPs *skp.Service

	// Directory serves units, sub-units and employee names. Required.
	Directory directory.Reader
	// Justifications supplies the recorded justifications of deviations
	// shown with the distribution. Optional (the directory readers of
	// memreadmodel and pgreadmodel implement it).
	Justifications directory.JustificationReader
	// SKPList serves the SKP lists and the progress report. Required.
	SKPList skps.Reader
	// Evaluations serves the distribution report and the predikat columns.
	// Required.
	Evaluations evaluations.Reader
	// Objections serves the objection register. Required.
	Objections objections.Reader
	// Audit serves the audit trail, checkpoints and proofs. Required.
	Audit audit.Reader
	// Verifier runs "Verifikasi sekarang". Required.
	Verifier Verifier
	// Positions, when set, lets the pages say how far the projections
	// behind them had read. Optional.
	Positions Positions

	// Authenticator verifies the token of a session. Required.
	Authenticator Authenticator

	// Policy is the domain configuration: the zone in which times are shown
	// and the as-of control is read, the cadence of the periods offered.
	// Default policy.Default().
	Policy policy.Policy
	// Pattern is the distribution pattern the chart is drawn against.
	// Default distribution.SE3_2023.
	Pattern distribution.Pattern
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives one line per failed request (default slog.Default()).
	// It never receives a token, a form body or a name.
	Logger *slog.Logger

	// SecureCookies marks the cookies Secure on every answer, for a
	// service behind a TLS-terminating proxy. Requests that arrive over TLS
	// get Secure cookies regardless.
	SecureCookies bool
	// OIDC, when set, offers sign-in through the agency's identity
	// provider besides the token form. Optional.
	OIDC *OIDC

	// CSRFKey keys the CSRF tokens of the forms (at least 32 bytes).
	// Default: a random key per process, so a form rendered before a
	// restart must be sent again. Set it when several processes serve the
	// dashboard behind one address.
	CSRFKey []byte
}

// MinCSRFKeyLen is the shortest Config.CSRFKey accepted.
const MinCSRFKeyLen = 32

func (c *Config) setDefaults() error {
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
	if c.OIDC != nil && strings.HasPrefix(c.OIDC.RedirectURL, "https://") {
		// The provider sends users back to https: the dashboard is served
		// over TLS, whatever the proxy in front tells it.
		c.SecureCookies = true
	}
	if c.CSRFKey == nil {
		c.CSRFKey = make([]byte, MinCSRFKeyLen)
		if _, err := rand.Read(c.CSRFKey); err != nil {
			return fmt.Errorf("web: csrf key: %w", err)
		}
	}
	return nil
}

// Validate reports every problem of c, joined. It expects the defaults of
// New to have been applied for the optional fields.
func (c Config) Validate() error {
	var errs []error
	missing := func(name string, ok bool) {
		if !ok {
			errs = append(errs, errors.New("web: "+name+" is required"))
		}
	}
	missing("SKPs", c.SKPs != nil && c.SKPs.Handler != nil)
	missing("Directory", c.Directory != nil)
	missing("SKPList", c.SKPList != nil)
	missing("Evaluations", c.Evaluations != nil)
	missing("Objections", c.Objections != nil)
	missing("Audit", c.Audit != nil)
	missing("Verifier", c.Verifier != nil)
	missing("Authenticator", c.Authenticator != nil)
	if len(c.CSRFKey) < MinCSRFKeyLen {
		errs = append(errs, fmt.Errorf("web: CSRFKey must be at least %d bytes", MinCSRFKeyLen))
	}
	if err := c.Policy.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.OIDC != nil {
		if err := c.OIDC.Validate(); err != nil {
			errs = append(errs, err)
		}
		if c.OIDC.IDTokens == nil {
			errs = append(errs, errors.New("web: OIDC IDTokens is required"))
		}
		if c.OIDC.Endpoints == nil {
			errs = append(errs, errors.New("web: OIDC Endpoints is required"))
		}
	}
	return errors.Join(errs...)
}

// Handler is the dashboard: an http.Handler, safe for concurrent use.
type Handler struct {
	cfg     Config
	mux     *http.ServeMux
	pages   map[string]*template.Template
	assets  map[string]asset // by file name
	verify  verifyState
	csrfKey []byte
	oidc    *oidcFlow // nil: token sign-in only
}

// verifyState keeps the last verification this process ran.
type verifyState struct {
	mu   sync.Mutex
	last *verification
}

// verification is one run of "Verifikasi sekarang".
type verification struct {
	At     time.Time
	By     string
	Report audit.Report
}

// New returns the dashboard for cfg, after applying defaults and validating
// it.
func New(cfg Config) (*Handler, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux(), csrfKey: cfg.CSRFKey}
	if cfg.OIDC != nil {
		h.oidc = newOIDCFlow(*cfg.OIDC)
	}
	if err := h.loadAssets(); err != nil {
		return nil, err
	}
	if err := h.loadTemplates(); err != nil {
		return nil, err
	}
	h.routes()
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	h.mux.ServeHTTP(w, r)
}

// contentSecurityPolicy allows this origin's script, style and images only
// (inline SVG is markup, not an image load), forms to this origin only, and
// no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func securityHeaders(hd http.Header) {
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
}

// routes registers every page.
func (h *Handler) routes() {
	m := h.mux
	m.Handle("GET /static/{file}", http.HandlerFunc(h.serveAsset))
	m.Handle("GET /masuk", h.public(h.signInForm))
	m.Handle("POST /masuk", h.public(h.signIn))
	m.Handle("POST /keluar", h.public(h.signOut))
	if h.oidc != nil {
		m.Handle("GET /masuk/oidc", h.public(h.oidcStart))
		m.Handle("GET "+oidcCallbackPath, h.public(h.oidcCallback))
	}
	m.Handle("GET /{$}", h.signedIn(h.home))
	m.Handle("GET /unit/{id}", h.signedIn(h.unitPage))
	m.Handle("GET /skp/{id}", h.signedIn(h.skpPage))
	m.Handle("GET /keberatan", h.signedIn(h.objectionRegister))
	m.Handle("GET /audit", h.signedIn(h.auditPage))
	m.Handle("POST /audit/verifikasi", h.signedIn(h.verifyNow))
	m.Handle("GET /ekspor/{report}", h.signedIn(h.export))
	m.Handle("/", h.public(func(http.ResponseWriter, *http.Request, *request) error {
		return &domain.NotFoundError{Kind: "page", ID: ""}
	}))
}

// projectionPosition returns how far projection had read, or -1 when
// Positions is not configured or cannot tell.
func (h *Handler) projectionPosition(ctx context.Context, projection string) int64 {
	if h.cfg.Positions == nil {
		return -1
	}
	p, err := h.cfg.Positions.Checkpoint(ctx, projection)
	if err != nil {
		return -1
	}
	return int64(p)
}
