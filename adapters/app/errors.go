package app

import (
	"context"
	"errors"
	"net/http"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// One table of error kinds for both edges (in the manner of wtf's
// error.go and pkgsite's derrors.ToStatus): the API turns a kind into a
// problem (status, code, title, detail), the dashboard into an error page
// or a message beside the form (status and Text). What a person is told
// is the kind's Text, or the message of an error written for people
// ([Detail]); an error's own string — a driver's, a path, a wrapped cause —
// is only ever logged (tailscale's vizerror is the model).

// Text is a message for a person, in Indonesian and English.
type Text struct {
	// ID is the Indonesian text (the default language).
	ID string
	// EN is the English text.
	EN string
}

// In returns the text in lang: "en" for English, anything else for
// Indonesian.
func (t Text) In(lang string) string {
	if lang == "en" {
		return t.EN
	}
	return t.ID
}

// Kind is one kind of failure, as the edges show it.
type Kind struct {
	// Status is the HTTP status.
	Status int
	// Code is the stable, machine-readable problem code of api.md.
	Code string
	// Title is the problem's short English title.
	Title string
	// Detail is the English detail the API gives when the error itself
	// carries no message for people ([Detail]); Fixed says that it is
	// given even when the error does (every 404 looks alike, a 500 or a
	// fault of a dependency tells nothing of its cause).
	Detail string
	Fixed  bool
	// Text is what a person is told, in both languages.
	Text Text
}

// Errors of the edges, the kinds that no domain package names. The domain's
// kinds (domain.ErrNotFound, …) and the store's are the others the table
// knows.
var (
	// ErrInvalidRequest: malformed input, wrong types, unknown fields, bad
	// query parameters or headers.
	ErrInvalidRequest = errors.New("invalid request")
	// ErrUnauthenticated: no token or session, or a bad one.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrTooLarge: a body over the limit.
	ErrTooLarge = errors.New("payload too large")
	// ErrMethodNotAllowed: the path exists, the method does not.
	ErrMethodNotAllowed = errors.New("method not allowed")
	// ErrNotReady: the service is not ready (readiness checks).
	ErrNotReady = errors.New("not ready")
	// ErrHeaderTooLarge: request headers over the server's limit.
	ErrHeaderTooLarge = errors.New("request headers too large")
	// ErrNotImplemented: a transfer coding the server does not know.
	ErrNotImplemented = errors.New("not implemented")
	// ErrCrossOrigin: a form posted from another site (or a browser
	// request that says so); refused before it is read.
	ErrCrossOrigin = errors.New("cross-origin request refused")
)

// row is one row of the table.
type row struct {
	err  error
	kind Kind
}

// notFoundText is the one text of every "not found", whatever said it.
var notFoundText = Text{"Tidak ditemukan, atau Anda tidak berhak melihatnya.", "Not found, or you may not see it."}

// table maps every error kind to how it is shown (api.md, "Errors"). The
// first row whose error matches (errors.Is) wins; anything else is
// internal.
var table = []row{
	{ErrInvalidRequest, Kind{Status: http.StatusBadRequest, Code: "invalid_request", Title: "The request is malformed",
		Detail: "the request is malformed",
		Text:   Text{"Permintaan tidak dapat dibaca: periksa isian dan alamatnya.", "The request could not be read: check its values and address."}}},
	{ErrUnauthenticated, Kind{Status: http.StatusUnauthorized, Code: "unauthenticated", Title: "Authentication required",
		Detail: "a valid bearer token is required (missing, expired or invalid)", Fixed: true,
		Text: Text{"Silakan masuk terlebih dahulu.", "Please sign in first."}}},
	{ErrCrossOrigin, Kind{Status: http.StatusForbidden, Code: "forbidden", Title: "Not allowed",
		Detail: "the request came from another site", Fixed: true,
		Text: Text{"Formulir ini dikirim dari situs lain dan ditolak. Buka halamannya lagi dari situs ini.", "This form was sent from another site and was refused. Open the page again from this site."}}},
	{domain.ErrForbidden, Kind{Status: http.StatusForbidden, Code: "forbidden", Title: "Not allowed", Detail: "not allowed",
		Text: Text{"Anda tidak berhak melakukan ini.", "You may not do this."}}},
	{domain.ErrNotFound, Kind{Status: http.StatusNotFound, Code: "not_found", Title: "Not found", Detail: notFoundDetail, Fixed: true, Text: notFoundText}},
	{directory.ErrNotFound, Kind{Status: http.StatusNotFound, Code: "not_found", Title: "Not found", Detail: notFoundDetail, Fixed: true, Text: notFoundText}},
	{skps.ErrNotFound, Kind{Status: http.StatusNotFound, Code: "not_found", Title: "Not found", Detail: notFoundDetail, Fixed: true, Text: notFoundText}},
	{ErrMethodNotAllowed, Kind{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Title: "Method not allowed", Detail: "method not allowed",
		Text: Text{"Cara permintaan ini tidak didukung di alamat ini.", "This kind of request is not supported at this address."}}},
	{skps.ErrBadCursor, Kind{Status: http.StatusBadRequest, Code: "invalid_request", Title: "The request is malformed",
		Detail: "cursor: not one this service issued", Fixed: true,
		Text: Text{"Tautan halaman berikutnya tidak berlaku lagi; mulai dari halaman pertama.", "The next-page link is no longer valid; start from the first page."}}},
	{domain.ErrConflict, Kind{Status: http.StatusConflict, Code: "conflict", Title: "The resource already exists", Detail: "the resource already exists",
		Text: Text{"Data ini sudah ada.", "This record already exists."}}},
	// The stream kept changing under the command until it gave up
	// (Streams): nothing was written, the caller may repeat it. Not
	// "conflict", which says the resource already exists and repeating
	// will not help.
	{domain.ErrConcurrency, Kind{Status: http.StatusConflict, Code: "contention", Title: "The resource kept changing; repeat the request",
		Detail: "the resource kept changing while the request ran and nothing was written; repeat it after Retry-After", Fixed: true,
		Text: Text{"Data ini sedang diubah orang lain dan tidak ada yang tersimpan. Kirim lagi sebentar lagi.", "Someone else is changing this record and nothing was saved. Send it again in a moment."}}},
	{domain.ErrInvalidState, Kind{Status: http.StatusConflict, Code: "invalid_state", Title: "Not allowed in the current state", Detail: "not allowed in the current state",
		Text: Text{"Tindakan ini tidak dapat dilakukan pada tahap ini.", "This cannot be done at this stage."}}},
	{domain.ErrRevisionMismatch, Kind{Status: http.StatusPreconditionFailed, Code: "revision_mismatch", Title: "If-Match names an older revision",
		Detail: "If-Match names an older revision",
		Text:   Text{"Data ini telah diubah orang lain sejak formulir dibuka. Periksa perubahannya, lalu kirim lagi.", "Someone else changed this record since the form was opened. Check the changes, then send it again."}}},
	{ErrTooLarge, Kind{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large", Title: "The body is too large",
		Detail: "the request body is over the limit", Fixed: true,
		Text: Text{"Isian terlalu besar.", "What was sent is too large."}}},
	{ErrHeaderTooLarge, Kind{Status: http.StatusRequestHeaderFieldsTooLarge, Code: "headers_too_large", Title: "The request headers are too large",
		Detail: "the request's headers are over the server's limit", Fixed: true,
		Text: Text{"Kepala permintaan terlalu besar.", "The request headers are too large."}}},
	{ErrNotImplemented, Kind{Status: http.StatusNotImplemented, Code: "not_implemented", Title: "Not implemented",
		Detail: "the request uses a transfer coding this server does not implement", Fixed: true,
		Text: Text{"Permintaan ini tidak didukung.", "This request is not supported."}}},
	{eventstore.ErrEventTooLarge, Kind{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large", Title: "The body is too large",
		Detail: "the request body is over the limit", Fixed: true,
		Text: Text{"Isian terlalu besar untuk disimpan.", "What was sent is too large to keep."}}},
	{domain.ErrValidation, Kind{Status: http.StatusUnprocessableEntity, Code: "validation_failed", Title: "Invalid values",
		Detail: "the request has invalid values; see errors",
		Text:   Text{"Beberapa isian belum benar; lihat keterangan di samping isian.", "Some values are not right; see the notes beside them."}}},
	{domain.ErrObjectionWindowClosed, Kind{Status: http.StatusUnprocessableEntity, Code: "objection_window_closed", Title: "The objection window is closed",
		Detail: "the objection window is closed",
		Text:   Text{"Batas waktu pengajuan keberatan telah lewat.", "The time to file an objection has passed."}}},
	{domain.ErrDistributionBlocked, Kind{Status: http.StatusUnprocessableEntity, Code: "distribution_blocked", Title: "Issuing would break the distribution pattern",
		Detail: "issuing this evaluation would break the unit's distribution pattern (BLOCK mode) and no recorded justification covers it",
		Text:   Text{"Penerbitan evaluasi ini akan melanggar pola distribusi predikat unit (mode BLOCK) dan belum ada justifikasi pimpinan yang mencakupnya.", "Issuing this evaluation would break the unit's distribution pattern (BLOCK mode) and no justification by the unit leader covers it."}}},
	{ErrKeyReused, Kind{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused", Title: "Idempotency-Key reused with a different request",
		Detail: "idempotency key reused with a different request",
		Text:   Text{"Formulir ini sudah dikirim dengan isian lain. Buka formulirnya lagi.", "This form was already sent with other values. Open the form again."}}},
	{ErrNotReady, Kind{Status: http.StatusServiceUnavailable, Code: "unavailable", Title: "Not ready", Detail: "not ready",
		Text: Text{"Layanan belum siap. Coba lagi sebentar lagi.", "The service is not ready. Try again in a moment."}}},
	// The stored history failed its chain or writer-signature check
	// (docs/security.md): what would be derived from it is not served.
	{eventstore.ErrIntegrity, Kind{Status: http.StatusInternalServerError, Code: "integrity_violation", Title: "The stored history failed its integrity check",
		Detail: "the stored history of this resource failed its hash chain or writer signature check, so nothing derived from it is served; it has been logged with the request ID", Fixed: true,
		Text: Text{"Riwayat tersimpan data ini gagal diperiksa keutuhannya, sehingga tidak ditampilkan. Kejadian ini telah dicatat; hubungi pengelola layanan.", "The stored history of this record failed its integrity check, so it is not shown. This has been logged; contact the service's operators."}}},
	{eventstore.ErrNoSpace, Kind{Status: http.StatusInsufficientStorage, Code: "insufficient_storage", Title: "The store is out of space",
		Detail: "the store is out of space and nothing was written; an operator must free space", Fixed: true,
		Text: Text{"Penyimpanan penuh dan tidak ada yang tersimpan. Hubungi pengelola layanan.", "Storage is full and nothing was saved. Contact the service's operators."}}},
	{eventstore.ErrUnavailable, Kind{Status: http.StatusServiceUnavailable, Code: "unavailable", Title: "A dependency is unavailable",
		Detail: "a dependency (the database, the disk) is unavailable and nothing was written; repeat the request after Retry-After", Fixed: true,
		Text: Text{"Layanan sedang terganggu dan tidak ada yang tersimpan. Coba lagi sebentar lagi.", "The service is disrupted and nothing was saved. Try again in a moment."}}},
	{context.Canceled, Kind{Status: 499, Code: "canceled", Title: "The client went away", Detail: "the client went away",
		Text: Text{"Permintaan dibatalkan.", "The request was cancelled."}}},
}

// Internal is the kind of every error the table does not know: its detail
// is only logged.
var Internal = Kind{Status: http.StatusInternalServerError, Code: "internal", Title: "Internal error",
	Detail: "an internal error occurred; it has been logged with the request ID", Fixed: true,
	Text: Text{"Terjadi kesalahan di server. Kesalahan ini telah dicatat; coba lagi nanti.", "Something went wrong on the server. It has been logged; try again later."}}

// notFoundDetail is the detail of every 404.
const notFoundDetail = "no such resource, or the caller may not see it"

// Describe returns the kind of err: the first row of the table it matches,
// after a failure of a dependency (a database gone, a full disk) is
// recognised as such (faultOf); Internal for anything else.
func Describe(err error) Kind {
	err = faultOf(err)
	for _, r := range table {
		if errors.Is(err, r.err) {
			return r.kind
		}
	}
	return Internal
}

// Kinds returns every kind of the table and Internal (for documentation and
// tests).
func Kinds() []Kind {
	out := make([]Kind, 0, len(table)+1)
	for _, r := range table {
		out = append(out, r.kind)
	}
	return append(out, Internal)
}

// VisibleError is an error whose message may be shown to the person who
// caused it (tailscale's vizerror): Msg is shown; Err, which it wraps, is
// what is logged and what errors.Is sees.
type VisibleError struct {
	// Msg is the text a person may read.
	Msg string
	// Err is the error (its kind and cause).
	Err error
}

// Error returns Msg.
func (e *VisibleError) Error() string { return e.Msg }

// Unwrap returns Err.
func (e *VisibleError) Unwrap() error { return e.Err }

// Visible returns err with msg as the message a person may read.
func Visible(err error, msg string) error { return &VisibleError{Msg: msg, Err: err} }

// Detail returns what a person may be told about err besides its kind:
// the message of an error written for people — a refused rule of the
// domain (a state, a conflict, a revision, a refused deviation, an
// objection window), a visible refusal of authz, a [*VisibleError] — or ""
// when err carries none. Field problems are not here: see
// [domain.ValidationError].
func Detail(err error) string {
	var (
		vis   *VisibleError
		state *domain.StateError
		conf  *domain.ConflictError
		rev   *domain.RevisionMismatchError
		den   *authz.Denied
		dev   *distribution.DeviationError
		blk   *distribution.BlockedError
		win   *skp.WindowClosedError
	)
	switch {
	case errors.As(err, &vis):
		return vis.Msg
	case errors.As(err, &den):
		if !den.Visible {
			return "" // a 404: nothing beyond "not found"
		}
		return den.Error()
	case errors.As(err, &state):
		return state.Error()
	case errors.As(err, &conf):
		return conf.Error()
	case errors.As(err, &rev):
		return rev.Error()
	case errors.As(err, &dev):
		return dev.Error()
	case errors.As(err, &blk):
		return blk.Error()
	case errors.As(err, &win):
		return win.Error()
	}
	return ""
}
