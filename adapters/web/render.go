package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

const slogInfo = slog.LevelInfo

func attrString(k, v string) slog.Attr { return slog.String(k, v) }

func attrErr(err error) slog.Attr {
	if err == nil {
		return slog.String("error", "")
	}
	return slog.String("error", err.Error())
}

// asset is an embedded static file with its content hash (the ?v= of its
// URL, so browsers may cache it long).
type asset struct {
	body  []byte
	ctype string
	hash  string
}

func (h *Handler) loadAssets() error {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return err
	}
	h.assets = map[string]asset{}
	return fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
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
		h.assets[p] = asset{body: b, ctype: ct, hash: hex.EncodeToString(sum[:8])}
		return nil
	})
}

// assetURL is the URL of the static file name, with its content hash.
func (h *Handler) assetURL(name string) string {
	return "/static/" + name + "?v=" + h.assets[name].hash
}

func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := h.assets[r.PathValue("file")]
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

// pageNames are the page templates; each is parsed with layout.html.
var pageNames = []string{"signin", "home", "unit", "skp", "objections", "audit", "error"}

func (h *Handler) loadTemplates() error {
	base, err := template.New("layout.html").Funcs(template.FuncMap{
		"add":  func(a, b int) int { return a + b },
		"pct":  func(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) },
		"f1":   func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
		"num":  func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) },
		"u64":  func(u uint64) string { return strconv.FormatUint(u, 10) },
		"list": func(s ...string) []string { return s },
		"short": func(s string) string {
			if len(s) > 12 {
				return s[:12] + "…"
			}
			return s
		},
	}).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return fmt.Errorf("web: templates: %w", err)
	}
	h.pages = map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := base.Clone()
		if err != nil {
			return err
		}
		if _, err := t.ParseFS(templateFS, "templates/"+name+".html"); err != nil {
			return fmt.Errorf("web: template %s: %w", name, err)
		}
		h.pages[name] = t
	}
	return nil
}

// view is what every template sees as its root: the page's data and the
// helpers (translations, labels, times) as methods, reachable from any
// depth as $.
type view struct {
	h        *Handler
	r        *http.Request
	req      *request
	Page     string
	TitleKey string
	Data     any
	names    map[string]string // Name's answers, per request
}

// T returns the message key in the page's language.
func (v *view) T(key string) string { return message(v.req.lang, key) }

// L returns the label of an enumerated value (kind: "predikat",
// "rating", "status", …) in the page's language.
func (v *view) L(kind string, value any) string { return label(v.req.lang, kind, fmt.Sprint(value)) }

// Lang is the page's language.
func (v *view) Lang() string { return v.req.lang }

// Title is the page title.
func (v *view) Title() string { return v.T(v.TitleKey) }

// User is the signed-in caller ("" when none).
func (v *view) User() string { return v.req.user.ID }

// SignedIn reports whether a caller is signed in.
func (v *view) SignedIn() bool { return v.req.signedIn }

// Has reports whether the caller's token carries role.
func (v *view) Has(role string) bool { return v.req.user.Has(domain.Role(role)) }

// Roles lists the caller's token roles.
func (v *view) Roles() string {
	var out []string
	for _, r := range v.req.user.Roles {
		out = append(out, string(r))
	}
	return strings.Join(out, ", ")
}

// CanRegister reports whether the caller may read the objection register.
func (v *view) CanRegister() bool { return registerAccess(v.req.user) == nil }

// CanAudit reports whether the caller may read the audit trail.
func (v *view) CanAudit() bool { return auditAccess(v.req.user) == nil }

