// Package wiring holds the glue between the service's parts that belongs
// to no single one of them: the API's Reporter over projections/reports,
// the audit Verifier and key files, and the projection positions. Both
// commands (kinerjad, kinerjactl) use it.
package wiring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/objections"
	"github.com/kinerja-ledger/kinerja/projections/reports"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// Reporter implements httpapi.Reporter over projections/reports: the JSON
// body is the report itself, the table its flat form for CSV and Excel.
//
// The progress and distribution reports depend on nothing but the read
// models they read, and a read model publishes its rows with its
// checkpoint atomically; so a report is kept with the checkpoints read
// before it was computed, and served again while they are unchanged. (A
// whole-agency report of 10,000 employees costs about 100 ms of CPU; HR
// dashboards ask for the same ones again and again.) The objections report
// depends on the clock (overdue) and is always computed.
type Reporter struct {
	Directory      directory.Reader
	SKPs           skps.Reader
	Evaluations    evaluations.Reader
	ObjectionList  objections.Reader
	Justifications directory.JustificationReader
	Policy         policy.Policy
	Pattern        distribution.Pattern
	Positions      httpapi.Positions
	Now            func() time.Time

	cache reportCache
}

// reportCacheMax bounds the reports kept; when full, the cache starts
// over.
const reportCacheMax = 256

// reportCache holds computed reports by query, with the checkpoints of the
// read models they read.
type reportCache struct {
	mu      sync.Mutex
	entries map[string]cachedReport
}

type cachedReport struct {
	at     []eventstore.Position
	report httpapi.Report
}

func (c *reportCache) get(key string, at []eventstore.Position) (httpapi.Report, bool) {
	if at == nil {
		return httpapi.Report{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !slices.Equal(e.at, at) {
		return httpapi.Report{}, false
	}
	return e.report, true
}

// put keeps rep, its JSON body encoded once (a whole-agency progress
// report took longer to encode than to compute), and returns what it
// keeps.
func (c *reportCache) put(key string, at []eventstore.Position, rep httpapi.Report) httpapi.Report {
	if at == nil {
		return rep
	}
	b, err := json.Marshal(rep.JSON)
	if err != nil {
		return rep // the API reports the encoding error
	}
	rep.JSON = json.RawMessage(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= reportCacheMax {
		c.entries = map[string]cachedReport{}
	}
	c.entries[key] = cachedReport{at: at, report: rep}
	return rep
}

// checkpoints returns the checkpoints of the named projections, or nil when
// they cannot be read (then nothing is cached).
func (r *Reporter) checkpoints(ctx context.Context, names ...string) []eventstore.Position {
	if r.Positions == nil {
		return nil
	}
	at := make([]eventstore.Position, len(names))
	for i, n := range names {
		p, err := r.Positions.Checkpoint(ctx, n)
		if err != nil {
			return nil
		}
		at[i] = p
	}
	return at
}

// minimum is the position a report read at: how far every one of its
// projections had read.
func minimum(at []eventstore.Position) eventstore.Position {
	if len(at) == 0 {
		return 0
	}
	return slices.Min(at)
}

var _ httpapi.Reporter = (*Reporter)(nil)

// position returns the smallest checkpoint of the projections a report
// read: how far every one of them had read.
func (r *Reporter) position(ctx context.Context, names ...string) eventstore.Position {
	if r.Positions == nil {
		return 0
	}
	var min eventstore.Position
	for i, n := range names {
		p, err := r.Positions.Checkpoint(ctx, n)
		if err != nil {
			return 0
		}
		if i == 0 || p < min {
			min = p
		}
	}
	return min
}

// notFound turns the read models' not-found into the domain's kind.
func notFound(err error) error {
	if errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("%w: %w", domain.ErrNotFound, err)
	}
	return err
}

// Progress implements httpapi.Reporter.
func (r *Reporter) Progress(ctx context.Context, unit string, year int) (httpapi.Report, error) {
	at := r.checkpoints(ctx, directory.Name, skps.Name)
	key := "progress\x00" + unit + "\x00" + strconv.Itoa(year)
	if cached, ok := r.cache.get(key, at); ok {
		return cached, nil
	}
	rep, err := reports.Progress(ctx, r.Directory, r.SKPs, unit, year)
	if err != nil {
		return httpapi.Report{}, notFound(err)
	}
	t := rep.Table()
	out := httpapi.Report{JSON: rep, Columns: t.Columns, Rows: t.Rows, Position: minimum(at)}
	return r.cache.put(key, at, out), nil
}

// Distribution implements httpapi.Reporter.
func (r *Reporter) Distribution(ctx context.Context, unit, per string) (httpapi.Report, error) {
	at := r.checkpoints(ctx, directory.Name, skps.Name, evaluations.Name)
	key := "distribution\x00" + unit + "\x00" + per
	if cached, ok := r.cache.get(key, at); ok {
		return cached, nil
	}
	rep, err := reports.Distribution(ctx, reports.DistributionInput{
		Directory: r.Directory, SKPs: r.SKPs, Evaluations: r.Evaluations, Justifications: r.Justifications,
		Policy: r.Policy, Pattern: r.Pattern,
	}, unit, per)
	if err != nil {
		if errors.Is(err, directory.ErrNotFound) {
			return httpapi.Report{}, notFound(err)
		}
		return httpapi.Report{}, &domain.ValidationError{Fields: []domain.FieldError{{Field: "period", Message: err.Error()}}}
	}
	t := rep.Table()
	out := httpapi.Report{JSON: rep, Columns: t.Columns, Rows: t.Rows, Position: minimum(at)}
	return r.cache.put(key, at, out), nil
}

// Objections implements httpapi.Reporter.
func (r *Reporter) Objections(ctx context.Context, unit, status string, overdue *bool) (httpapi.Report, error) {
	pos := r.position(ctx, directory.Name, objections.Name)
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	rep, err := reports.Objections(ctx, r.Directory, r.ObjectionList, unit, status, overdue, now())
	if err != nil {
		return httpapi.Report{}, notFound(err)
	}
	t := rep.Table()
	return httpapi.Report{JSON: rep, Columns: t.Columns, Rows: t.Rows, Position: pos}, nil
}
