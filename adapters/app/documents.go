package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/app/document"
	"github.com/kinerja-ledger/kinerja/adapters/internal/idfmt"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// ErrNoDocumentKey: the service has no audit key to sign documents with.
var ErrNoDocumentKey = errors.New("app: no audit key for printed documents")

// SKPDocument prints SKP id, as it is now, for caller (who must be allowed
// to read it): the SKP with its Lampiran when per is "", else the Dokumen
// Evaluasi Kinerja Pegawai of period per. base is the service's address as
// the caller reached it, used when no PublicURL is configured. Errors: not
// found (the SKP, not visible, or the period never rated), invalid (a
// malformed period).
func (a *App) SKPDocument(ctx context.Context, caller domain.Principal, id, per, base string) (document.Document, error) {
	if per != "" {
		if len(per) > 20 {
			return document.Document{}, domain.Invalid("period", "too long")
		}
		if _, err := period.Parse(per); err != nil {
			return document.Document{}, domain.Invalid("period", "must be like 2026, 2026-Q1 or 2026-01")
		}
	}
	p, err := a.PrepareSKP(ctx, caller, id, skp.AsOf{})
	if err != nil {
		return document.Document{}, err
	}
	v := p.View()
	if per != "" && !hasPeriod(v, per) {
		return document.Document{}, &domain.NotFoundError{Kind: "evaluation", ID: id + "/" + per}
	}
	if a.cfg.DocumentKey == nil {
		return document.Document{}, ErrNoDocumentKey
	}
	ev, err := a.skpEvent(ctx, id, v.Revision)
	if err != nil {
		return document.Document{}, err
	}
	in := document.Input{View: v, Period: per, Names: map[string]string{}, Titles: map[string]string{}, UnitOf: map[string]string{}, Units: map[string]string{},
		Position: uint64(ev.Position), ChainHash: ev.Hash, PrintedAt: a.cfg.Now(), Loc: a.cfg.Policy.Location,
		VerifyURL: a.verifyBase(base) + "/verify/"}
	nips := []string{v.AppraiserNIP, v.NIP, v.AppraiserSuperiorNIP}
	for _, e := range v.Evaluations {
		if e.Period == per && e.AppraiserNIP != "" {
			nips = append(nips, e.AppraiserNIP)
		}
	}
	for _, nip := range nips {
		if nip == "" {
			continue
		}
		if e, err := a.cfg.Directory.Employee(ctx, nip); err == nil {
			in.Names[nip], in.Titles[nip], in.UnitOf[nip] = e.Name, e.PositionTitle, e.UnitID
		}
	}
	for _, id := range append([]string{v.Employee.UnitID}, in.UnitOf[v.AppraiserNIP]) {
		if u, err := a.cfg.Directory.Unit(ctx, id); err == nil {
			in.Units[u.ID] = u.Name
			if id == v.Employee.UnitID {
				in.OrgPredikat = u.Performance[per]
			}
		}
	}
	// The document's times in the zone of the unit the employee is in
	// (WIB, WITA or WIT), as the dashboard shows the SKP (issue 13); the
	// text of each time names it.
	zoneUnit := in.UnitOf[v.NIP]
	if zoneUnit == "" {
		zoneUnit = v.Employee.UnitID
	}
	if u, err := a.cfg.Directory.Unit(ctx, zoneUnit); err == nil && u.Zone != "" {
		if loc, ok := idfmt.Zone(u.Zone); ok {
			in.Loc = loc
		}
	}
	if cp, ok, err := a.cfg.Audit.LatestCheckpoint(ctx); err != nil {
		return document.Document{}, err
	} else if ok {
		in.Checkpoint = &document.Checkpoint{Size: cp.Size, RootHash: cp.RootHash.String(), SignedAt: cp.SignedAt, KeyID: cp.KeyID}
	}
	return document.Render(in, a.cfg.DocumentKey)
}

func hasPeriod(v skp.View, per string) bool {
	for _, e := range v.Evaluations {
		if e.Period == per {
			return true
		}
	}
	return false
}

// verifyBase is the address verification URLs start with.
func (a *App) verifyBase(base string) string {
	if a.cfg.PublicURL != "" {
		base = a.cfg.PublicURL
	}
	return strings.TrimRight(base, "/")
}