// EventTypes lists the stored event types the audit filter suggests.
func (v *view) EventTypes() []string {
	var out []string
	for k := range messages {
		if t, ok := strings.CutPrefix(k, "event."); ok {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// CSRF is the token of the page's forms.
func (v *view) CSRF() string { return v.req.csrf }

// CSS and JS are the URLs of the embedded assets.
func (v *view) CSS() string { return v.h.assetURL("app.css") }

// JS is the URL of the embedded script.
func (v *view) JS() string { return v.h.assetURL("app.js") }

// OtherLang is the language the switch offers.
func (v *view) OtherLang() string {
	if v.req.lang == "en" {
		return "id"
	}
	return "en"
}

// OtherLangURL is this page in the other language.
func (v *view) OtherLangURL() string {
	u := *v.r.URL
	q := u.Query()
	q.Set("lang", v.OtherLang())
	u.RawQuery = q.Encode()
	if v.r.Method != http.MethodGet {
		return "?lang=" + v.OtherLang()
	}
	return u.RequestURI()
}

// Time shows t in the policy's zone, to the second.
func (v *view) Time(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(v.h.cfg.Policy.Location).Format("2006-01-02 15:04:05 MST")
}

// TimeP is Time of a pointer (— for nil).
func (v *view) TimeP(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return v.Time(*t)
}

// ISO is t in RFC 3339 with nanoseconds, for datetime attributes and
// as_of links.
func (v *view) ISO(t time.Time) string {
	return t.In(v.h.cfg.Policy.Location).Format(time.RFC3339Nano)
}

// Zone names the zone times are shown in.
func (v *view) Zone() string { return v.h.cfg.Policy.Location.String() }

// Name returns the name of the employee nip from the directory, or "".
func (v *view) Name(nip string) string {
	if nip == "" {
		return ""
	}
	if n, ok := v.names[nip]; ok {
		return n
	}
	e, err := v.h.cfg.Directory.Employee(v.r.Context(), nip)
	if err != nil {
		e.Name = ""
	}
	if v.names == nil {
		v.names = map[string]string{}
	}
	v.names[nip] = e.Name
	return e.Name
}

// Q is the current URL with the query parameter key set to value.
func (v *view) Q(key, value string) string {
	u := *v.r.URL
	q := u.Query()
	q.Set(key, value)
	q.Del("lang")
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// render writes the page name with status.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, req *request, status int, name, titleKey string, data any) error {
	t := h.pages[name]
	if t == nil {
		return fmt.Errorf("web: no page %s", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", &view{h: h, r: r, req: req, Page: name, TitleKey: titleKey, Data: data}); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	return nil
}

// badRequest is a 400 with a message key for the user.
type badRequest struct {
	key    string
	detail string
}

func (e *badRequest) Error() string { return "web: bad request: " + e.key + " " + e.detail }

// errorData is the error page's model.
type errorData struct {
	Status  int
	Message string // a message key
	Detail  string
	Fields  []domain.FieldError
}

// fail renders err as an error page: not found 404, forbidden 403,
// validation and bad parameters 400, CSRF 403, anything else 500 (logged,
// with a generic message).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, req *request, err error) {
	d := errorData{Status: http.StatusInternalServerError, Message: "error.internal"}
	var bad *badRequest
	var verr *domain.ValidationError
	switch {
	case errors.Is(err, errCSRF):
		d.Status, d.Message = http.StatusForbidden, "error.csrf"
	case errors.Is(err, domain.ErrNotFound), errors.Is(err, directory.ErrNotFound), errors.Is(err, skps.ErrNotFound):
		d.Status, d.Message = http.StatusNotFound, "error.notfound"
	case errors.Is(err, domain.ErrForbidden):
		d.Status, d.Message = http.StatusForbidden, "error.forbidden"
	case errors.As(err, &bad):
		d.Status, d.Message, d.Detail = http.StatusBadRequest, bad.key, bad.detail
	case errors.As(err, &verr):
		d.Status, d.Message, d.Fields = http.StatusBadRequest, "error.validation", verr.Fields
	}
	level := slog.LevelInfo
	if d.Status >= 500 {
		level = slog.LevelError
	}
	h.cfg.Logger.LogAttrs(r.Context(), level, "web_request_failed", slog.String("method", r.Method),
		slog.String("path", r.URL.Path), slog.Int("status", d.Status), attrErr(err))
	title := "error.title"
	if rerr := h.render(w, r, req, d.Status, "error", title, d); rerr != nil {
		h.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "web_render_failed", attrErr(rerr))
		http.Error(w, http.StatusText(d.Status), d.Status)
	}
}

// link builds a path with query parameters (empty values left out).
func link(p string, kv ...string) string {
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
