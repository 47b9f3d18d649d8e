package web

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// auditPageSize is the number of trail entries a page shows.
const auditPageSize = 50

// auditFilter is the audit page's filter form, as typed.
type auditFilter struct {
	Actor, Stream, Type, From, To string
}

// auditQuery reads the filters (?actor=, ?stream=, ?type=, ?from=, ?to=
// as local date-times or RFC 3339, ?after=) into a query.
func (h *Handler) auditQuery(r *http.Request) (audit.Query, auditFilter, error) {
	q := r.URL.Query()
	f := auditFilter{Actor: strings.TrimSpace(q.Get("actor")), Stream: strings.TrimSpace(q.Get("stream")),
		Type: strings.TrimSpace(q.Get("type")), From: q.Get("from"), To: q.Get("to")}
	aq := audit.Query{Actor: f.Actor, Stream: f.Stream, Type: f.Type, Limit: auditPageSize}
	for _, s := range []string{f.Actor, f.Stream, f.Type} {
		if len(s) > 200 {
			return aq, f, &badRequest{key: "error.filter", detail: s[:20] + "…"}
		}
	}
	if f.From != "" {
		start, _, err := h.parseLocal(f.From)
		if err != nil {
			return aq, f, err
		}
		aq.From = start
	}
	if f.To != "" {
		start, span, err := h.parseLocal(f.To)
		if err != nil {
			return aq, f, err
		}
		aq.To = start.Add(span) // exclusive: the whole minute (or day) typed is in
	}
	if a := q.Get("after"); a != "" {
		n, err := strconv.ParseUint(a, 10, 64)
		if err != nil {
			return aq, f, &badRequest{key: "error.after", detail: a}
		}
		aq.After, aq.AfterSet = n, true
	}
	return aq, f, nil
}

// auditData is the audit page's model.
type auditData struct {
	Filter        auditFilter
	Entries       []audit.Entry
	NextURL       string
	Filtered      bool
	Size          uint64
	Checkpoint    audit.Checkpoint
	HasCheckpoint bool
	Last          *verification
	Proof         *proofView
	ProofError    string
	Position      int64
	ExportCSV     string
	ExportXLSX    string
}

// proofView is the inclusion proof of one entry, checked on the server,
// with what the page's script needs to check it again in the browser.
type proofView struct {
	Entry audit.Entry
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
func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request, req *request) error {
	if err := auditAccess(req.user); err != nil {
		return err
	}
	ctx := r.Context()
	aq, f, err := h.auditQuery(r)
	if err != nil {
		return err
	}
	d := auditData{Filter: f, Filtered: f != (auditFilter{})}
	if d.Size, err = h.cfg.Audit.Size(ctx); err != nil {
		return err
	}
	if d.Checkpoint, d.HasCheckpoint, err = h.cfg.Audit.LatestCheckpoint(ctx); err != nil {
		return err
	}
	aq.Limit = auditPageSize + 1
	entries, err := h.cfg.Audit.Entries(ctx, aq)
	if err != nil {
		return err
	}
	if len(entries) > auditPageSize {
		entries = entries[:auditPageSize]
		d.NextURL = h.auditLink(r, "after", strconv.FormatUint(entries[auditPageSize-1].Seq, 10))
	}
	d.Entries = entries
	if s := r.URL.Query().Get("seq"); s != "" {
		seq, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return &badRequest{key: "error.seq", detail: s}
		}
		d.Proof, err = h.proof(ctx, seq, d.Size, d.Checkpoint, d.HasCheckpoint)
		if err != nil {
			var bad *badRequest
			if !errors.As(err, &bad) {
				return err
			}
			d.ProofError = bad.detail
		}
	}
	h.verify.mu.Lock()
	if h.verify.last != nil {
		v := *h.verify.last
		d.Last = &v
	}
	h.verify.mu.Unlock()
	d.Position = h.projectionPosition(ctx, audit.Name)
	d.ExportCSV = h.auditLink(r, "format", "csv", "/ekspor/audit")
	d.ExportXLSX = h.auditLink(r, "format", "xlsx", "/ekspor/audit")
	return h.render(w, r, req, http.StatusOK, "audit", "audit.title", d)
}