// skpEvent reads the event at revision rev of SKP id's stream.
func (a *App) skpEvent(ctx context.Context, id string, rev uint64) (eventstore.Event, error) {
	for ev, err := range a.cfg.Store.ReadStream(ctx, domain.SKPStream(id), eventstore.ReadStreamOptions{From: rev, Limit: 1}) {
		if err != nil {
			return eventstore.Event{}, err
		}
		return ev, nil
	}
	return eventstore.Event{}, fmt.Errorf("app: SKP %s has no revision %d", id, rev)
}

// DocumentChange is an event recorded on the SKP after the printed
// revision: its revision, type and recording time, nothing personal.
type DocumentChange struct {
	Revision   uint64    `json:"revision"`
	Type       string    `json:"type"`
	RecordedAt time.Time `json:"recorded_at"`
}

// DocumentCheck is what the ledger says about a printed document's code.
type DocumentCheck struct {
	// Code is what the code says.
	Code document.Code `json:"-"`
	// Kind is "skp" or "evaluation"; SKPID, Period, Revision, Position and
	// PrintedAt repeat the code (all printed on the paper).
	Kind      string    `json:"kind"`
	SKPID     string    `json:"skp_id"`
	Period    string    `json:"period,omitempty"`
	Revision  uint64    `json:"revision"`
	Position  uint64    `json:"position"`
	PrintedAt time.Time `json:"printed_at"`
	KeyID     string    `json:"key_id"`
	// Matches is true when the ledger still holds the printed revision at
	// the printed position with the printed chain hash.
	Matches bool `json:"matches"`
	// CurrentRevision is the SKP's revision now; Changes the events since
	// the printed revision (at most MaxDocumentChanges, the newest last),
	// ChangesTotal how many there are.
	CurrentRevision uint64           `json:"current_revision"`
	Changes         []DocumentChange `json:"changes"`
	ChangesTotal    int              `json:"changes_total"`
}

// MaxDocumentChanges bounds the changes a check lists.
const MaxDocumentChanges = 50

// ErrBadDocumentCode: a verification code that is malformed, or not
// signed by a trusted key; every such code is answered alike.
var ErrBadDocumentCode = &domain.NotFoundError{Kind: "document", ID: ""}

// VerifyDocument checks a printed document's code against the ledger. It
// needs no caller: the code is signed by the audit key, and the answer
// holds only what the paper itself shows (the SKP ID, revision, position
// and printing time) and the types and times of later events.
func (a *App) VerifyDocument(ctx context.Context, code string) (DocumentCheck, error) {
	keys := append([]*merkle.Verifier(nil), a.cfg.DocumentKeys...)
	if a.cfg.DocumentKey != nil {
		keys = append(keys, a.cfg.DocumentKey.Verifier())
	}
	c, err := document.Open(code, keys...)
	if err != nil {
		return DocumentCheck{}, ErrBadDocumentCode
	}
	out := DocumentCheck{Code: c, Kind: "skp", SKPID: c.SKPID, Period: c.Period, Revision: c.Revision, Position: c.Position,
		PrintedAt: c.PrintedAt, KeyID: fmt.Sprintf("%08x", c.KeyID), Changes: []DocumentChange{}}
	if c.Kind == document.KindEvaluation {
		out.Kind = "evaluation"
	}
	const maxRead = 100_000
	n := 0
	for ev, err := range a.cfg.Store.ReadStream(ctx, domain.SKPStream(c.SKPID), eventstore.ReadStreamOptions{From: c.Revision, Limit: maxRead}) {
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			break
		}
		if err != nil {
			return DocumentCheck{}, err
		}
		n++
		out.CurrentRevision = ev.Revision
		if n == 1 {
			out.Matches = ev.Revision == c.Revision && uint64(ev.Position) == c.Position && bytes.Equal(ev.Hash[:document.HashSize], c.ChainHash[:])
			continue
		}
		out.ChangesTotal++
		out.Changes = append(out.Changes, DocumentChange{Revision: ev.Revision, Type: ev.Type, RecordedAt: ev.RecordedAt})
		if len(out.Changes) > MaxDocumentChanges {
			out.Changes = out.Changes[1:]
		}
	}
	return out, nil
}
