package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/directory"
)

// Every kind of error has one status, code and text for people, whichever
// edge shows it and however deep it is wrapped.
func TestDescribe(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("pgstore: append skp-x: %w", err) }
	for _, c := range []struct {
		err    error
		status int
		code   string
	}{
		{wrap(ErrInvalidRequest), 400, "invalid_request"},
		{wrap(ErrUnauthenticated), 401, "unauthenticated"},
		{wrap(&authz.Denied{Caller: "x", Action: authz.ReadAudit, Visible: true}), 403, "forbidden"},
		{wrap(&authz.Denied{Caller: "x", Action: authz.ReadSKP}), 404, "not_found"},
		{wrap(ErrCrossOrigin), 403, "forbidden"},
		{wrap(&domain.NotFoundError{Kind: "skp", ID: "x"}), 404, "not_found"},
		{wrap(directory.ErrNotFound), 404, "not_found"},
		{wrap(&domain.ConflictError{Kind: "unit", ID: "x"}), 409, "conflict"},
		{wrap(domain.ErrConcurrency), 409, "contention"},
		{wrap(domain.InvalidState("establish", "DRAFT", "")), 409, "invalid_state"},
		{wrap(&domain.RevisionMismatchError{Stream: "skp-x", Expected: 1, Actual: 2, Exists: true}), 412, "revision_mismatch"},
		{wrap(ErrTooLarge), 413, "payload_too_large"},
		{wrap(domain.Invalid("text", "required")), 422, "validation_failed"},
		{wrap(domain.ErrObjectionWindowClosed), 422, "objection_window_closed"},
		{wrap(&distribution.BlockedError{UnitID: "U", Period: "2026"}), 422, "distribution_blocked"},
		{wrap(ErrKeyReused), 422, "idempotency_key_reused"},
		{wrap(ErrNotReady), 503, "unavailable"},
		{wrap(&eventstore.IntegrityError{Stream: "skp-x", Revision: 3, Problem: "writer signature does not verify", Err: eventstore.ErrBadSignature}),
			500, "integrity_violation"},
		{wrap(eventstore.ErrNoSpace), 507, "insufficient_storage"},
		{wrap(&os.PathError{Op: "write", Path: "/data/kinerja.db", Err: syscall.ENOSPC}), 507, "insufficient_storage"},
		{wrap(&pgconn.PgError{Code: "57P01"}), 503, "unavailable"},
		{wrap(context.Canceled), 499, "canceled"},
		{errors.New("pq: password authentication failed"), 500, "internal"},
	} {
		k := Describe(c.err)
		if k.Status != c.status || k.Code != c.code || k.Title == "" || k.Detail == "" || k.Text.ID == "" || k.Text.EN == "" {
			t.Errorf("Describe(%v) = %+v, want %d %s with texts", c.err, k, c.status, c.code)
		}
	}
	for _, k := range Kinds() {
		if k.Text.ID == k.Text.EN && k.Code != "forbidden" {
			t.Errorf("kind %s: the Indonesian text is the English one: %q", k.Code, k.Text.ID)
		}
		if http.StatusText(k.Status) == "" && k.Status != 499 {
			t.Errorf("kind %s has status %d", k.Code, k.Status)
		}
	}
}

// What a person may be told: the messages of errors written for people,
// never the string of an internal error, whatever wraps what.
func TestDetail(t *testing.T) {
	secret := errors.New("dial tcp 10.0.0.7:5432: password=hunter2")
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("read: %w", secret), ""},
		{fmt.Errorf("wrapped: %w", Visible(ErrNotReady, "not ready: store")), "not ready: store"},
		{Visible(fmt.Errorf("%w: %w", ErrNotReady, secret), "not ready: projections"), "not ready: projections"},
		{fmt.Errorf("x: %w", domain.InvalidState("establish", "DRAFT", "the plan has no RHK")), "cannot establish in state DRAFT: the plan has no RHK"},
		{&authz.Denied{Caller: "x", Action: authz.ReadSKP}, ""}, // a 404 says nothing more
		{fmt.Errorf("y: %w", &authz.Denied{Caller: "x", Action: authz.ReadAudit, Visible: true, Reason: "the audit trail is for AUDITOR"}), "audit.read forbidden for x: the audit trail is for AUDITOR"},
	} {
		if got := Detail(c.err); got != c.want {
			t.Errorf("Detail(%v) = %q, want %q", c.err, got, c.want)
		}
		if strings.Contains(Detail(c.err), "hunter2") {
			t.Errorf("Detail(%v) shows the internal error", c.err)
		}
	}
	if !errors.Is(Visible(ErrNotReady, "m"), ErrNotReady) || Describe(Visible(ErrNotReady, "m")).Code != "unavailable" {
		t.Error("a visible error lost its kind")
	}
}
