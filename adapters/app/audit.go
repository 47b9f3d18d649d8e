package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/nip"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// # Who sees which audit log (issue 15)
//
// Each agency has its own audit log (projections/audit, agency.go). A
// caller's audit scope is one of
//
//   - national: the global trail, every entry, the national checkpoint
//     (which lists every agency's root and size): NATIONAL_AUDITOR, and an
//     AUDITOR whose token names no agency while the deployment has at most
//     one agency (today's behaviour);
//   - one agency's log: an AUDITOR whose token names the agency sees only
//     that log's entries, its agency checkpoints, proofs in its tree,
//     bundles of its employees and its verification. A NATIONAL_AUDITOR
//     picks an agency with ?agency=.
//
// An AUDITOR without the agency claim in a deployment of two or more
// agencies acts nowhere (403). What is outside the scope is not found with
// the body of what does not exist: another agency's entry is "audit entry
// N not found" as a missing N is, another agency's log "agency X not found"
// as an unknown X is, another agency's employee "employee N not found".

// AgencyRequest is the agency a caller asks for (?agency=), if any.
type AgencyRequest struct {
	Agency string
	Set    bool
}

// auditScope is the log a request reads: the global trail, or one agency's.
type auditScope struct {
	agency    string
	agencySet bool
}

func (s auditScope) String() string {
	if !s.agencySet {
		return "national"
	}
	return "agency:" + s.agency
}

// agencyReader is the audit reader's agency side, when it has one.
func (a *App) agencyReader() (audit.AgencyReader, bool) {
	r, ok := a.cfg.Audit.(audit.AgencyReader)
	return r, ok
}

// scope decides caller's audit scope for req.
func (a *App) scope(ctx context.Context, caller domain.Principal, req AgencyRequest) (auditScope, error) {
	ar, hasAgencies := a.agencyReader()
	exists := func(agency string) (bool, error) {
		if !hasAgencies {
			return false, nil
		}
		heads, err := ar.Agencies(ctx)
		if err != nil {
			return false, err
		}
		for _, h := range heads {
			if h.Agency == agency {
				return true, nil
			}
		}
		return false, nil
	}
	notFound := &domain.NotFoundError{Kind: "agency", ID: req.Agency}
	agencies := 0
	if caller.Agency == "" && hasAgencies {
		// Only a claimless token's reach depends on the count.
		heads, err := ar.Agencies(ctx)
		if err != nil {
			return auditScope{}, err
		}
		for _, h := range heads {
			if h.Agency != audit.NationalLog {
				agencies++
			}
		}
	}
	reach, err := authz.DecideAuditReach(caller, agencies)
	if err != nil {
		return auditScope{}, err
	}
	if !reach.Any {
		if req.Set && req.Agency != reach.Agency {
			return auditScope{}, notFound
		}
		return auditScope{agency: reach.Agency, agencySet: true}, nil
	}
	if !req.Set {
		return auditScope{}, nil
	}
	ok, err := exists(req.Agency)
	if err != nil {
		return auditScope{}, err
	}
	if !ok {
		return auditScope{}, notFound
	}
	return auditScope{agency: req.Agency, agencySet: true}, nil
}

// AuditEntries returns the audit trail's entries matching q, for auditors:
// an agency auditor's only from their agency's log (q.Agency, with
// q.AgencySet, picks an agency for a national auditor).
func (a *App) AuditEntries(ctx context.Context, caller domain.Principal, q audit.Query) ([]audit.Entry, error) {
	sc, err := a.scope(ctx, caller, AgencyRequest{q.Agency, q.AgencySet})
	if err != nil {
		return nil, err
	}
	q.Agency, q.AgencySet = sc.agency, sc.agencySet
	return a.cfg.Audit.Entries(ctx, q)
}

// AuditState is the size and latest signed checkpoint of the log a caller
// sees: the global trail, or one agency's log.
type AuditState struct {
	// Size is the number of entries.
	Size uint64
	// Checkpoint is the latest signed checkpoint, when HasCheckpoint (an
	// agency's: its agency checkpoint, in the same form).
	Checkpoint    audit.Checkpoint
	HasCheckpoint bool
	// Agency is the agency log, when the state is one agency's.
	Agency *string
	// AgencyCheckpoint is the latest agency checkpoint as signed.
	AgencyCheckpoint *audit.AgencyCheckpoint
}

// AuditState returns the state of the log caller sees.
func (a *App) AuditState(ctx context.Context, caller domain.Principal) (AuditState, error) {
	return a.AuditStateOf(ctx, caller, AgencyRequest{})
}

