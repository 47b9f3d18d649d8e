package skp

import (
	"context"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/nip"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/policy"
)

// Service handles the commands and queries of SKPs, their evaluations and
// objections. Each command writes exactly one stream, skp-{id}; it reads
// other streams (the employee's reporting line in effect, the appraiser's
// SKP for the cascading link, the unit's predikat) only to decide.
type Service struct {
	// Handler runs commands against the event log.
	Handler *domain.Handler
	// Policy is the configuration of the rules.
	Policy policy.Policy
	// Reads, when set, keeps replayed SKPs for reads (Load, Read, Prepare,
	// Authorize). The SKPs those return are then shared: treat them as
	// read-only (never Apply to them).
	Reads *ReadCache
	// Carry, when set, keeps the state each command on an SKP decided on
	// for the next command on it, which then applies only the newer events
	// instead of replaying the stream (see Carry). Nil replays.
	Carry *Carry
	// Distribution, when set, is asked before an evaluation is issued
	// (BLOCK mode of the distribution pattern; the application layer
	// counts the population over its read models). Nil checks nothing.
	Distribution distribution.IssueGate
}

// lookups loads and caches read-only streams for one decision.
type lookups struct {
	ctx   context.Context
	s     *Service
	emps  map[string]*employee.Employee
	units map[string]*orgunit.Unit
}

func (s *Service) lookups(ctx context.Context) *lookups {
	return &lookups{ctx: ctx, s: s, emps: map[string]*employee.Employee{}, units: map[string]*orgunit.Unit{}}
}

func (l *lookups) employee(n string) (*employee.Employee, error) {
	if e, ok := l.emps[n]; ok {
		return e, nil
	}
	st, err := l.s.Handler.Load(l.ctx, domain.EmployeeStream(n))
	if err != nil {
		return nil, err
	}
	e := l.s.Carry.employee(n, st.Events)
	l.emps[n] = e
	return e, nil
}

func (l *lookups) unit(id string) (*orgunit.Unit, error) {
	if u, ok := l.units[id]; ok {
		return u, nil
	}
	if !orgunit.ValidID(id) {
		return nil, nil
	}
	st, err := l.s.Handler.Load(l.ctx, domain.UnitStream(id))
	if err != nil {
		return nil, err
	}
	u := orgunit.Replay(st.Events)
	l.units[id] = u
	return u, nil
}

// lineOn returns the reporting line of employee n on day d.
func (l *lookups) lineOn(n string, d calendar.Date) (employee.Line, bool, error) {
	e, err := l.employee(n)
	if err != nil || e == nil {
		return employee.Line{}, false, err
	}
	ln, ok := e.LineOn(d)
	return ln, ok, nil
}

// subject describes sk for authorisation on day d, for caller.
func (l *lookups) subject(sk *SKP, d calendar.Date, principal domain.Principal) (authz.Subject, error) {
	caller := principal.ID
	s := authz.Subject{Employee: sk.nip, Involved: sk.Involved(), FeedbackGivers: sk.giverNIPs()}
	e, err := l.employee(sk.nip)
	if err != nil {
		return s, err
	}
	if principal.Agency != "" {
		// An SKP belongs to the agency that drafted it (the unit in its
		// snapshot); as history follows the person, the agency of its
		// employee today reads it too, and writes nothing on it.
		if s.Agencies, err = orgunit.Agencies(l.ctx, l.s.Handler, sk.employee.UnitID); err != nil {
			return s, err
		}
		if e != nil {
			if s.ReadAgencies, err = orgunit.Agencies(l.ctx, l.s.Handler, e.UnitOn(l.s.Policy.Date(l.s.Handler.Now()))); err != nil {
				return s, err
			}
		}
	}
	if e != nil {
		if ln, ok := e.LineOn(d); ok {
			s.Appraiser, s.Superior = ln.Appraiser, ln.Superior
		}
		s.EmployeeUnit = e.UnitOn(d)
	}
	if info, err := nip.Parse(caller); err == nil && string(info.NIP) == caller && caller != sk.nip {
		c, err := l.employee(caller)
		if err != nil {
			return s, err
		}
		if c != nil {
			s.CallerUnit = c.UnitOn(d)
		}
	}
	return s, nil
}

func (s *Service) options() authz.Options {
	return authz.Options{HRAdminMayDraft: s.Policy.HRAdminMayDraft}
}

