// Package page is what every page of the dashboard is built on: the
// [Site] the feature packages share (the application layer, the layout,
// the embedded assets), the [Router] they register their pages on, the
// [Request] a page handler gets (the caller, the language), the typed
// page structs ([Base], embedded in every page's own struct, and
// [Template], which renders only that struct), the error page, and small
// helpers of presentation (times in the policy's zone, links, names).
//
// # A page
//
// A feature package (adapters/web/feature/...) declares one struct per
// page that embeds Base and holds every datum the template shows, fetched
// by the handler before it renders: templates read fields and call the
// pure helpers of Base (T, L, Time, Name …), never anything that does
// I/O. The handler returns an error instead of writing one; the Router
// turns it into the error page through the application layer's one table
// of error kinds (app.Describe), in the page's language, and logs it.
//
// Authorisation is the application layer's and the domain's, as for the
// API: a handler asks the App (or a domain service), which asks
// domain/authz; a page offers an action only when [Request.Can] (or the
// domain's answer) says the caller may take it, and the server decides
// again when it is taken. A page never compares roles itself
// (layout_test.go enforces it).
package page

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/internal/idfmt"
	"github.com/kinerja-ledger/kinerja/adapters/internal/tabular"
	"github.com/kinerja-ledger/kinerja/adapters/web/i18n"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

// Identity is who sent a request, as the dashboard's sessions tell.
type Identity struct {
	// User is the caller (zero when nobody is signed in).
	User domain.Principal
	// SignedIn is true when User is.
	SignedIn bool
	// Expired is true when the request carried a session that has ended
	// (idle or absolute timeout, sign-out elsewhere, refresh refused).
	Expired bool
	// Err is why nobody could be told (the session store is down): the
	// page answers with it (503) instead of asking to sign in again.
	Err error
}

// SiteConfig configures a Site.
type SiteConfig struct {
	// App is the application layer. Required.
	App *app.App
	// Identify tells who sent a request (the dashboard's sessions);
	// it may set cookies on w. Required.
	Identify func(w http.ResponseWriter, r *http.Request) Identity
	// SecureCookies marks the cookies the pages set (the language) Secure.
	SecureCookies bool
	// SignInPath is where a page that needs a signed-in caller sends
	// anybody else (default "/masuk").
	SignInPath string
	// KeptBytes is the byte budget of the lists the features keep across
	// requests (Kept; DefaultKeptBytes when 0).
	KeptBytes int64
}

// Site is what the feature packages share. It is safe for concurrent use.
type Site struct {
	cfg    SiteConfig
	app    *app.App
	log    *slog.Logger
	loc    *time.Location
	assets map[string]asset
	layout *layoutSet
	errTpl *Template[*ErrorPage]
	mux    *http.ServeMux // the routers' (Routed)
	kept   *Kept
}

// NewSite returns the site for cfg: it loads the assets and parses the
// layout and the error page.
func NewSite(cfg SiteConfig) (*Site, error) {
	if cfg.App == nil || cfg.Identify == nil {
		return nil, errors.New("page: App and Identify are required")
	}
	if cfg.SignInPath == "" {
		cfg.SignInPath = "/masuk"
	}
	s := &Site{cfg: cfg, app: cfg.App, log: cfg.App.Config().Logger, loc: cfg.App.Config().Policy.Location,
		kept: NewKept(cfg.KeptBytes)}
	var err error
	if s.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if s.layout, err = parseLayout(); err != nil {
		return nil, err
	}
	if s.errTpl, err = Parse[*ErrorPage](s, sharedFS, "templates/error.html", nil); err != nil {
		return nil, err
	}
	return s, nil
}

// App returns the application layer.
func (s *Site) App() *app.App { return s.app }

// Logger returns the logger pages log to.
func (s *Site) Logger() *slog.Logger { return s.log }

// Location returns the zone times are shown and read in (the policy's).
func (s *Site) Location() *time.Location { return s.loc }

// Request is what a page handler knows about its request besides the
// http.Request it embeds: the caller and the language.
type Request struct {
	*http.Request
	// User is the signed-in caller (zero on a public page nobody signed
	// in to).
	User domain.Principal
	// SignedIn is true when User is.
	SignedIn bool
	// Expired is true when a session was sent but has ended.
	Expired bool
	// Lang is the page's language (i18n.ID or i18n.EN).
	Lang string

	site *Site
	// zone is the subject's zone once SubjectZone looked it up.
	zone *string
}

