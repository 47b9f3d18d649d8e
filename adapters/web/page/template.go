package page

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"github.com/kinerja-ledger/kinerja/adapters/internal/idfmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/web/i18n"
	"github.com/kinerja-ledger/kinerja/domain/authz"
)

//go:embed templates/*.html
var sharedFS embed.FS

//go:embed static
var staticFS embed.FS

// Base is the part of every page struct the layout reads: the page's
// name, title and language, the caller, the navigation, the assets. A
// page struct embeds it (by value) and is rendered by a Template of its
// own type. Its methods are pure: translations, labels, times in the
// policy's zone, names fetched before rendering.
type Base struct {
	// Page names the page (for the navigation's aria-current and the
	// body's data-page).
	Page string
	// TitleKey is the message key of the page's title.
	TitleKey string
	// Lang is the page's language; OtherLang the one the switch offers
	// and OtherLangURL this page in it.
	Lang, OtherLang, OtherLangURL string
	// User is the signed-in caller's ID ("" when none) and Roles their
	// token roles; SignedIn says whether anybody is.
	User, Roles string
	SignedIn    bool
	// Nav says which links the navigation offers the caller.
	Nav Nav
	// CSS and JS are the URLs of the embedded assets; Scripts those of a
	// page's own enhancement scripts (Request.Script), loaded after JS.
	CSS, JS string
	Scripts []string
	// Zone names the zone times are shown in.
	Zone string
	// Names holds the names of the employees the page shows, by NIP,
	// fetched before rendering (Site.Names).
	Names map[string]string

	loc  *time.Location
	msgs i18n.Messages
}

// Nav is the navigation a caller is offered.
type Nav struct {
	// Register and Audit are the objection register and the audit trail.
	Register, Audit bool
	// MasterData is the master data (units, employees, reporting lines).
	MasterData bool
	// People is the employee search.
	People bool
	// Consequences and Calibration are the consequences of final
	// evaluations and the appraisers' calibration (issue 14).
	Consequences, Calibration bool
	// Development is the development report of a unit (issue 14).
	Development bool
}

// Base returns the Base of a page named name with the title titleKey.
func (r *Request) Base(name, titleKey string) Base {
	b := Base{Page: name, TitleKey: titleKey, Lang: r.Lang, User: r.User.ID, SignedIn: r.SignedIn,
		CSS: r.site.assetURL("app.css"), JS: r.site.assetURL("app.js"), Zone: r.site.loc.String(), loc: r.site.loc,
		msgs: i18n.Messages{i18n.Shared}}
	roles := make([]string, len(r.User.Roles))
	for i, ro := range r.User.Roles {
		roles[i] = string(ro)
	}
	b.Roles = strings.Join(roles, ", ")
	if name != "error" {
		// A page of an SKP shows its times in its unit's zone; an error
		// page names no SKP's.
		b.InZone(r.SubjectZone())
	}
	if r.SignedIn {
		b.Nav = Nav{Register: r.Can(authz.ReadObjectionRegister), Audit: r.Can(authz.ReadAudit), MasterData: r.Can(authz.ManageMasterData),
			People: r.Can(authz.ListEmployees), Consequences: r.Can(authz.ReadConsequences), Calibration: r.Can(authz.ReadCalibration)}
		b.Nav.Development = r.Can(authz.ReadDevelopment)
	}
	b.OtherLang = i18n.EN
	if r.Lang == i18n.EN {
		b.OtherLang = i18n.ID
	}
	if r.Method != http.MethodGet {
		b.OtherLangURL = "?lang=" + b.OtherLang
	} else {
		u := *r.URL
		q := u.Query()
		q.Set("lang", b.OtherLang)
		u.RawQuery = q.Encode()
		b.OtherLangURL = u.RequestURI()
	}
	return b
}

// Layout returns b: a page struct that embeds Base satisfies [Data].
func (b *Base) Layout() *Base { return b }

// T returns the message key in the page's language.
func (b *Base) T(key string) string { return b.msgs.T(b.Lang, key) }

// L returns the label of an enumerated value (kind: "predikat", "rating",
// "status", …) in the page's language.
func (b *Base) L(kind string, value any) string { return i18n.Label(b.Lang, kind, fmt.Sprint(value)) }

