// Package auditpage is the dashboard's audit pages, for auditors: the
// audit trail newest first with filters (actor, stream, event type, time
// window), pages both ways (?before=, ?after=) and a jump to an entry
// (?at=), the latest signed checkpoint, "Verifikasi
// sekarang" (recompute and check the trail) with the last verification,
// the inclusion proof of an entry (checked on the server, and again in the
// browser by the page's script), and the trail's CSV and Excel export.
package auditpage

import (
	"context"
	"embed"
	"encoding/hex"
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/web/i18n"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

//go:embed *.html
var files embed.FS

// Feature is the audit pages.
type Feature struct {
	site    *page.Site
	audit   *page.Template[*auditData]
	records Records
}

// Records keeps short-lived records that every process of the deployment
// shares (the session store's: session.Manager).
type Records interface {
	Put(ctx context.Context, kind, id string, v any, expires time.Time) error
	GetRecord(ctx context.Context, kind, id string, v any) (bool, error)
}

// lastVerification is where the last verification is kept in Records,
// and for how long. It is kept there, not only in the process that ran it,
// because the page that shows it after "Verifikasi sekarang" may be served
// by another kinerjad behind the same load balancer (docs/operations.md).
const (
	verifyKind, verifyID = "audit-verification", "last"
	verifyKeep           = 30 * 24 * time.Hour
)

// New returns the feature on site; records (nil: none) keep the last
// verification for every process of the deployment.
func New(site *page.Site, records Records) *Feature {
	return &Feature{site: site, audit: page.MustParse[*auditData](site, files, "audit.html", messages), records: records}
}

// Routes registers the audit page, verification and the export.
func (f *Feature) Routes(r *page.Router) {
	r.Page("GET /audit", f.show)
	r.Page("POST /audit/verifikasi", f.verifyNow)
	r.Page("GET /ekspor/audit", f.export)
}

// eventTypes lists the stored event types the filter suggests (those the
// dashboard has names for).
func eventTypes() []string {
	var out []string
	for k := range i18n.Shared {
		if t, ok := strings.CutPrefix(k, "event."); ok {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// auditPageSize is the number of trail entries a page shows.
const auditPageSize = 50

// auditFilter is the audit page's filter form, as typed.
type auditFilter struct {
	Actor, Stream, Type, From, To string
}

// auditQuery reads the filters (?actor=, ?stream=, ?type=, ?from=, ?to=
// as local date-times or RFC 3339, ?after=) into a query.
func (f *Feature) auditQuery(r *page.Request) (audit.Query, auditFilter, error) {
	q := r.URL.Query()
	flt := auditFilter{Actor: strings.TrimSpace(q.Get("actor")), Stream: strings.TrimSpace(q.Get("stream")),
		Type: strings.TrimSpace(q.Get("type")), From: q.Get("from"), To: q.Get("to")}
	aq := audit.Query{Actor: flt.Actor, Stream: flt.Stream, Type: flt.Type, Limit: auditPageSize}
	for _, s := range []string{flt.Actor, flt.Stream, flt.Type} {
		if len(s) > 200 {
			return aq, flt, page.BadParam("error.filter", s[:20]+"…")
		}
	}
	if flt.From != "" {
		start, _, err := f.site.ParseLocal(flt.From)
		if err != nil {
			return aq, flt, err
		}
		aq.From = start
	}
	if flt.To != "" {
		start, span, err := f.site.ParseLocal(flt.To)
		if err != nil {
			return aq, flt, err
		}
		aq.To = start.Add(span) // exclusive: the whole minute (or day) typed is in
	}
	if a := q.Get("after"); a != "" {
		n, err := strconv.ParseUint(a, 10, 64)
		if err != nil {
			return aq, flt, page.BadParam("error.after", truncate(a))
		}
		aq.After, aq.AfterSet = n, true
	}
	return aq, flt, nil
}

// trailPage reads where the page of the trail is (the trail is shown newest
// first): ?before=N, the entries older than N (the "older" link); ?at=N,
// entry N and those older (jump to an entry); ?after=N, the entries just
// newer than N (the "newer" link). Without any: the newest entries. It
// returns the query for them with asc set when the entries come oldest
// first and must be reversed to show.
func trailPage(r *page.Request, aq audit.Query) (_ audit.Query, asc bool, _ error) {
	q := r.URL.Query()
	aq.Desc = true
	for _, k := range []string{"before", "at"} {
		v := q.Get(k)
		if v == "" {
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || (k == "at" && n == math.MaxUint64) {
			return aq, false, page.BadParam("error.after", truncate(v))
		}
		if k == "at" {
			n++
		}
		aq.Before, aq.BeforeSet = n, true
	}
	if aq.AfterSet && !aq.BeforeSet {
		aq.Desc, asc = false, true
	}
	return aq, asc, nil
}

func truncate(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}

// auditData is the audit page's model.
type auditData struct {
	page.Base
	Filter  auditFilter
	Entries []audit.Entry
	// NextURL is the page of older entries, NewerURL of newer ones and
	// NewestURL the first page ("" when there are none).
	NextURL, NewerURL, NewestURL string
	// At is the entry jumped to (?at=), as typed.
	At            string
	Filtered      bool
	Size          uint64
	Checkpoint    audit.Checkpoint
	HasCheckpoint bool
	Last          *app.Verification
	Proof         *proofView
	ProofError    string
	Position      int64
	ExportCSV     string
	ExportXLSX    string
	// EventTypes are the event types the filter suggests.
	EventTypes []string

	query url.Values // the page's query, for Q
}

// Q is this page's URL with the query parameter key set to value (the
// language switch left out).
func (d *auditData) Q(key, value string) string {
	q := url.Values{}
	for k, v := range d.query {
		q[k] = v
	}
	q.Set(key, value)
	q.Del("lang")
	return "/audit?" + q.Encode()
}

// proofView is the inclusion proof of one entry, checked on the server,
// with what the page's script needs to check it again in the browser.
type proofView struct {
	Entry audit.Entry
	// Index is the proof's leaf index: the entry's seq in the global tree,
	// its index in the agency's log for an agency's auditor.
	Index uint64
	Size  uint64
	Root  merkle.Hash
	Path  []merkle.Hash
	// LeafData is the entry's leaf encoding (hex); LeafOK is true when its
	// hash is the stored leaf hash.
	LeafData string
	LeafOK   bool
	// PathHex is Path as space-separated hex, for the script.
	PathHex string
	// OK is true when the path leads from the leaf to Root; Problem says
	// why not.
	OK      bool
	Problem string
	// Signed is true when Size is the latest signed checkpoint's and Root
	// its root.
	Signed bool
}

// auditPage shows the trail with filters, the latest signed checkpoint,
// the last verification and, with ?seq=, an entry's inclusion proof.
func (f *Feature) show(w http.ResponseWriter, r *page.Request) error {
	a := r.App()
	if err := a.Authorize(r.User, authz.ReadAudit); err != nil {
		return err
	}
	ctx := r.Context()
	aq, flt, err := f.auditQuery(r)
	if err != nil {
		return err
	}
	d := &auditData{Base: r.Base("audit", "audit.title"), Filter: flt, Filtered: flt != (auditFilter{}), EventTypes: eventTypes(), query: r.URL.Query()}
	st, err := a.AuditState(ctx, r.User)
	if err != nil {
		return err
	}
	d.Size, d.Checkpoint, d.HasCheckpoint = st.Size, st.Checkpoint, st.HasCheckpoint
	tq, asc, err := trailPage(r, aq)
	if err != nil {
		return err
	}
	tq.Limit = auditPageSize
	entries, err := a.AuditEntries(ctx, r.User, tq)
	if err != nil {
		return err
	}
	if asc {
		slices.Reverse(entries)
	}
	d.Entries = redactEntries(entries, aq.Actor != "")
	if len(entries) > 0 {
		// Whether there is anything newer than the top entry, or older
		// than the bottom one, with the page's filters.
		newest, oldest := entries[0].Seq, entries[len(entries)-1].Seq
		nq := aq
		nq.After, nq.AfterSet, nq.Limit = newest, true, 1
		if more, err := a.AuditEntries(ctx, r.User, nq); err != nil {
			return err
		} else if len(more) > 0 {
			d.NewerURL = auditLink(r, "after", strconv.FormatUint(newest, 10))
			d.NewestURL = auditLink(r, "", "")
		}
		oq := aq
		oq.AfterSet, oq.Desc, oq.Before, oq.BeforeSet, oq.Limit = false, true, oldest, true, 1
		if more, err := a.AuditEntries(ctx, r.User, oq); err != nil {
			return err
		} else if len(more) > 0 {
			d.NextURL = auditLink(r, "before", strconv.FormatUint(oldest, 10))
		}
	}
	d.At = r.URL.Query().Get("at")
	if s := r.URL.Query().Get("seq"); s != "" {
		seq, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return page.BadParam("error.seq", s)
		}
		d.Proof, err = f.proof(r, seq)
		if err != nil {
			var bad *page.ParamError
			if !errors.As(err, &bad) {
				return err
			}
			d.ProofError = bad.Value
		}
	}
	d.Last = f.lastVerification(r)
	d.Position = f.site.Position(ctx, audit.Name)
	d.ExportCSV = strings.TrimSuffix(auditLink(r, "format", "csv", "/ekspor/audit"), "#jejak")
	d.ExportXLSX = strings.TrimSuffix(auditLink(r, "format", "xlsx", "/ekspor/audit"), "#jejak")
	return f.audit.Render(w, http.StatusOK, d)
}

// auditLink is the audit page (or path, when given) with the current
// filters and key set to value.
func auditLink(r *page.Request, key, value string, path ...string) string {
	q := r.URL.Query()
	out := map[string]string{}
	for _, k := range []string{"actor", "stream", "type", "from", "to"} {
		out[k] = q.Get(k)
	}
	p := "/audit"
	if len(path) > 0 {
		p = path[0]
	}
	out[key] = value
	return page.Link(p, "actor", out["actor"], "stream", out["stream"], "type", out["type"], "from", out["from"], "to", out["to"],
		"after", out["after"], "before", out["before"], "format", out["format"]) + "#jejak"
}

// proof builds the inclusion proof of entry seq (checked by the
// application layer), in the latest signed checkpoint's tree when that
// covers it, else in the tree as it is, with what the page's script needs
// to check it again in the browser.
func (f *Feature) proof(r *page.Request, seq uint64) (*proofView, error) {
	ctx, a := r.Context(), r.App()
	q := audit.Query{Limit: 1}
	if seq > 0 {
		q.After, q.AfterSet = seq-1, true
	}
	es, err := a.AuditEntries(ctx, r.User, q)
	if err != nil {
		return nil, err
	}
	if len(es) == 0 || es[0].Seq != seq {
		return nil, page.BadParam("error.seq", strconv.FormatUint(seq, 10))
	}
	pr, err := a.Proof(ctx, r.User, seq, nil)
	if errors.Is(err, domain.ErrValidation) {
		return nil, page.BadParam("error.seq", strconv.FormatUint(seq, 10))
	}
	if err != nil && !errors.Is(err, app.ErrBadProof) {
		return nil, err
	}
	p := &proofView{Entry: es[0], Index: seq, Size: pr.Size, Root: pr.Root, Path: pr.Path}
	if pr.Index != nil {
		p.Index = *pr.Index
	}
	if err != nil {
		// The stored tree gives a proof that does not verify: the page
		// says so (the cause is logged by nobody else; it names hashes).
		p.Problem = "the stored tree gives a proof that does not verify"
	}
	if data, err := leafData(p.Entry); err == nil {
		p.LeafData = hex.EncodeToString(data)
		p.LeafOK = merkle.LeafHash(data) == p.Entry.LeafHash
	}
	if skp.RedactedEvent(p.Entry.Type) {
		// The leaf encoding holds the giver's NIP: checked, not shown.
		p.LeafData = ""
		p.Entry = redactEntries([]audit.Entry{p.Entry}, false)[0]
	}
	hexes := make([]string, len(p.Path))
	for i, x := range p.Path {
		hexes[i] = x.String()
	}
	p.PathHex = strings.Join(hexes, " ")
	if p.Problem == "" {
		p.OK = p.LeafOK && pr.Leaf == p.Entry.LeafHash
		if !p.OK {
			p.Problem = "the entry's fields do not hash to its leaf hash"
		}
	}
	p.Signed = (pr.Checkpoint != nil && pr.Checkpoint.RootHash == p.Root) ||
		(pr.AgencyCheckpoint != nil && pr.AgencyCheckpoint.RootHash == p.Root)
	return p, nil
}

// leafData recomputes the leaf encoding of e (audit.LeafData of the event
// it records).
func leafData(e audit.Entry) ([]byte, error) {
	id, err := uuid.Parse(e.EventID)
	if err != nil {
		return nil, err
	}
	ev := eventstore.Event{Stream: e.Stream, Revision: e.Revision, Position: e.Position, RecordedAt: e.RecordedAt, Hash: e.EventHash}
	ev.ID = id
	ev.Type = e.Type
	ev.Actor = eventstore.Actor{ID: e.ActorID, Role: e.ActorRole}
	ev.OccurredAt = e.OccurredAt
	ev.Reason = e.Reason
	return audit.LeafData(e.Seq, ev), nil
}

// verifyNow runs the verifier ("Verifikasi sekarang"), which the
// application layer keeps as the last verification, and shows the audit
// page again.
func (f *Feature) verifyNow(w http.ResponseWriter, r *page.Request) error {
	if _, err := r.App().Verify(r.Context(), r.User); err != nil {
		return err
	}
	v, scope, err := r.App().LastVerificationFor(r.Context(), r.User)
	if err != nil {
		return err
	}
	if v != nil && f.records != nil {
		if err := f.records.Put(r.Context(), verifyKind, verifyRecordID(scope), v, v.At.Add(verifyKeep)); err != nil {
			return err
		}
	}
	http.Redirect(w, r.Request, "/audit#verifikasi", http.StatusSeeOther)
	return nil
}

// lastVerification is the deployment's last verification (Records), else
// this process's, else nil.
func (f *Feature) lastVerification(r *page.Request) *app.Verification {
	own, scope, err := r.App().LastVerificationFor(r.Context(), r.User)
	if err != nil {
		return nil
	}
	if f.records != nil {
		var v app.Verification
		if ok, err := f.records.GetRecord(r.Context(), verifyKind, verifyRecordID(scope), &v); err == nil && ok {
			return &v
		}
	}
	return own
}

// verifyRecordID is the Records ID of the last verification of an audit
// scope: the whole trail keeps the ID it always had; each agency's log
// has its own, so that one agency's auditor never sees another's (or the
// national) verification.
func verifyRecordID(scope string) string {
	if scope == "national" {
		return verifyID
	}
	return verifyID + ":" + scope
}

// maxAuditExport bounds the rows of an audit-trail export.
const maxAuditExport = 100_000

// export serves the trail (with the page's filters) as CSV or Excel.
func (f *Feature) export(w http.ResponseWriter, r *page.Request) error {
	format, err := r.ExportFormat()
	if err != nil {
		return err
	}
	if err := r.App().Authorize(r.User, authz.ReadAudit); err != nil {
		return err
	}
	aq, _, err := f.auditQuery(r)
	if err != nil {
		return err
	}
	var entries []audit.Entry
	aq.Limit = 1000
	for len(entries) < maxAuditExport {
		pg, err := r.App().AuditEntries(r.Context(), r.User, aq)
		if err != nil {
			return err
		}
		entries = append(entries, pg...)
		if len(pg) < aq.Limit {
			break
		}
		aq.After, aq.AfterSet = pg[len(pg)-1].Seq, true
	}
	return page.WriteTable(w, r, format, "audit", auditTable(redactEntries(entries, aq.Actor != "")))
}

// redactEntries hides the giver of every 360° answer (skp.RedactedEvent):
// the actor is shown as skp.RedactedActor, and a filter by actor
// (byActor) does not find the answer at all, which would tell the same.
// The giver is read only through a recorded disclosure
// (docs/feedback360.md).
func redactEntries(entries []audit.Entry, byActor bool) []audit.Entry {
	out := entries[:0:0]
	for _, e := range entries {
		if skp.RedactedEvent(e.Type) {
			if byActor {
				continue
			}
			e.ActorID, e.ActorRole = skp.RedactedActor, ""
		}
		out = append(out, e)
	}
	return out
}

// auditTable flattens trail entries, one row per entry.
func auditTable(entries []audit.Entry) reports.Table {
	t := reports.Table{Columns: []string{"seq", "position", "event_id", "stream", "revision", "type", "actor_id", "actor_role",
		"recorded_at", "occurred_at", "reason", "leaf_hash"}}
	for _, e := range entries {
		t.Rows = append(t.Rows, []string{strconv.FormatUint(e.Seq, 10), strconv.FormatUint(uint64(e.Position), 10), e.EventID, e.Stream,
			strconv.FormatUint(e.Revision, 10), e.Type, e.ActorID, e.ActorRole, e.RecordedAt.Format(time.RFC3339Nano),
			e.OccurredAt.Format(time.RFC3339Nano), e.Reason, e.LeafHash.String()})
	}
	return t
}
