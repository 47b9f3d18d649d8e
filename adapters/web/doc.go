// Package web is the Kinerja Ledger dashboard: server-rendered pages
// (html/template) over the same domain services and read models that the
// HTTP API (package httpapi) serves, for HR staff, appraisers, grievance
// handlers and auditors who would rather look than read JSON.
//
// # Pages
//
//	GET  /                    start page: the caller's SKPs, the units, links by role
//	GET  /unit/{id}           unit dashboard: SKP progress and the predikat distribution
//	                          against the pattern, with drill-down into sub-units
//	GET  /skp/{id}?as_of=     one SKP (plan, realisations, feedback, evaluations, score
//	                          history, every event), as recorded at as_of when given
//	GET  /keberatan           the objection register (deadlines, overdue, outcomes)
//	GET  /audit               the audit trail, the latest signed checkpoint, the last
//	                          verification and the inclusion proof of an entry (?seq=)
//	POST /audit/verifikasi    "Verifikasi sekarang": recompute and check the trail
//	GET  /ekspor/{report}     CSV (?format=csv) or Excel (?format=xlsx) of a report:
//	                          progress, distribusi, keberatan, audit
//	GET  /masuk, POST /masuk  sign-in with a bearer token; POST /keluar signs out
//	GET  /static/...          the embedded stylesheet and script
//
// Every page is in Indonesian, or in English with ?lang=en (remembered in a
// cookie; ?lang=id switches back). The pages work without JavaScript; the
// one small script only adds the in-browser check of an inclusion proof.
// Charts are inline SVG drawn on the server. Nothing is loaded from another
// origin.
//
// # Mounting
//
// The handler owns every path it does not share with the API: a process
// that serves both routes /v1/, /healthz, /readyz, /metrics and
// /openapi.json to the API and everything else ("/") to this handler.
//
// # Sign-in and sessions
//
// The caller pastes a bearer token (in embedded mode the one `kinerjactl
// token` prints) into the sign-in form. It is checked with the
// Authenticator and kept in the cookie [SessionCookie]: HttpOnly,
// SameSite=Strict, Path=/, Secure when the request came over TLS or
// Config.SecureCookies is set. Every request re-checks the token, so an
// expired token ends the session.
//
// In production, with Config.OIDC, the form also offers the agency's
// identity provider: /masuk/oidc starts the authorization code flow with
// PKCE (S256), a random state and nonce kept, under an HMAC, in the
// short-lived cookie [OIDCCookie] (SameSite=Lax, as the provider sends the
// browser back with a cross-site navigation); /masuk/oidc/kembali checks the
// state, redeems the code with the verifier (HTTP Basic for a confidential
// client), checks the ID token with the Authenticator (signature against
// the issuer's JWKS, issuer, audience, expiry) and its nonce, and keeps it
// as the session token. Because a SameSite=Strict cookie set at the end of
// a navigation that began at another site is not sent on the redirect that
// follows, the callback answers with a page of this site that moves on to
// the requested page itself. A token for several audiences must name the
// client in "azp". Every failure sends the browser on to the form, away
// from the callback URL and its code, and signs nobody in. The issuer, the
// redirect URL and the discovered endpoints must be https (http only on a
// loopback host); with an https redirect URL every cookie is Secure. The handler also accepts an "Authorization: Bearer"
// header, so a reverse proxy that runs the code flow instead (oauth2-proxy,
// for example) can pass the token that way.
//
// POST forms carry a CSRF token: an HMAC, under a server key, of a random
// value kept in the cookie [CSRFCookie] (SameSite=Strict, HttpOnly); a POST
// whose form value does not match, or whose Origin names another site, is
// refused with 403 and changes nothing.
//
// # Authorisation
//
// The domain decides, exactly as for the API: an SKP page reads through
// skp.Service, which answers "not found" to a caller who may not know the
// SKP exists (the page answers 404); the events of an SKP need the history
// right (parties and auditors); reports need HR_ANALYST, HR_ADMIN or
// AUDITOR; the objection register GRIEVANCE_CLERK, the HR roles or AUDITOR;
// the audit pages AUDITOR. Refusals of what the caller may see are 403.
//
// # Wiring
//
// kinerjad gives the handler the values it gives httpapi: the skp.Service
// (authorised reads and as_of replays), the read models' readers
// (memreadmodel's in embedded mode, pgreadmodel's otherwise; their
// directory reader is also Config.Justifications), the audit reader,
// wiring.Verifier, wiring.SinkPositions, the jwtauth Authenticator, the
// policy, the clock and the logger. The reports are computed with
// projections/reports, as wiring.Reporter does for the API, and exported
// with the same columns. "Verifikasi sekarang" runs the Verifier within
// the request; each process shows the last verification it ran.
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
// The handler tests run on a bbolt event store, the real domain services
// and memreadmodel. TestPagesOnPostgres, with KINERJA_TEST_POSTGRES_URL,
// requires the pages from pgreadmodel to equal those from memory.
// TestBrowser drives headless Chromium (/usr/bin/chromium, Debian's
// chromium package) through every page; it skips without the browser and
// fails instead when KINERJA_REQUIRE_BROWSER=1, and writes its screenshots
// to $KINERJA_SCREENSHOTS (or a temporary directory it logs).
package web