// SubjectZone returns the zone (WIB, WITA or WIT) of the page's subject,
// "" for the agency's: on a page of an SKP (/skp/{id}…: the SKP, its
// plan, execution, evaluation, objection and document pages and their
// forms), the zone of the unit the SKP's employee is in now
// (Site.EmployeeZone), issue 13. Base shows the page's times in it and
// ParseTime reads the times typed into its forms in it; the other pages
// choose their subject's zone themselves (Base.InZone).
func (r *Request) SubjectZone() string {
	if r.zone != nil {
		return *r.zone
	}
	zone := ""
	if id := r.PathValue("id"); id != "" && strings.HasPrefix(r.URL.Path, "/skp/") && r.site.app.Config().SKPList != nil {
		if s, err := r.site.app.Config().SKPList.Get(r.Context(), id); err == nil {
			zone = r.site.EmployeeZone(r.Context(), s.NIP)
		}
	}
	r.zone = &zone
	return zone
}

// ParseTime reads a time typed into a form of the page (a datetime-local
// control's value, or RFC 3339) as Site.ParseLocal does, a local time in
// the zone of the page's subject (SubjectZone), which the form names
// beside the field ({{$.Zone}}).
func (r *Request) ParseTime(v string) (time.Time, time.Duration, error) {
	loc := r.site.loc
	if l, ok := idfmt.Zone(r.SubjectZone()); ok && r.SubjectZone() != "" {
		loc = l
	}
	return r.site.ParseLocalIn(v, loc)
}

// Site returns the site the request is served by.
func (r *Request) Site() *Site { return r.site }

// App returns the application layer.
func (r *Request) App() *app.App { return r.site.app }

// Can reports whether the caller may do act, an action decided by token
// role alone (the registers, the audit trail, reports): what a page asks
// before it offers a link or a form. Actions on one SKP are decided by the
// domain service that reads it.
func (r *Request) Can(act authz.Action) bool { return r.site.app.Can(r.User, act) }

// Handler is a page handler: it writes its answer (a rendered page, a
// redirect, a file) and returns any failure, which the Router renders as
// the error page.
type Handler func(w http.ResponseWriter, r *Request) error

// Router registers the pages of the feature packages on one mux.
type Router struct {
	mux      *http.ServeMux
	site     *Site
	patterns []string
}

// NewRouter returns a router that registers on mux.
func (s *Site) NewRouter(mux *http.ServeMux) *Router {
	s.mux = mux
	return &Router{mux: mux, site: s}
}

// Routed reports whether a page is registered for method and path (a
// feature's page linking to another feature's, which it may not import:
// the link is offered only when the page is there). The catch-all "/"
// does not count.
func (s *Site) Routed(method, path string) bool {
	if s.mux == nil {
		return false
	}
	_, pattern := s.mux.Handler(&http.Request{Method: method, URL: &url.URL{Path: path}, Header: http.Header{}})
	return pattern != "" && pattern != "/"
}

// Page registers h for pattern (net/http's: "GET /skp/{id}") as a page that
// needs a signed-in caller: anybody else is sent to the sign-in form, and
// comes back after it.
func (rt *Router) Page(pattern string, h Handler) {
	rt.patterns = append(rt.patterns, pattern)
	rt.mux.Handle(pattern, rt.site.wrap(h, true, MaxFormBytes))
}

// Upload registers h for pattern as a page that needs a signed-in caller
// and takes a form with a file (multipart/form-data): its body may be up
// to maxBytes (a larger one is app.ErrTooLarge, 413, when the handler
// parses it) instead of MaxFormBytes.
func (rt *Router) Upload(pattern string, maxBytes int64, h Handler) {
	rt.patterns = append(rt.patterns, pattern)
	rt.mux.Handle(pattern, rt.site.wrap(h, true, maxBytes))
}

// Public registers h for pattern as a page anybody may open (the sign-in
// form itself).
func (rt *Router) Public(pattern string, h Handler) {
	rt.patterns = append(rt.patterns, pattern)
	rt.mux.Handle(pattern, rt.site.wrap(h, false, MaxFormBytes))
}

// Patterns returns the patterns registered so far, in registration order
// (the accessibility scan opens every GET page from them).
func (rt *Router) Patterns() []string { return slices.Clone(rt.patterns) }

// MaxFormBytes bounds a form body (a form with a file upload raises it
// for its own route: Router.Upload).
const MaxFormBytes = 1 << 20

// LangCookie remembers the language chosen with ?lang= ("id" or "en").
const LangCookie = "kinerja_lang"