// authorize decides action for req's caller on sk, after adjust (for
// objection actions) changes the subject. Authority is checked on both
// dates (domain.md §10): the caller must have held the right on the
// business date (the request's occurred_at) and still hold it on the day
// of recording, so that a date cannot buy back a right that has moved on.
// The role returned is the one of the business date.
func (l *lookups) authorize(req domain.Request, sk *SKP, a authz.Action, adjust func(*authz.Subject)) (domain.Role, error) {
	role, err := l.authorizeOn(req.Caller, sk, a, l.s.Policy.Date(req.OccurredAt), adjust)
	if err != nil {
		return "", err
	}
	if today := l.s.Policy.Date(l.s.Handler.Now()); today != l.s.Policy.Date(req.OccurredAt) {
		if _, err := l.authorizeOn(req.Caller, sk, a, today, adjust); err != nil {
			return "", err
		}
	}
	return role, nil
}

// authorizeOn decides action for caller on sk on day d.
func (l *lookups) authorizeOn(caller domain.Principal, sk *SKP, a authz.Action, d calendar.Date, adjust func(*authz.Subject)) (domain.Role, error) {
	subj, err := l.subject(sk, d, caller)
	if err != nil {
		return "", err
	}
	if adjust != nil {
		adjust(&subj)
	}
	return authz.Decide(caller, a, subj, l.s.options())
}

// decideFunc decides a command on an existing SKP.
type decideFunc func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error)

// onSKP runs decide on SKP id; a missing SKP is a [*domain.NotFoundError].
func (s *Service) onSKP(ctx context.Context, id string, req domain.Request, decide decideFunc) (domain.Committed, error) {
	stream := domain.SKPStream(id)
	if !domain.ValidStreamName(stream) {
		return domain.Committed{}, &domain.NotFoundError{Kind: "skp", ID: id}
	}
	return s.Handler.Execute(ctx, stream, req, func(ctx context.Context, req domain.Request, st domain.Stream) (domain.Change, error) {
		sk := s.Carry.take(id, st.Events)
		if sk == nil {
			return domain.Change{}, &domain.NotFoundError{Kind: "skp", ID: id}
		}
		ch, err := decide(s.lookups(ctx), req, sk)
		s.Carry.put(id, sk, st.Events)
		return ch, err
	})
}

// one returns a change of one event.
func one(role domain.Role, e domain.Event) (domain.Change, error) {
	return domain.Change{Role: role, Events: []domain.Event{e}}, nil
}

// reasoned returns a change of one event whose envelope carries reason.
func reasoned(role domain.Role, reason string, e domain.Event) (domain.Change, error) {
	return domain.Change{Role: role, Events: []domain.Event{e}, Reason: reason}, nil
}

// AsOf selects a past state for a read: the zero value is the current
// state; Revision keeps the events up to and including that revision;
// RecordedAt keeps those recorded at or before that instant.
type AsOf struct {
	// Revision, when set, is the last revision to include.
	Revision *uint64
	// RecordedAt, when not zero, is the last recording instant to include.
	RecordedAt time.Time
}

// Filter returns the prefix of events that a reads (events are in revision
// order, and recording times never decrease within a stream).
func (a AsOf) Filter(events []domain.Stored) []domain.Stored {
	n := 0
	for _, e := range events {
		if a.Revision != nil && e.Revision > *a.Revision {
			break
		}
		if !a.RecordedAt.IsZero() && e.RecordedAt.After(a.RecordedAt) {
			break
		}
		n++
	}
	return events[:n]
}

// Load returns SKP id with its events, or nil when it does not exist.
func (s *Service) Load(ctx context.Context, id string) (*SKP, []domain.Stored, error) {
	stream := domain.SKPStream(id)
	if !domain.ValidStreamName(stream) {
		return nil, nil, nil
	}
	st, err := s.Handler.Load(ctx, stream)
	if err != nil {
		return nil, nil, err
	}
	if s.Reads != nil {
		return s.Reads.replay(id, st.Events), st.Events, nil
	}
	return Replay(st.Events), st.Events, nil
}

