package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/kinerja-ledger/kinerja/adapters/web/session"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
)

// formKey reads the idempotency key of the form in body.
func formKey(t *testing.T, body string) string {
	t.Helper()
	m := regexp.MustCompile(`name="_key" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no _key in the form:\n%s", body)
	}
	return m[1]
}

// The new-unit form is the pattern every form follows: offered only to
// who may use it, decoded with its problems beside the fields and the
// input kept, keyed (a double submit records once), post-redirect-get,
// and refused from another site.
func TestNewUnitForm(t *testing.T) {
	h := seeded(t)
	const path = "/data-induk/unit/baru"
	if r := h.get(&analyst, path); r.status != http.StatusForbidden {
		t.Errorf("the form as HR_ANALYST = %d, want 403", r.status)
	}
	if r := h.must200(analyst, "/data-induk/unit"); strings.Contains(r.body, `id="unit-new"`) {
		t.Error("the unit list offers the form to HR_ANALYST")
	}
	if r := h.must200(hrAdmin, "/data-induk/unit"); !strings.Contains(r.body, `id="unit-new"`) {
		t.Error("the unit list does not offer the form to HR_ADMIN")
	}
	form := h.must200(hrAdmin, path)
	key := formKey(t, form.body)
	if again := formKey(t, h.must200(hrAdmin, path).body); again == key {
		t.Error("two renderings of the form carry the same key")
	}
	events := h.streamLen("unit-LABKES")

	// Problems: beside each field, in Indonesian, the input kept, nothing
	// recorded.
	for name, c := range map[string]struct {
		values url.Values
		field  string
	}{
		"no name":        {url.Values{"id": {"LABKES"}, "name": {""}, "parent_id": {"DINKES"}}, "name"},
		"control char":   {url.Values{"id": {"LABKES"}, "name": {"Lab\x01kes"}, "parent_id": {"DINKES"}}, "name"},
		"invalid UTF-8":  {url.Values{"id": {"LABKES"}, "name": {"Lab\xffkes"}, "parent_id": {"DINKES"}}, "name"},
		"unknown parent": {url.Values{"id": {"LABKES"}, "name": {"Laboratorium Kesehatan"}, "parent_id": {"NOPE"}}, "parent_id"},
	} {
		c.values.Set("_key", key)
		r := h.post(&hrAdmin, path, c.values)
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: = %d, want 422\n%s", name, r.status, r.body)
			continue
		}
		if !strings.Contains(r.body, `id="`+c.field+`-error"`) || !strings.Contains(r.body, `aria-invalid="true"`) || !strings.Contains(r.body, `role="alert"`) {
			t.Errorf("%s: no problem beside %s", name, c.field)
		}
		if !strings.Contains(r.body, `value="LABKES"`) {
			t.Errorf("%s: the input was not kept", name)
		}
		if formKey(t, r.body) != key {
			t.Errorf("%s: the form came back with another key", name)
		}
	}
	if h.streamLen("unit-LABKES") != events {
		t.Fatal("a refused form recorded something")
	}
	// Success: 303 to the list, which shows the unit; a double submit of
	// the same form records once and lands on the same page.
	good := url.Values{"_key": {key}, "id": {"LABKES"}, "name": {"Laboratorium Kesehatan"}, "parent_id": {"DINKES"}}
	first := h.post(&hrAdmin, path, good)
	if first.status != http.StatusSeeOther || first.header.Get("Location") != "/data-induk/unit?dibuat=LABKES" {
		t.Fatalf("submit = %d to %q\n%s", first.status, first.header.Get("Location"), first.body)
	}
	second := h.post(&hrAdmin, path, good)
	if second.status != http.StatusSeeOther || second.header.Get("Location") != first.header.Get("Location") {
		t.Errorf("double submit = %d to %q, want the same redirect", second.status, second.header.Get("Location"))
	}
	if n := h.streamLen("unit-LABKES"); n != 1 {
		t.Errorf("the unit's stream holds %d events after a double submit, want 1", n)
	}
	h.catchUp()
	if r := h.must200(hrAdmin, "/data-induk/unit?dibuat=LABKES"); !strings.Contains(r.body, "Laboratorium Kesehatan") || !strings.Contains(r.body, `role="status"`) {
		t.Error("the list does not show the new unit and the notice")
	}
	// The same rendered form with other values: refused, with a new key.
	other := url.Values{"_key": {key}, "id": {"LABKES2"}, "name": {"Lain"}}
	if r := h.post(&hrAdmin, path, other); r.status != http.StatusUnprocessableEntity || formKey(t, r.body) == key {
		t.Errorf("a reused key with other values = %d, want 422 and a new key", r.status)
	}
	// A new form for an existing unit: the rule's refusal, for the form.
	dup := url.Values{"_key": {formKey(t, h.must200(hrAdmin, path).body)}, "id": {"LABKES"}, "name": {"Lagi"}}
	if r := h.post(&hrAdmin, path, dup); r.status != http.StatusConflict || !strings.Contains(r.body, "sudah ada") {
		t.Errorf("a second unit with the same code = %d, want 409 saying it exists\n%s", r.status, r.body)
	}
	// Not a form this site rendered; another site's; another role's.
	if r := h.post(&hrAdmin, path, url.Values{"id": {"X1"}, "name": {"X"}}); r.status != http.StatusUnprocessableEntity || h.streamLen("unit-X1") != 0 {
		t.Errorf("a form without a key = %d", r.status)
	}
	fresh := url.Values{"_key": {formKey(t, h.must200(hrAdmin, path).body)}, "id": {"X2"}, "name": {"X"}}
	if r := h.post(&hrAdmin, path, fresh, "Sec-Fetch-Site", "cross-site"); r.status != http.StatusForbidden || h.streamLen("unit-X2") != 0 {
		t.Errorf("a cross-site form = %d", r.status)
	}
	if r := h.post(&analyst, path, fresh); r.status != http.StatusForbidden || h.streamLen("unit-X2") != 0 {
		t.Errorf("the form posted by HR_ANALYST = %d, want 403", r.status)
	}
}

// downStore is a session store whose database is gone.
type downStore struct{ session.Store }

func (downStore) Get(context.Context, string, time.Time) ([]byte, bool, error) {
	return nil, false, fmt.Errorf("session: get: %w", &pgconn.PgError{Code: "57P01", Message: "terminating connection"})
}

// When the session store is down, who is asking cannot be told: the page
// says the service is disrupted (503), instead of asking to sign in again,
// and the cause is logged, not shown.
func TestSessionStoreDown(t *testing.T) {
	h := seeded(t)
	ck := h.signIn(clerk)
	cfg := h.cfg
	cfg.Sessions = downStore{cfg.Sessions}
	down, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/keberatan", nil)
	r.AddCookie(ck)
	rec := httptest.NewRecorder()
	down.ServeHTTP(rec, r)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "terganggu") || strings.Contains(rec.Body.String(), "terminating") {
		t.Errorf("with the session store down: %d\n%s", rec.Code, rec.Body.String())
	}
}

// What an SKP page may offer its caller: the application layer asks authz
// with the reporting lines in effect.
func TestSKPActions(t *testing.T) {
	h := seeded(t)
	may := func(c caller, acts ...authz.Action) map[authz.Action]bool {
		t.Helper()
		m, err := h.app.SKPActions(h.ctx, c.principal(), h.ag.skpE, acts...)
		if err != nil {
			t.Fatalf("SKPActions as %s: %v", c.sub, err)
		}
		return m
	}
	acts := []authz.Action{authz.EditPlan, authz.EstablishSKP, authz.Rate, authz.FileObjection}
	if m := may(empE, acts...); !m[authz.EditPlan] || m[authz.EstablishSKP] || m[authz.Rate] || !m[authz.FileObjection] {
		t.Errorf("the employee may %v", m)
	}
	if m := may(caller{nipA, nil}, acts...); m[authz.EditPlan] || !m[authz.EstablishSKP] || !m[authz.Rate] || m[authz.FileObjection] {
		t.Errorf("the appraiser may %v", m)
	}
	if m := may(clerk, acts...); m[authz.EditPlan] || m[authz.Rate] || !m[authz.FileObjection] {
		t.Errorf("the clerk may %v", m)
	}
	if _, err := h.app.SKPActions(h.ctx, empX.principal(), h.ag.skpE, acts...); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("SKPActions as an outsider = %v, want not found", err)
	}
}