// Title is the page's title.
func (b *Base) Title() string { return b.T(b.TitleKey) }

// Time shows t in the policy's zone as Indonesian (or, with the English
// switch, English) readers write it: "6 Desember 2026 14.05 WIB" ("—" for
// the zero time). The <time> element around it carries the exact instant
// (ISO).
func (b *Base) Time(t time.Time) string { return idfmt.DateTime(b.Lang, t, b.loc) }

// TimeIn is Time in zone (WIB, WITA or WIT; the page's zone for "" or
// another name): a register's row in its own unit's zone, issue 13. The
// text names the zone.
func (b *Base) TimeIn(zone string, t time.Time) string {
	return idfmt.DateTime(b.Lang, t, b.zoneLoc(zone))
}

// TimePIn is TimeIn of a pointer ("—" for nil).
func (b *Base) TimePIn(zone string, t *time.Time) string {
	if t == nil {
		return "—"
	}
	return b.TimeIn(zone, *t)
}

// ISOIn is ISO in zone (as TimeIn).
func (b *Base) ISOIn(zone string, t time.Time) string {
	return t.In(b.zoneLoc(zone)).Format(time.RFC3339Nano)
}

func (b *Base) zoneLoc(zone string) *time.Location {
	if loc, ok := idfmt.Zone(zone); ok && zone != "" {
		return loc
	}
	return b.loc
}

// Loc is the zone the page shows its times in (the site's, or the one
// InZone chose); a time typed on the page is read in it.
func (b *Base) Loc() *time.Location { return b.loc }

// InZone shows the page's times and dates in the zone named zone (WIB,
// WITA or WIT: the zone of the page's subject, a unit's from
// unit.zone_set.v1, issue 13); the site's zone stays for "" or another
// name. The footer names the zone in effect.
func (b *Base) InZone(zone string) {
	if loc, ok := idfmt.Zone(zone); ok && zone != "" {
		b.loc, b.Zone = loc, loc.String()
	}
}

// Date shows the calendar date of t in the policy's zone: "6 Desember
// 2026".
func (b *Base) Date(t time.Time) string { return idfmt.Date(b.Lang, t, b.loc) }

// Num shows a quantity in the page's language: "1.961", "12,5".
func (b *Base) Num(f float64) string { return idfmt.Number(b.Lang, f, -1) }

// Int shows a count with grouped thousands: "1.961" ("1,961" in
// English).
func (b *Base) Int(n int) string { return idfmt.Int(b.Lang, n) }

// Pct shows a share as a percentage: "78,3 %" ("78.3%" in English).
func (b *Base) Pct(share float64) string { return idfmt.Percent(b.Lang, share) }

// TimeP is Time of a pointer ("—" for nil).
func (b *Base) TimeP(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return b.Time(*t)
}

// ISO is t in RFC 3339 with nanoseconds in the policy's zone, for datetime
// attributes and as-of links.
func (b *Base) ISO(t time.Time) string { return t.In(b.loc).Format(time.RFC3339Nano) }

// Name returns the name of the employee nip, as fetched before rendering
// ("" when unknown).
func (b *Base) Name(nip string) string { return b.Names[nip] }

// Data is a page struct: one that embeds Base (through a pointer to it).
type Data interface {
	// Layout returns the embedded Base.
	Layout() *Base
}

// layoutSet is the parsed layout, cloned for every page.
type layoutSet struct{ t *template.Template }

// funcs are the helpers of every template: arithmetic and number
// formatting.
var funcs = template.FuncMap{
	"add":  func(a, b int) int { return a + b },
	"pct":  func(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) },
	"f1":   func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
	"num":  func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) },
	"u64":  func(u uint64) string { return strconv.FormatUint(u, 10) },
	"list": func(s ...string) []string { return s },
	// tuple passes several values of any type to a sub-template.
	"tuple": func(v ...any) []any { return v },
	"short": func(s string) string {
		if len(s) > 12 {
			return s[:12] + "…"
		}
		return s
	},
}

func parseLayout() (*layoutSet, error) {
	t, err := template.New("layout.html").Funcs(funcs).ParseFS(sharedFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("page: layout: %w", err)
	}
	return &layoutSet{t: t}, nil
}