// Read is the query behind GET /v1/skps/{id}: it returns the SKP as it is
// now or as of a, if caller may see it (authorised against the parties in
// effect now and those recorded on the SKP). Errors: not found (missing or
// not visible), forbidden (for actions other than ReadSKP, see Authorize).
func (s *Service) Read(ctx context.Context, caller domain.Principal, id string, a AsOf) (View, error) {
	p, err := s.Prepare(ctx, caller, id, a)
	if err != nil {
		return View{}, err
	}
	return p.View(), nil
}

// Prepared is an authorised read of an SKP, not yet rendered: its View is a
// pure function of the SKP's revision and the instant it is judged at
// (At). Callers that render often may therefore keep renderings keyed by
// (ID, Revision, At) — for a current read, until the next instant at which
// a derived state changes (an objection deadline passing).
type Prepared struct {
	sk *SKP
	// ID and Revision name the SKP and the revision read.
	ID       string
	Revision uint64
	// At is the instant the view is judged at: now for a current read, the
	// as-of instant (or the revision's recording time) for a historical one.
	At time.Time
	// Historical is true for an as-of or revision read.
	Historical bool
}

// View renders the prepared read.
func (p Prepared) View() View { return p.sk.View(p.At) }

// Prepare authorises caller to read SKP id (now or as of a) and returns the
// read, ready to render; see Read for the errors.
func (s *Service) Prepare(ctx context.Context, caller domain.Principal, id string, a AsOf) (Prepared, error) {
	sk, events, err := s.authorized(ctx, caller, id, authz.ReadSKP)
	if err != nil {
		return Prepared{}, err
	}
	now := s.Handler.Now()
	if a.RecordedAt.After(now) {
		return Prepared{}, domain.Invalid("as_of", "must not be in the future")
	}
	historical := a.Revision != nil || !a.RecordedAt.IsZero()
	if historical {
		if s.Reads != nil {
			sk = s.Reads.replayPrefix(id, a.Filter(events))
		} else {
			sk = Replay(a.Filter(events))
		}
		if sk == nil {
			return Prepared{}, &domain.NotFoundError{Kind: "skp", ID: id}
		}
		if !a.RecordedAt.IsZero() {
			now = a.RecordedAt
		} else {
			now = sk.recordedAt
		}
	}
	return Prepared{sk: sk, ID: id, Revision: sk.revision, At: now, Historical: historical}, nil
}

// Evaluation is the query behind GET /v1/skps/{id}/evaluations/{period}:
// the evaluation of one period now, for those who may read the SKP.
// Errors: not found (SKP, not visible, or the period never rated).
func (s *Service) Evaluation(ctx context.Context, caller domain.Principal, id, period string) (EvaluationView, error) {
	v, err := s.Read(ctx, caller, id, AsOf{})
	if err != nil {
		return EvaluationView{}, err
	}
	for _, e := range v.Evaluations {
		if e.Period == period {
			return e, nil
		}
	}
	return EvaluationView{}, &domain.NotFoundError{Kind: "evaluation", ID: id + "/" + period}
}

// ScoreHistory is the query behind GET /v1/skps/{id}/score-history: every
// rating and predikat ever given, for the parties and auditors.
func (s *Service) ScoreHistory(ctx context.Context, caller domain.Principal, id string) ([]ScoreEntry, error) {
	sk, _, err := s.authorized(ctx, caller, id, authz.ReadHistory)
	if err != nil {
		return nil, err
	}
	return sk.ScoreHistory(), nil
}

// Authorize answers whether caller may do a to SKP id now (for reads such
// as GET …/events, which the integration layer serves from the store). It
// returns the SKP, its events and the caller's role.
func (s *Service) Authorize(ctx context.Context, caller domain.Principal, id string, a authz.Action) (*SKP, []domain.Stored, domain.Role, error) {
	sk, events, err := s.Load(ctx, id)
	if err != nil {
		return nil, nil, "", err
	}
	if sk == nil {
		return nil, nil, "", &domain.NotFoundError{Kind: "skp", ID: id}
	}
	l := s.lookups(ctx)
	subj, err := l.subject(sk, s.Policy.Date(s.Handler.Now()), caller)
	if err != nil {
		return nil, nil, "", err
	}
	role, err := authz.Decide(caller, a, subj, s.options())
	return sk, events, role, err
}

func (s *Service) authorized(ctx context.Context, caller domain.Principal, id string, a authz.Action) (*SKP, []domain.Stored, error) {
	sk, events, _, err := s.Authorize(ctx, caller, id, a)
	return sk, events, err
}