// AuditStateOf returns the state of the log caller sees, or of the agency
// req names.
func (a *App) AuditStateOf(ctx context.Context, caller domain.Principal, req AgencyRequest) (AuditState, error) {
	sc, err := a.scope(ctx, caller, req)
	if err != nil {
		return AuditState{}, err
	}
	return a.state(ctx, sc)
}

func (a *App) state(ctx context.Context, sc auditScope) (AuditState, error) {
	var st AuditState
	var err error
	if !sc.agencySet {
		if st.Size, err = a.cfg.Audit.Size(ctx); err != nil {
			return st, err
		}
		st.Checkpoint, st.HasCheckpoint, err = a.cfg.Audit.LatestCheckpoint(ctx)
		return st, err
	}
	ar, ok := a.agencyReader()
	agency := sc.agency
	st.Agency = &agency
	if !ok {
		return st, nil
	}
	if st.Size, err = ar.AgencySize(ctx, agency); err != nil {
		return st, err
	}
	ac, ok, err := ar.LatestAgencyCheckpoint(ctx, agency)
	if err != nil || !ok {
		return st, err
	}
	st.HasCheckpoint, st.AgencyCheckpoint = true, &ac
	st.Checkpoint = audit.Checkpoint{Size: ac.Size, RootHash: ac.RootHash, SignedAt: ac.SignedAt, KeyID: ac.KeyID,
		Signature: ac.Signature, Origin: ac.Origin, Note: ac.Note, Position: ac.Position}
	return st, nil
}

// Proof is the inclusion proof of one entry, checked.
type Proof struct {
	// Seq is the entry; Size the tree the proof is for.
	Seq, Size uint64
	// Leaf is the entry's leaf hash; Root the tree's root; Path the audit
	// path from leaf to root (RFC 9162).
	Leaf, Root merkle.Hash
	Path       []merkle.Hash
	// Checkpoint is the signed checkpoint of Size, when it is the latest
	// checkpoint's size.
	Checkpoint *audit.Checkpoint
	// Agency and Index, for a proof in an agency's log: the log, and the
	// entry's index in it (the leaf index of the proof; Size is then the
	// agency log's size). AgencyCheckpoint is the agency checkpoint of
	// Size, when it is the latest.
	Agency           *string
	Index            *uint64
	AgencyCheckpoint *audit.AgencyCheckpoint
}

// Proof returns the inclusion proof of entry seq in the tree of size
// leaves, for auditors; a nil size means the latest signed checkpoint's
// tree when it covers seq, else the tree as it is. For an agency auditor
// the proof is in their agency's tree (size is that tree's). Errors: a
// *ValidationError naming seq or size; not found for an entry outside the
// caller's agency; ErrBadProof (wrapped, with the proof) when the stored
// tree gives a proof that does not verify.
func (a *App) Proof(ctx context.Context, caller domain.Principal, seq uint64, sizeOpt *uint64) (Proof, error) {
	return a.ProofOf(ctx, caller, AgencyRequest{}, seq, sizeOpt)
}

// ProofOf is Proof in the log of the agency req names (for a national
// auditor; an agency auditor's is always their agency's).
func (a *App) ProofOf(ctx context.Context, caller domain.Principal, req AgencyRequest, seq uint64, sizeOpt *uint64) (Proof, error) {
	sc, err := a.scope(ctx, caller, req)
	if err != nil {
		return Proof{}, err
	}
	st, err := a.state(ctx, sc)
	if err != nil {
		return Proof{}, err
	}
	nodes := merkle.NodeReader(a.cfg.Audit)
	index := seq
	var p Proof
	if sc.agencySet {
		ar, ok := a.agencyReader()
		missing := &domain.NotFoundError{Kind: "audit entry", ID: fmt.Sprint(seq)}
		if !ok {
			return Proof{}, missing
		}
		e, ok, err := ar.AgencyOfSeq(ctx, seq)
		if err != nil {
			return Proof{}, err
		}
		if !ok || e.Agency != sc.agency {
			return Proof{}, missing // another agency's, or none: the same answer
		}
		index, nodes = e.Index, ar.AgencyNodes(sc.agency)
		p.Agency, p.Index = st.Agency, &index
	}
	var size uint64
	if sizeOpt != nil {
		size = *sizeOpt
	} else {
		size = st.Size
		if st.HasCheckpoint && index < st.Checkpoint.Size && st.Checkpoint.Size <= st.Size {
			size = st.Checkpoint.Size
		}
	}
	var v domain.ValidationError
	if size > st.Size {
		v.Add("size", "the trail has %d entries", st.Size)
	}
	if index >= size {
		v.Add("seq", "must be below the tree size %d", size)
	}
	if err := v.Err(); err != nil {
		return Proof{}, err
	}
	p.Seq, p.Size = seq, size
	if p.Path, err = merkle.InclusionProof(ctx, nodes, index, size); err != nil {
		return Proof{}, err
	}
	if p.Root, err = merkle.RootAt(ctx, nodes, size); err != nil {
		return Proof{}, err
	}
	if p.Leaf, err = nodes.Node(ctx, 0, index); err != nil {
		return Proof{}, err
	}
	if err := merkle.VerifyInclusion(p.Leaf, index, size, p.Path, p.Root); err != nil {
		// The proof is returned with the error: an auditor's page shows
		// what was found.
		return p, fmt.Errorf("%w: %w", ErrBadProof, err)
	}
	if p.Path == nil {
		p.Path = []merkle.Hash{}
	}
	if st.HasCheckpoint && st.Checkpoint.Size == size {
		if sc.agencySet {
			p.AgencyCheckpoint = st.AgencyCheckpoint
		} else {
			cp := st.Checkpoint
			p.Checkpoint = &cp
		}
	}
	return p, nil
}

