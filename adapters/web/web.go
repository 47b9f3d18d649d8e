package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	appimports "github.com/kinerja-ledger/kinerja/adapters/app/imports"
	"github.com/kinerja-ledger/kinerja/adapters/web/feature/auditpage"
	"github.com/kinerja-ledger/kinerja/adapters/web/feature/calibration"
	"github.com/kinerja-ledger/kinerja/adapters/web/feature/consequences"
	"github.com/kinerja-ledger/kinerja/adapters/web/feature/devreport"
	"github.com/kinerja-ledger/kinerja/adapters/web/feature/documents"
	"github.com/kinerja-ledger/kinerja/adapters/web/feature/evaluation"
	"github.com/kinerja-ledger/kinerja/adapters/web/feature/execution"
	"github.com/kinerja-ledger/kinerja/adapters/web/feature/feedback"
	"github.com/kinerja-ledger/kinerja/adapters/web/feature/history"
	"github.com/kinerja-ledger/kinerja/adapters/web/feature/home"
	"github.com/kinerja-ledger/kinerja/adapters/web/feature/imports"
	"github.com/kinerja-ledger/kinerja/adapters/web/feature/improvement"
	"github.com/kinerja-ledger/kinerja/adapters/web/feature/inbox"
	"github.com/kinerja-ledger/kinerja/adapters/web/feature/justification"
	"github.com/kinerja-ledger/kinerja/adapters/web/feature/masterdata"
	"github.com/kinerja-ledger/kinerja/adapters/web/feature/objection"
	"github.com/kinerja-ledger/kinerja/adapters/web/feature/officials"
	"github.com/kinerja-ledger/kinerja/adapters/web/feature/people"
	"github.com/kinerja-ledger/kinerja/adapters/web/feature/planning"
	"github.com/kinerja-ledger/kinerja/adapters/web/feature/reportpage"
	"github.com/kinerja-ledger/kinerja/adapters/web/feature/signin"
	"github.com/kinerja-ledger/kinerja/adapters/web/feature/skppage"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/adapters/web/session"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Authenticator verifies a bearer token and names its caller. It has the
// method set of httpapi.Authenticator, so kinerjad passes the same value
// (package jwtauth) to both. Any error means "not signed in"; it is logged,
// never shown.
type Authenticator = signin.Authenticator

// OIDC configures sign-in through the agency's identity provider (see
// signin.OIDC).
type OIDC = signin.OIDC

// CheckOIDCSettings reports every problem of the OIDC settings of a
// command (see signin.CheckSettings).
func CheckOIDCSettings(issuer, clientID, redirectURL string) error {
	return signin.CheckSettings(issuer, clientID, redirectURL)
}

// Config is everything the dashboard needs.
type Config struct {
	// App is the application layer, the same value the API is given.
	// Required; its Evaluations and Objections readers too.
	App *app.App
	// Sessions keeps the dashboard's sessions: session.Bolt in the data
	// directory in embedded mode, session.Postgres otherwise. Required.
	Sessions session.Store
	// IdleTimeout and AbsoluteTimeout end sessions (defaults
	// session.DefaultIdleTimeout and DefaultAbsoluteTimeout).
	IdleTimeout, AbsoluteTimeout time.Duration
	// LoginCodes redeems the one-time sign-in links of `kinerjactl
	// login-link` (embedded mode). Optional.
	LoginCodes *session.LoginCodes
	// OIDC, when set, signs people in through the identity provider.
	OIDC *OIDC
	// Authenticator, when set, also accepts an "Authorization: Bearer"
	// header (a reverse proxy that runs the code flow itself, such as
	// oauth2-proxy, passes the token that way). Optional.
	Authenticator Authenticator
	// SecureCookies: the dashboard is served over https (behind a
	// TLS-terminating proxy): cookies are Secure and the session cookie
	// is named __Host-kinerja_session. Requests that arrive over TLS get
	// Secure cookies regardless. Set by an https OIDC redirect URL.
	SecureCookies bool
	// Imports runs the bulk imports of master data; give the API the same
	// value so that a job started in one is seen in the other. Optional:
	// the import pages make their own over App.
	Imports *appimports.Importer
}

func (c *Config) setDefaults() {
	if c.OIDC != nil && strings.HasPrefix(c.OIDC.RedirectURL, "https://") {
		// The provider sends users back to https: the dashboard is served
		// over TLS, whatever the proxy in front tells it.
		c.SecureCookies = true
	}
}