// Template renders one page struct type T in the layout: html/template
// checks at parse time what it can, and T says what the template may read.
type Template[T Data] struct {
	t    *template.Template
	msgs i18n.Messages
	name string
}

// Parse parses the page template file of fsys (it defines "content") in
// the layout; its messages are looked up in catalog (the feature's), then
// in i18n.Shared.
func Parse[T Data](s *Site, fsys fs.FS, file string, catalog i18n.Catalog) (*Template[T], error) {
	t, err := s.layout.t.Clone()
	if err != nil {
		return nil, err
	}
	if _, err := t.ParseFS(fsys, file); err != nil {
		return nil, fmt.Errorf("page: template %s: %w", file, err)
	}
	msgs := i18n.Messages{i18n.Shared}
	if catalog != nil {
		msgs = i18n.For(catalog)
	}
	return &Template[T]{t: t, msgs: msgs, name: file}, nil
}

// MustParse is Parse for a feature's templates, which are embedded: a
// failure is a programming error, caught by the feature's tests.
func MustParse[T Data](s *Site, fsys fs.FS, file string, catalog i18n.Catalog) *Template[T] {
	t, err := Parse[T](s, fsys, file, catalog)
	if err != nil {
		panic(err)
	}
	return t
}

// Render writes d as an HTML page with status. Nothing is written when the
// template fails.
func (t *Template[T]) Render(w http.ResponseWriter, status int, d T) error {
	d.Layout().msgs = t.msgs
	var buf bytes.Buffer
	if err := t.t.ExecuteTemplate(&buf, "layout", d); err != nil {
		return fmt.Errorf("page: render %s: %w", t.name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	return nil
}

// messageKey finds the keys templates translate: {{.T "key"}}, {{$.T
// "key"}}.
var messageKey = regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)

// MissingMessages returns the message keys that the templates in fsys (and
// the layout and error page) use and neither catalog nor i18n.Shared
// holds, in both languages. Each feature's test calls it.
func MissingMessages(fsys fs.FS, catalog i18n.Catalog) ([]string, error) {
	msgs := i18n.For(catalog)
	var missing []string
	check := func(fsys fs.FS, p string) error {
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		for _, m := range messageKey.FindAllStringSubmatch(string(b), -1) {
			t, ok := msgs.Lookup(m[1])
			if (!ok || t.ID == "" || t.EN == "") && !slices.Contains(missing, m[1]) {
				missing = append(missing, m[1])
			}
		}
		return nil
	}
	for _, f := range []struct {
		fsys fs.FS
		glob string
	}{{sharedFS, "templates/*.html"}, {fsys, "*.html"}, {fsys, "templates/*.html"}} {
		names, err := fs.Glob(f.fsys, f.glob)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if err := check(f.fsys, n); err != nil {
				return nil, err
			}
		}
	}
	return missing, nil
}

// asset is an embedded static file with its content hash (the ?v= of its
// URL, so browsers may cache it long).
type asset struct {
	body  []byte
	ctype string
	hash  string
}

func loadAssets() (map[string]asset, error) {
	st, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	out := map[string]asset{}
	err = fs.WalkDir(st, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(st, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) {
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case ".svg":
			ct = "image/svg+xml"
		}
		out[p] = asset{body: b, ctype: ct, hash: hex.EncodeToString(sum[:8])}
		return nil
	})
	return out, err
}

// Script returns the URL of the embedded static script name (a file of
// page/static), for a page's Base.Scripts: a page's own progressive
// enhancement, loaded only where it is used. An unknown name is a
// programming error and panics.
func (r *Request) Script(name string) string {
	if _, ok := r.site.assets[name]; !ok {
		panic("page: no static file " + name)
	}
	return r.site.assetURL(name)
}

// assetURL is the URL of the static file name, with its content hash.
func (s *Site) assetURL(name string) string {
	return "/static/" + name + "?v=" + s.assets[name].hash
}

// ServeAsset serves the embedded static files at /static/{file}.
func (s *Site) ServeAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := s.assets[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.ctype)
	if r.URL.Query().Get("v") == a.hash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("ETag", `"`+a.hash+`"`)
	if r.Header.Get("If-None-Match") == `"`+a.hash+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Write(a.body)
}