func (s *Site) wrap(h Handler, needUser bool, maxBody int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		// Pages hold personal data.
		w.Header().Set("Cache-Control", "no-store")
		r, err := s.request(w, hr)
		if err != nil {
			s.Fail(w, r, err)
			return
		}
		if hr.Method == http.MethodPost {
			hr.Body = http.MaxBytesReader(w, hr.Body, maxBody)
		}
		if needUser && !r.SignedIn {
			target := s.cfg.SignInPath + "?next=" + url.QueryEscape(hr.URL.RequestURI())
			if hr.Method != http.MethodGet {
				target = s.cfg.SignInPath
			}
			if r.Expired {
				target += sep(target) + "berakhir=1"
			}
			http.Redirect(w, hr, target, http.StatusSeeOther)
			return
		}
		if err := h(w, r); err != nil {
			s.Fail(w, r, err)
		}
	})
}

func sep(u string) string {
	if strings.Contains(u, "?") {
		return "&"
	}
	return "?"
}

// request builds the Request of hr: its language and caller, and the
// error of the identification, if any.
func (s *Site) request(w http.ResponseWriter, hr *http.Request) (*Request, error) {
	id := s.cfg.Identify(w, hr)
	return &Request{Request: hr, User: id.User, SignedIn: id.SignedIn, Expired: id.Expired, Lang: s.language(w, hr), site: s}, id.Err
}

// language picks the page language: ?lang= (remembered in a cookie), then
// the cookie, then Indonesian.
func (s *Site) language(w http.ResponseWriter, r *http.Request) string {
	if l, ok := i18n.Lang(r.URL.Query().Get("lang")); ok {
		http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: s.cfg.SecureCookies || r.TLS != nil, SameSite: http.SameSiteLaxMode})
		return l
	}
	if c, err := r.Cookie(LangCookie); err == nil {
		if l, ok := i18n.Lang(c.Value); ok {
			return l
		}
	}
	return i18n.ID
}

// ErrorPage is the error page's model.
type ErrorPage struct {
	Base
	// Status is the HTTP status.
	Status int
	// Message is what the person is told (the kind's text, or the
	// page's own message for a bad parameter).
	Message string
	// Detail adds what an error written for people says (a rule of the
	// domain that refused), or the bad value of a parameter.
	Detail string
	// Fields lists each invalid field.
	Fields []domain.FieldError
}

// ParamError refuses a bad query parameter of a page: 400, with the
// message Key of the page's catalogs and the value that was wrong.
type ParamError struct {
	// Key is the message key ("error.year").
	Key string
	// Value is what was given (shown, escaped).
	Value string
}

// Error names the key and the value.
func (e *ParamError) Error() string { return "page: bad parameter: " + e.Key + " " + e.Value }

// Unwrap returns app.ErrInvalidRequest.
func (e *ParamError) Unwrap() error { return app.ErrInvalidRequest }

// BadParam returns a *ParamError.
func BadParam(key, value string) error { return &ParamError{Key: key, Value: value} }

// Fail renders err as the error page, in the request's language: the
// status and the text of its kind (app.Describe), the message of an error
// written for people, the invalid fields; it logs the error (5xx at error
// level with the error's string, which is never shown).
func (s *Site) Fail(w http.ResponseWriter, r *Request, err error) {
	k := app.Describe(err)
	d := &ErrorPage{Base: r.Base("error", "error.title"), Status: k.Status, Message: i18n.Text(k.Text).In(r.Lang)}
	var pe *ParamError
	var ve *domain.ValidationError
	switch {
	case errors.As(err, &pe):
		d.Message, d.Detail = i18n.Shared[pe.Key].In(r.Lang), pe.Value
	case k.Fixed:
	case errors.As(err, &ve):
		d.Fields = ve.Fields
	default:
		d.Detail = app.Detail(err)
	}
	// The error's string only for a 5xx (it may carry what a person typed
	// otherwise; the code says enough).
	attrs := []slog.Attr{slog.String("method", r.Method), slog.String("route", r.Pattern), slog.Int("status", k.Status), slog.String("code", k.Code)}
	level := slog.LevelInfo
	if k.Status >= 500 {
		level = slog.LevelError
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	s.log.LogAttrs(r.Context(), level, "web_request_failed", attrs...)
	if k.Status == 499 {
		return // the browser went away
	}
	// Nothing a handler set before it failed describes the error.
	for _, h := range []string{"Content-Disposition", "Content-Length", "ETag", "Location"} {
		w.Header().Del(h)
	}
	if rerr := s.errTpl.Render(w, k.Status, d); rerr != nil {
		s.log.LogAttrs(r.Context(), slog.LevelError, "web_render_failed", slog.String("error", rerr.Error()))
		http.Error(w, http.StatusText(k.Status), k.Status)
	}
}

// FailHandler returns a handler that renders err as the error page (the
// deny handler of the cross-origin protection, the fallback for unknown
// paths).
func (s *Site) FailHandler(err error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		r, _ := s.request(w, hr)
		s.Fail(w, r, err)
	})
}

