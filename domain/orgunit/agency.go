package orgunit

import (
	"context"
	"sync"

	"github.com/kinerja-ledger/kinerja/domain"
)

// maxDepth bounds the walk up the unit tree (a tree deeper than this is
// not an organisation; it also stops a corrupt cycle).
const maxDepth = 64

// AgencyOf returns the agency (instansi) of unit id: the ID of the root of
// its tree, as recorded in the units' streams. Units are never
// re-parented, so a unit's agency never changes. It returns "" when id is
// not a registered unit (docs/domain-model.md, "Agencies").
//
// When ctx carries an [AgencyMemo] ([WithAgencyMemo]), a unit found there
// costs no read, and the walk's answer is remembered for every unit on it.
func AgencyOf(ctx context.Context, h *domain.Handler, id string) (string, error) {
	memo := memoFrom(ctx)
	if memo != nil {
		if a, ok := memo.get(id); ok {
			return a, nil
		}
	}
	var walked []string
	for range maxDepth {
		if !ValidID(id) {
			return "", nil
		}
		if memo != nil && len(walked) > 0 {
			if a, ok := memo.get(id); ok {
				memo.put(walked, a)
				return a, nil
			}
		}
		st, err := h.Load(ctx, domain.UnitStream(id))
		if err != nil {
			return "", err
		}
		u := Replay(st.Events)
		if u == nil {
			return "", nil
		}
		if memo != nil {
			walked = append(walked, id)
		}
		if u.Parent() == "" {
			if memo != nil {
				memo.put(walked, id)
			}
			return id, nil
		}
		id = u.Parent()
	}
	return "", nil
}

// Agencies returns the agencies of the given units, without repeats or
// "" (for use as authz.Subject.Agencies).
func Agencies(ctx context.Context, h *domain.Handler, units ...string) ([]string, error) {
	var out []string
	for _, u := range units {
		if u == "" {
			continue
		}
		a, err := AgencyOf(ctx, h, u)
		if err != nil {
			return nil, err
		}
		if a != "" && !contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// AgencyMemo remembers the agency of the registered units a walk up the
// tree ([AgencyOf]) went through, so that the access checks of later reads
// (GET /v1/skps/{id} with an agency-claimed token: the SKP's drafting unit
// and its employee's unit today) ask the store nothing for them.
//
// It is as strong as the walk, without a revision to check: a unit's
// parent is in the first event of its stream (Registered), fixed by the
// stream's hash chain, and no event of this package changes it (units are
// never re-parented; TestNoEventReparentsAUnit fails if one is added, and
// such an event would have to feed the memo). So a unit's agency, once
// found, is its agency for ever. Only answers found are remembered: an
// unknown unit ("") is asked again, as it may be registered next. What
// moves between agencies is people (employee.transfer_*), and an
// employee's unit is read from their stream on every request.
//
// Attach it only to reads of committed history (a request's reads: the
// application layer does, app.PrefetchSKP): a walk inside a transaction
// that could still roll back must not leave an answer behind. The zero
// value is ready; it holds at most maxMemo units. Safe for concurrent use.
type AgencyMemo struct {
	mu sync.RWMutex
	m  map[string]string
}

// maxMemo bounds an AgencyMemo (a province has thousands of units; a
// memo that is full stops remembering and the walks read as before).
const maxMemo = 1 << 20

func (m *AgencyMemo) get(id string) (string, bool) {
	m.mu.RLock()
	a, ok := m.m[id]
	m.mu.RUnlock()
	return a, ok
}

func (m *AgencyMemo) put(ids []string, agency string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]string{}
	}
	for _, id := range ids {
		if len(m.m) >= maxMemo {
			return
		}
		m.m[id] = agency
	}
}

// Len returns how many units m remembers.
func (m *AgencyMemo) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.m)
}

type memoKey struct{}

// WithAgencyMemo returns ctx under which [AgencyOf] and [Agencies] use and
// fill m (ctx itself when m is nil or ctx already carries m).
func WithAgencyMemo(ctx context.Context, m *AgencyMemo) context.Context {
	if m == nil || memoFrom(ctx) == m {
		return ctx
	}
	return context.WithValue(ctx, memoKey{}, m)
}

func memoFrom(ctx context.Context) *AgencyMemo {
	m, _ := ctx.Value(memoKey{}).(*AgencyMemo)
	return m
}