// ErrBadProof says that the stored tree gives an inclusion proof that does
// not verify: the trail is damaged (an internal error to the API).
var ErrBadProof = errors.New("audit: the stored tree gives a proof that does not verify")

// Verification is one run of the verifier on request.
type Verification struct {
	// At is when it ran; By who asked.
	At time.Time
	By string
	// Report is what it found.
	Report audit.Report
}

// AgencyVerifier is implemented by a Verifier that can verify one agency's
// log on its own.
type AgencyVerifier interface {
	VerifyAgency(ctx context.Context, agency string) (audit.Report, error)
}

// Verify recomputes the log caller sees from the event store and checks it
// against the stored tree and signed checkpoints, for auditors (an agency
// auditor's: their agency's log alone), and keeps the result as the last
// verification of this process for that log.
func (a *App) Verify(ctx context.Context, caller domain.Principal) (audit.Report, error) {
	return a.VerifyOf(ctx, caller, AgencyRequest{})
}

// VerifyOf is Verify of the agency req names (for a national auditor).
func (a *App) VerifyOf(ctx context.Context, caller domain.Principal, req AgencyRequest) (audit.Report, error) {
	sc, err := a.scope(ctx, caller, req)
	if err != nil {
		return audit.Report{}, err
	}
	var rep audit.Report
	if sc.agencySet {
		av, ok := a.cfg.Verifier.(AgencyVerifier)
		if !ok {
			return audit.Report{}, &domain.NotFoundError{Kind: "agency", ID: sc.agency}
		}
		rep, err = av.VerifyAgency(ctx, sc.agency)
	} else {
		rep, err = a.cfg.Verifier.Verify(ctx)
	}
	if err != nil {
		return rep, err
	}
	if rep.Problems == nil {
		rep.Problems = []audit.Problem{}
	}
	a.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "audit_verified", slog.Bool("ok", rep.OK), slog.String("scope", sc.String()),
		slog.Uint64("size", rep.Size), slog.Int("problems", len(rep.Problems)))
	a.verifyMu.Lock()
	if a.lastVerifyOf == nil {
		a.lastVerifyOf = map[string]*Verification{}
	}
	v := &Verification{At: a.cfg.Now(), By: caller.ID, Report: rep}
	a.lastVerifyOf[sc.String()] = v
	if !sc.agencySet {
		a.lastVerify = v
	}
	a.verifyMu.Unlock()
	return rep, nil
}

// LastVerification returns the last verification of the whole trail this
// process ran, or nil.
func (a *App) LastVerification() *Verification {
	a.verifyMu.Lock()
	defer a.verifyMu.Unlock()
	if a.lastVerify == nil {
		return nil
	}
	v := *a.lastVerify
	return &v
}

// LastVerificationFor returns the last verification this process ran of
// the log caller sees, with the scope's key (for a page's record of it),
// or nil.
func (a *App) LastVerificationFor(ctx context.Context, caller domain.Principal) (*Verification, string, error) {
	sc, err := a.scope(ctx, caller, AgencyRequest{})
	if err != nil {
		return nil, "", err
	}
	a.verifyMu.Lock()
	defer a.verifyMu.Unlock()
	if v := a.lastVerifyOf[sc.String()]; v != nil {
		c := *v
		return &c, sc.String(), nil
	}
	return nil, sc.String(), nil
}