// UnitZone returns the time zone unit id works in (WIB, WITA or WIT), ""
// for the agency's zone or a unit the directory does not know: for
// Base.InZone.
func (s *Site) UnitZone(ctx context.Context, id string) string {
	u, err := s.app.Config().Directory.Unit(ctx, id)
	if err != nil {
		return ""
	}
	return u.Zone
}

// EmployeeZone returns the time zone of the unit employee nip is in now
// (see UnitZone), for the pages of the employee's SKPs.
func (s *Site) EmployeeZone(ctx context.Context, nip string) string {
	e, err := s.app.Config().Directory.Employee(ctx, nip)
	if err != nil {
		return ""
	}
	return s.UnitZone(ctx, e.UnitID)
}

// Names returns the names of the employees nips from the directory (an
// unknown NIP has none), for a page's Base.Names: fetched before the page
// renders.
func (s *Site) Names(ctx context.Context, nips ...string) map[string]string {
	out := make(map[string]string, len(nips))
	dir := s.app.Config().Directory
	for _, n := range nips {
		if _, done := out[n]; done || n == "" {
			continue
		}
		e, err := dir.Employee(ctx, n)
		if err != nil {
			e.Name = ""
		}
		out[n] = e.Name
	}
	return out
}

// Link builds a path with query parameters given as key, value pairs
// (empty values left out).
func Link(p string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return p
	}
	return p + "?" + q.Encode()
}

// WithParam returns r's URL (path and query) with key set to value and
// the language switch left out.
func (r *Request) WithParam(key, value string) string {
	u := *r.URL
	q := u.Query()
	q.Set(key, value)
	q.Del("lang")
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// ParseLocal reads a time a person typed or a link carries: RFC 3339
// (span 0), or a local date-time or date in the site's zone, with the span
// it names (a second, a minute, a day). A bad value is a *ParamError with
// key "error.time".
func (s *Site) ParseLocal(v string) (time.Time, time.Duration, error) {
	return parseLocal(v, s.loc)
}

// ParseLocalIn is ParseLocal with a local time read in loc (a unit's
// zone, Base.Loc) rather than the site's.
func (s *Site) ParseLocalIn(v string, loc *time.Location) (time.Time, time.Duration, error) {
	if loc == nil {
		loc = s.loc
	}
	return parseLocal(v, loc)
}

// AsOf reads the as-of control of the unit reports (?as_of=): a ledger
// position (digits, as the audit trail numbers events), an RFC 3339
// instant, or a local date-time or date in loc as a datetime-local control
// sends it (the whole second, minute or day it names is included). The
// empty value is now (the zero cut). Anything else, an instant in the
// future or a position past the ledger's head is a *ParamError (400):
// what the ledger will know then is not known yet.
func (s *Site) AsOf(ctx context.Context, v string, loc *time.Location) (app.Cut, error) {
	if v == "" {
		return app.Cut{}, nil
	}
	if len(v) > 40 || !printable(v) {
		return app.Cut{}, BadParam("error.asof", shorten(v))
	}
	if n, err := strconv.ParseUint(v, 10, 64); err == nil {
		if n == 0 {
			return app.Cut{}, BadParam("error.asof", v)
		}
		if st := s.app.Config().Store; st != nil {
			head, err := st.Head(ctx)
			if err != nil {
				return app.Cut{}, err
			}
			if eventstore.Position(n) > head {
				return app.Cut{}, BadParam("error.future", v)
			}
		}
		return app.Cut{Position: eventstore.Position(n)}, nil
	}
	t, span, err := s.ParseLocalIn(v, loc)
	if err != nil || t.Year() < 2000 {
		return app.Cut{}, BadParam("error.asof", shorten(v))
	}
	if t.After(s.app.Now()) {
		return app.Cut{}, BadParam("error.future", shorten(v))
	}
	if span > 0 {
		t = t.Add(span - time.Nanosecond)
		if now := s.app.Now(); t.After(now) {
			t = now // today, or this minute: up to now
		}
	}
	return app.Cut{At: t}, nil
}

// shorten cuts a bad value shown back to 20 bytes.
func shorten(v string) string {
	if len(v) > 20 {
		return strings.ToValidUTF8(v[:20], "") + "…"
	}
	return v
}

func parseLocal(v string, loc *time.Location) (time.Time, time.Duration, error) {
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.RFC3339Nano, strings.ReplaceAll(v, " ", "+")); err == nil {
		return t, 0, nil
	}
	for _, f := range []struct {
		layout string
		span   time.Duration
	}{
		{"2006-01-02T15:04:05", time.Second},
		{"2006-01-02T15:04", time.Minute},
		{"2006-01-02 15:04:05", time.Second},
		{"2006-01-02 15:04", time.Minute},
		{"2006-01-02", 24 * time.Hour},
	} {
		if t, err := time.ParseInLocation(f.layout, v, loc); err == nil {
			return t, f.span, nil
		}
	}
	return time.Time{}, 0, BadParam("error.time", v)
}