// Validate reports every problem of c, joined.
func (c Config) Validate() error {
	var errs []error
	if c.App == nil {
		errs = append(errs, errors.New("web: App is required"))
	} else {
		ac := c.App.Config()
		if ac.Evaluations == nil || ac.Objections == nil {
			errs = append(errs, errors.New("web: the App's Evaluations and Objections readers are required"))
		}
	}
	if c.Sessions == nil {
		errs = append(errs, errors.New("web: Sessions is required"))
	}
	if c.OIDC != nil {
		if err := c.OIDC.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Handler is the dashboard: an http.Handler, safe for concurrent use.
type Handler struct {
	cfg      Config
	site     *page.Site
	sessions *session.Manager
	handler  http.Handler
	log      *slog.Logger
	routes   []string
}

// New returns the dashboard for cfg, after applying defaults and validating
// it: the site, the sessions and every feature's routes.
func New(cfg Config) (*Handler, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ac := cfg.App.Config()
	h := &Handler{cfg: cfg, log: ac.Logger}
	var flow *signin.OIDCFlow
	if cfg.OIDC != nil {
		var err error
		if flow, err = signin.NewOIDCFlow(*cfg.OIDC, ac.Now); err != nil {
			return nil, err
		}
	}
	sc := session.Config{Store: cfg.Sessions, IdleTimeout: cfg.IdleTimeout, AbsoluteTimeout: cfg.AbsoluteTimeout,
		Secure: cfg.SecureCookies, Now: ac.Now, Logger: ac.Logger}
	if flow != nil {
		sc.Refresh = flow.Refresh
	}
	var err error
	if h.sessions, err = session.NewManager(sc); err != nil {
		return nil, err
	}
	if h.site, err = page.NewSite(page.SiteConfig{App: cfg.App, Identify: h.identify, SecureCookies: cfg.SecureCookies, SignInPath: signin.FormPath}); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /static/{file}", h.site.ServeAsset)
	r := h.site.NewRouter(mux)
	in, err := signin.New(h.site, signin.Config{Sessions: h.sessions, LoginCodes: cfg.LoginCodes, OIDC: flow})
	if err != nil {
		return nil, err
	}
	// Every feature registers its own pages; none imports another
	// (layout_test.go). A new feature is one line here.
	for _, f := range []interface{ Routes(*page.Router) }{
		in,
		home.New(h.site),
		skppage.New(h.site),
		planning.New(h.site),
		execution.New(h.site),
		feedback.New(h.site),
		history.New(h.site),
		evaluation.New(h.site),
		objection.New(h.site),
		masterdata.New(h.site),
		imports.NewWith(h.site, cfg.Imports),
		reportpage.New(h.site),
		auditpage.New(h.site, h.sessions),
		inbox.New(h.site),
		people.New(h.site),
		documents.New(h.site),
		officials.New(h.site),
		justification.New(h.site),
		consequences.New(h.site),
		calibration.New(h.site),
		improvement.New(h.site),
		devreport.New(h.site),
	} {
		f.Routes(r)
	}
	h.routes = r.Patterns()
	mux.Handle("/", h.site.FailHandler(&domain.NotFoundError{Kind: "page", ID: ""}))
	// Forms are refused when the browser says they come from another site
	// (Sec-Fetch-Site, else Origin against Host): the standard library's
	// CSRF protection, which needs no token in the forms.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(h.site.FailHandler(app.ErrCrossOrigin))
	h.handler = cop.Handler(mux)
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	h.handler.ServeHTTP(w, r)
}

// Routes returns the patterns of the features' pages ("GET /skp/{id}"),
// in registration order: what the accessibility scan opens.
func (h *Handler) Routes() []string { return slices.Clone(h.routes) }

// Sessions returns the session manager (kinerjad sweeps expired records
// with it).
func (h *Handler) Sessions() *session.Manager { return h.sessions }

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

// identify tells who sent r: the session of its cookie, else the bearer
// token a proxy passed.
func (h *Handler) identify(w http.ResponseWriter, r *http.Request) page.Identity {
	ctx := r.Context()
	s, ended, err := h.sessions.Load(ctx, w, r)
	if err != nil {
		// The store is down: who this is cannot be told; the page says the
		// service is disrupted (503) rather than asking to sign in again.
		return page.Identity{Err: err}
	}
	var p domain.Principal
	if s != nil {
		p = s.User
	} else if b, ok := h.bearer(ctx, r); ok {
		p = b
	} else {
		return page.Identity{Expired: ended}
	}
	// Tenancy: a session or token without an agency keeps its agency roles
	// only while the deployment holds one agency (app.Principal).
	p, err = h.cfg.App.Principal(ctx, p)
	if err != nil {
		return page.Identity{Err: err}
	}
	return page.Identity{User: p, SignedIn: true}
}

// bearer authenticates an Authorization: Bearer header.
func (h *Handler) bearer(ctx context.Context, r *http.Request) (domain.Principal, bool) {
	if h.cfg.Authenticator == nil {
		return domain.Principal{}, false
	}
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return domain.Principal{}, false
	}
	p, err := h.cfg.Authenticator.Authenticate(ctx, strings.TrimSpace(tok))
	if err != nil || p.ID == "" || domain.TextProblem(p.ID) != "" || len(p.ID) > eventstore.MaxActorFieldLen {
		h.log.LogAttrs(ctx, slog.LevelInfo, "web_unauthenticated", slog.String("why", fmt.Sprint(err)))
		return domain.Principal{}, false
	}
	return p, true
}