// Bundle exports the appeal bundle of an employee's year, for auditors:
// the employee's stream and every SKP of the year, each event with its
// inclusion proof against the latest signed checkpoint (as `kinerjactl
// export` does on the store). For an agency auditor the employee must be
// in their agency now, and the proofs are in the agency's log against its
// agency checkpoint (an event of the employee's time in another agency is
// in the bundle, unproven). Errors: a *ValidationError naming nip or year;
// not found for an employee with no events (or of another agency) or when
// no checkpoint is signed yet.
func (a *App) Bundle(ctx context.Context, caller domain.Principal, nipText string, year int) (audit.Bundle, error) {
	return a.BundleOf(ctx, caller, AgencyRequest{}, nipText, year)
}

// BundleOf is Bundle with the agency req names (for a national auditor).
func (a *App) BundleOf(ctx context.Context, caller domain.Principal, req AgencyRequest, nipText string, year int) (audit.Bundle, error) {
	sc, err := a.scope(ctx, caller, req)
	if err != nil {
		return audit.Bundle{}, err
	}
	var v domain.ValidationError
	id, err := nip.Parse(nipText)
	if err != nil {
		v.Add("nip", "%v", err)
	}
	if year < 2000 || year > 2100 {
		v.Add("year", "must be a year from 2000 to 2100")
	}
	if err := v.Err(); err != nil {
		return audit.Bundle{}, err
	}
	digits := string(id.NIP)
	missing := &domain.NotFoundError{Kind: "employee", ID: digits}
	exists := false
	for _, err := range a.cfg.Store.ReadStream(ctx, domain.EmployeeStream(digits), eventstore.ReadStreamOptions{Limit: 1}) {
		if err != nil && !errors.Is(err, eventstore.ErrStreamNotFound) {
			return audit.Bundle{}, err
		}
		exists = err == nil
		break
	}
	if !exists {
		return audit.Bundle{}, missing
	}
	streams, err := AppealStreams(ctx, a.cfg.Store, digits, year)
	if err != nil {
		return audit.Bundle{}, err
	}
	subject := fmt.Sprintf("NIP %s, year %d", digits, year)
	if !sc.agencySet {
		cp, ok, err := a.cfg.Audit.LatestCheckpoint(ctx)
		if err != nil {
			return audit.Bundle{}, err
		}
		if !ok {
			return audit.Bundle{}, &domain.NotFoundError{Kind: "checkpoint", ID: "latest"}
		}
		return audit.BuildBundle(ctx, a.cfg.Store, a.cfg.Audit, cp, a.cfg.AuditKey, subject, streams, a.cfg.Now())
	}
	ar, ok := a.agencyReader()
	if !ok {
		return audit.Bundle{}, missing
	}
	// An agency's auditor bundles an employee whose stream has an event in
	// the agency's log (the agency of an event is that of the log, from
	// the recorded event: a transfer belongs to the destination from the
	// moment it is recorded, whatever its effective date). The source
	// agency keeps its part of the person's history, the destination sees
	// from the transfer on; the bundle holds only what the agency's log
	// holds (audit.BuildAgencyBundle).
	in := false
	q := audit.Query{Stream: domain.EmployeeStream(digits), Limit: 1000}
	for !in {
		page, err := a.cfg.Audit.Entries(ctx, q)
		if err != nil {
			return audit.Bundle{}, err
		}
		for _, en := range page {
			e, ok, err := ar.AgencyOfSeq(ctx, en.Seq)
			if err != nil {
				return audit.Bundle{}, err
			}
			if ok && e.Agency == sc.agency {
				in = true
				break
			}
		}
		if len(page) < q.Limit {
			break
		}
		q.After, q.AfterSet = page[len(page)-1].Seq, true
	}
	if !in {
		return audit.Bundle{}, missing
	}
	ac, ok, err := ar.LatestAgencyCheckpoint(ctx, sc.agency)
	if err != nil {
		return audit.Bundle{}, err
	}
	if !ok {
		return audit.Bundle{}, &domain.NotFoundError{Kind: "checkpoint", ID: "latest"}
	}
	return audit.BuildAgencyBundle(ctx, a.cfg.Store, a.cfg.Audit, ar, ac, a.cfg.AuditKey, subject, streams, a.cfg.Now())
}

// AuthorizeAudit returns the refusal of a caller who may read no audit log
// (neither AUDITOR nor NATIONAL_AUDITOR), or nil. Which log an auditor
// reads is decided by each audit method.
func (a *App) AuthorizeAudit(caller domain.Principal) error {
	_, err := authz.DecideAuditReach(caller, 1)
	return err
}