// Position returns how far projection had read, or -1 when it cannot tell
// (the pages say it under every table read from one).
func (s *Site) Position(ctx context.Context, projection string) int64 {
	p, ok := s.app.Position(ctx, projection)
	if !ok {
		return -1
	}
	return int64(p)
}

// UnitRow is a unit in a list, indented by its depth.
type UnitRow struct {
	directory.Unit
	// Depth is 0 for a root unit.
	Depth int
}

// UnitTree orders units depth first (children by ID under their parent; a
// unit whose parent is unknown is a root).
func UnitTree(units []directory.Unit) []UnitRow {
	kids := map[string][]directory.Unit{}
	known := map[string]bool{}
	for _, u := range units {
		known[u.ID] = true
	}
	for _, u := range units {
		p := u.ParentID
		if !known[p] {
			p = ""
		}
		kids[p] = append(kids[p], u)
	}
	var out []UnitRow
	var walk func(parent string, depth int)
	walk = func(parent string, depth int) {
		list := kids[parent]
		slices.SortFunc(list, func(a, b directory.Unit) int { return strings.Compare(a.ID, b.ID) })
		for _, u := range list {
			out = append(out, UnitRow{Unit: u, Depth: depth})
			if depth < 32 {
				walk(u.ID, depth+1)
			}
		}
	}
	walk("", 0)
	return out
}

// Media types of the exports.
const (
	mediaCSV  = "text/csv; charset=utf-8"
	mediaXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// ExportFormat reads ?format= of an export: csv or xlsx (a *ParamError
// otherwise).
func (r *Request) ExportFormat() (string, error) {
	f := r.URL.Query().Get("format")
	if f != "csv" && f != "xlsx" {
		return "", BadParam("error.format", f)
	}
	return f, nil
}

// WriteTable writes t as a CSV or XLSX attachment named name, for the
// page's reader: labels in r's language, times in the site's zone, the
// CSV separated by ';' behind a byte-order mark (for Excel in the
// Indonesian locale); ?sep=, and ?codes=1 write it for programs instead
// (tabular.Options).
func WriteTable(w http.ResponseWriter, r *Request, format, name string, t reports.Table) error {
	return WriteTableIn(w, r, format, name, t, "")
}

// WriteTableIn is WriteTable with the instants in zone (WIB, WITA or WIT:
// the zone of the unit whose data the table holds, issue 13; the
// header of a time column names it); "" or another name keeps the site's.
func WriteTableIn(w http.ResponseWriter, r *Request, format, name string, t reports.Table, zone string) error {
	q := r.URL.Query()
	o := tabular.Options{Lang: r.Lang, Loc: r.site.loc}
	if loc, ok := idfmt.Zone(zone); ok && zone != "" {
		o.Loc = loc
	}
	var err error
	if o.Sep, err = tabular.ParseSep(q.Get("sep")); err != nil {
		return BadParam("error.sep", q.Get("sep"))
	}
	if o.Codes, err = tabular.ParseCodes(q.Get("codes")); err != nil {
		return BadParam("error.codes", q.Get("codes"))
	}
	var body []byte
	switch format {
	case "csv":
		body, err = tabular.CSV(t, o)
		w.Header().Set("Content-Type", mediaCSV)
	case "xlsx":
		body, err = tabular.XLSX(name, t, o)
		w.Header().Set("Content-Type", mediaXLSX)
	default:
		return BadParam("error.format", format)
	}
	if err != nil {
		return fmt.Errorf("page: %w", err)
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.`+format+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return nil
}

// SecureCookies reports whether cookies set in answer to r get the Secure
// flag: the site is served over https (behind a proxy that says so by
// configuration), or r came over TLS.
func (s *Site) SecureCookies(r *http.Request) bool { return s.cfg.SecureCookies || r.TLS != nil }

// printable reports whether v is valid UTF-8 without control or format
// characters (a time or a position has none; TextProblem lets a line
// break through, which free text may carry).
func printable(v string) bool {
	if !utf8.ValidString(v) {
		return false
	}
	for _, r := range v {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}
