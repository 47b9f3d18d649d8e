// Package web is the Kinerja Ledger dashboard: server-rendered pages and
// forms (html/template) for employees, appraisers, HR staff, grievance
// handlers and auditors, on the same application layer (adapters/app) as
// the HTTP API (package httpapi). docs/web.md is the guide: how the
// packages fit, what goes where, and how a page or a form is added.
//
// # Packages
//
//	web                the Handler: the site, the sessions, the security
//	                   headers, the cross-origin protection, and the list of
//	                   features it mounts
//	web/page           the Site the features share, the Router, the Request,
//	                   typed page structs (Base) and Templates, the layout,
//	                   the error page, the embedded assets
//	web/form           form decoding, field problems, post-redirect-get, the
//	                   revision a form was rendered from, an idempotency key
//	                   per rendered form
//	web/i18n           the shared words, in Indonesian and English, and the
//	                   labels of the ledger's enumerations
//	web/session        server-side sessions (bbolt or PostgreSQL) and the
//	                   one-time sign-in codes of kinerjactl login-link
//	web/feature/...    one package per page family: signin, home, skppage,
//	                   evaluation, objection, masterdata, imports, reportpage,
//	                   auditpage, inbox, documents; a feature never imports
//	                   another
//	                   (layout_test.go enforces it)
//
// # Pages
//
//	GET  /                       start page: the caller's SKPs, the units, links by role
//	GET  /unit/{id}              unit dashboard: SKP progress and the predikat distribution (?as_of=: as recorded then)
//	GET  /skp/{id}?as_of=        one SKP, now or as recorded at as_of, with its timeline
//	GET  /kotak-masuk            the inbox: what waits for the caller, by deadline
//	GET  /keberatan              the objection register
//	GET  /audit, POST /audit/verifikasi   the audit trail, proofs, verification
//	GET  /ekspor/{progress,distribusi,keberatan,audit}?format=csv|xlsx[&sep=,][&codes=1]
//	GET  /skp/{id}/dokumen       an SKP's printed documents; …/dokumen.pdf, …/evaluasi/{period}/dokumen.pdf
//	GET  /verify/{code}          public: does a printed document match the ledger (?format=json)
//	GET  /data-induk/unit, GET+POST /data-induk/unit/baru   units; the new-unit form
//	GET  /masuk, GET+POST /masuk/tautan, POST /keluar       sign-in (link), sign-out
//	GET  /masuk/oidc, GET /masuk/oidc/kembali               sign-in through OIDC
//	GET  /static/{file}          the embedded stylesheet and script
//
// Every page is in Indonesian, or in English with ?lang=en (remembered in a
// cookie). The pages work without JavaScript; the one small script only
// adds the in-browser check of an inclusion proof. Charts are inline SVG
// drawn on the server. Nothing is loaded from another origin.
//
// # Sign-in and sessions
//
// A signed-in browser holds only an opaque session ID (package session);
// the record — who, how, when it began and was last used, an OIDC refresh
// token — is on the server, and ends after an idle and an absolute
// timeout, or at sign-out. In embedded mode `kinerjactl login-link --sub
// NIP` prints a one-time link with a short life; in production the
// agency's OpenID Connect provider signs people in (code flow with PKCE,
// through go-oidc and x/oauth2). An "Authorization: Bearer" header is also
// accepted, so that a reverse proxy that runs the code flow itself can
// pass the token.
//
// Forms are protected against cross-site requests by the standard
// library's http.CrossOriginProtection (Sec-Fetch-Site, else Origin
// against Host): a form posted from another site is refused with 403
// before it is read.
//
// # Authorisation
//
// Exactly the API's: pages read through the application layer and the
// domain services, which ask domain/authz; a page offers only the actions
// its caller may take, and the server decides again when one is taken. A
// caller who may not know a resource exists gets 404; refusals of what the
// caller may see are 403.
//
// # Headers
//
// Every answer carries a Content-Security-Policy without inline script or
// style ('self' only, frame-ancestors 'none'), X-Content-Type-Options:
// nosniff, X-Frame-Options: DENY, Referrer-Policy: same-origin and
// Cross-Origin-Opener-Policy: same-origin; pages are Cache-Control:
// no-store because they hold personal data.
//
// # Tests
//
// The handler tests run on a bbolt event store, the real domain services,
// the application layer and memreadmodel. TestPagesOnPostgres, with
// KINERJA_TEST_POSTGRES_URL, requires the pages from pgreadmodel to equal
// those from memory. TestBrowser drives headless Chromium
// (/usr/bin/chromium, Debian's chromium package) through every page; it
// skips without the browser and fails instead when
// KINERJA_REQUIRE_BROWSER=1, and writes its screenshots to
// $KINERJA_SCREENSHOTS (or a temporary directory it logs).
package web