// auditLink is the audit page (or path, when given) with the current
// filters and key set to value.
func (h *Handler) auditLink(r *http.Request, key, value string, path ...string) string {
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
	return link(p, "actor", out["actor"], "stream", out["stream"], "type", out["type"], "from", out["from"], "to", out["to"],
		"after", out["after"], "format", out["format"])
}

// proof builds and checks the inclusion proof of entry seq: in the latest
// signed checkpoint's tree when that covers it, else in the tree as it is.
func (h *Handler) proof(ctx context.Context, seq, size uint64, cp audit.Checkpoint, hasCP bool) (*proofView, error) {
	if hasCP && seq < cp.Size && cp.Size <= size {
		size = cp.Size
	}
	if seq >= size {
		return nil, &badRequest{key: "error.seq", detail: strconv.FormatUint(seq, 10)}
	}
	q := audit.Query{Limit: 1}
	if seq > 0 {
		q.After, q.AfterSet = seq-1, true
	}
	es, err := h.cfg.Audit.Entries(ctx, q)
	if err != nil {
		return nil, err
	}
	if len(es) == 0 || es[0].Seq != seq {
		return nil, &badRequest{key: "error.seq", detail: strconv.FormatUint(seq, 10)}
	}
	p := &proofView{Entry: es[0], Size: size}
	if p.Path, err = merkle.InclusionProof(ctx, h.cfg.Audit, seq, size); err != nil {
		return nil, err
	}
	if p.Root, err = merkle.RootAt(ctx, h.cfg.Audit, size); err != nil {
		return nil, err
	}
	if data, err := leafData(p.Entry); err == nil {
		p.LeafData = hex.EncodeToString(data)
		p.LeafOK = merkle.LeafHash(data) == p.Entry.LeafHash
	}
	hexes := make([]string, len(p.Path))
	for i, x := range p.Path {
		hexes[i] = x.String()
	}
	p.PathHex = strings.Join(hexes, " ")
	if err := merkle.VerifyInclusion(p.Entry.LeafHash, seq, size, p.Path, p.Root); err != nil {
		p.Problem = err.Error()
	} else {
		p.OK = p.LeafOK
		if !p.LeafOK {
			p.Problem = "the entry's fields do not hash to its leaf hash"
		}
	}
	p.Signed = hasCP && cp.Size == size && cp.RootHash == p.Root
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

// verifyNow runs the Verifier ("Verifikasi sekarang"), keeps its report as
// the last verification, and shows the audit page again.
func (h *Handler) verifyNow(w http.ResponseWriter, r *http.Request, req *request) error {
	if err := auditAccess(req.user); err != nil {
		return err
	}
	rep, err := h.cfg.Verifier.Verify(r.Context())
	if err != nil {
		return err
	}
	h.cfg.Logger.LogAttrs(r.Context(), slog.LevelInfo, "web_audit_verified", slog.Bool("ok", rep.OK),
		slog.Uint64("size", rep.Size), slog.Int("problems", len(rep.Problems)))
	h.verify.mu.Lock()
	h.verify.last = &verification{At: h.cfg.Now(), By: req.user.ID, Report: rep}
	h.verify.mu.Unlock()
	http.Redirect(w, r, "/audit#verifikasi", http.StatusSeeOther)
	return nil
}

// parseLocal reads a filter time: RFC 3339 (span 0), or a local date-time
// or date in the policy's zone, with the span it names (a second, a
// minute, a day).
func (h *Handler) parseLocal(s string) (time.Time, time.Duration, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, strings.ReplaceAll(s, " ", "+")); err == nil {
		return t, 0, nil
	}
	loc := h.cfg.Policy.Location
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
		if t, err := time.ParseInLocation(f.layout, s, loc); err == nil {
			return t, f.span, nil
		}
	}
	return time.Time{}, 0, &badRequest{key: "error.time", detail: s}
}
