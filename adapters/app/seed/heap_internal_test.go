package seed

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/policy"
)

// lockedLog is countingLog behind a mutex, for a run with several workers.
type lockedLog struct {
	mu sync.Mutex
	l  *countingLog
}

func (l *lockedLog) Load(ctx context.Context, stream string) ([]domain.Stored, uint64, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.l.Load(ctx, stream)
}

func (l *lockedLog) Append(ctx context.Context, stream string, expected domain.Expected, events []domain.NewEvent) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.l.Append(ctx, stream, expected, events)
}

// testNow is after the run's business now (1 April 2026, 16:00 WIB).
var testNow = time.Date(2026, time.April, 1, 16, 0, 0, 0, policy.WIB)

// cachedSKPs counts the SKP streams the run's caches hold decoded.
func (r *runner) cachedSKPs() int {
	n := 0
	for _, c := range r.caches {
		for i := range c.shards {
			sh := &c.shards[i]
			sh.mu.RLock()
			for k, s := range sh.streams {
				if !s.absent && strings.HasPrefix(k, domain.SKPStreamPrefix) {
					n++
				}
			}
			sh.mu.RUnlock()
		}
	}
	return n
}

// TestCacheHoldsFewSKPs: the run's cache holds an SKP decoded only while a
// task works on it, and the appraisers' SKPs the phase's tasks cascade
// from, never a whole tier: planning kept every SKP it drafted until the
// phase ended, so the seeder's live heap (and the collector's work on it)
// grew with the agency.
func TestCacheHoldsFewSKPs(t *testing.T) {
	const workers = 4
	log := &lockedLog{l: &countingLog{streams: map[string][]domain.Stored{}, loads: map[string]int{}}}
	h := &domain.Handler{Log: log, Now: func() time.Time { return testNow }}
	cfg := Config{Employees: 400, Seed: 7, Year: 2025, Now: testNow, Workers: workers}.withDefaults(policy.Default())
	r := newRunner(cfg, NewServices(h, policy.Default()))
	appraisers := map[int]bool{}
	for _, p := range r.ag.people {
		if p.appraiser >= 0 {
			appraisers[p.appraiser] = true
		}
	}
	most := 0
	r.cfg.Progress = func(done, total int) { most = max(most, r.cachedSKPs()) }
	if err := r.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if limit := workers + len(appraisers); most > limit {
		t.Errorf("the cache held up to %d SKPs decoded; want at most %d (the workers' own and the %d appraisers')", most, limit, len(appraisers))
	}
	t.Logf("at most %d SKPs cached; %d appraisers, %d people", most, len(appraisers), len(r.ag.people))
}
