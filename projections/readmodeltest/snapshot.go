package readmodeltest

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/objections"
	"github.com/kinerja-ledger/kinerja/projections/reports"
	"github.com/kinerja-ledger/kinerja/projections/scores"
	"github.com/kinerja-ledger/kinerja/projections/skps"
	"github.com/kinerja-ledger/kinerja/projections/timeline"
)

// Snapshot is every answer of every reader and report over the journey,
// as the golden file holds it.
type Snapshot struct {
	Checkpoints    map[string]eventstore.Position        `json:"checkpoints"`
	Units          []directory.Unit                      `json:"units"`
	Children       map[string][]directory.Unit           `json:"children"`
	Subtrees       map[string][]string                   `json:"subtrees"`
	Employees      []directory.Employee                  `json:"employees"`
	Justification  *directory.Justification              `json:"justification"`
	SKPs           []skps.Summary                        `json:"skps"`
	Evaluations    map[string][]evaluations.Evaluation   `json:"evaluations"`
	ByPeriod       map[string][]evaluations.Evaluation   `json:"evaluations_by_period"`
	Scores         map[string][]scores.Entry             `json:"scores"`
	ScoresByNIP    map[string][]scores.Entry             `json:"scores_by_nip"`
	Objections     []objections.Objection                `json:"objections"`
	Timeline       map[string][]timeline.Item            `json:"timeline"`
	AuditSize      uint64                                `json:"audit_size"`
	Audit          []audit.Entry                         `json:"audit"`
	Checkpoint     *audit.Checkpoint                     `json:"audit_checkpoint"`
	Progress       reports.ProgressReport                `json:"progress"`
	Distributions  map[string]reports.DistributionReport `json:"distributions"`
	ObjectionsRepo map[string]reports.ObjectionRegister  `json:"objection_register"`
}

// registerNow is the instant the objection register is judged at in the
// golden file: after Q1's decision is due, before D1's.
var registerNow = time.Date(2027, 1, 27, 12, 0, 0, 0, wib)

// Take reads every answer of b.
func Take(tb testing.TB, b *Backend) Snapshot {
	tb.Helper()
	ctx := context.Background()
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	s := Snapshot{Checkpoints: checkpoints(tb, b), Children: map[string][]directory.Unit{}, Subtrees: map[string][]string{},
		Evaluations: map[string][]evaluations.Evaluation{}, ByPeriod: map[string][]evaluations.Evaluation{},
		Scores: map[string][]scores.Entry{}, ScoresByNIP: map[string][]scores.Entry{}, Timeline: map[string][]timeline.Item{},
		Distributions: map[string]reports.DistributionReport{}, ObjectionsRepo: map[string]reports.ObjectionRegister{}}
	var err error
	s.Units, err = b.Directory.Units(ctx)
	must(err)
	var ids []string
	for _, u := range s.Units {
		ids = append(ids, u.ID)
		s.Children[u.ID], err = b.Directory.Children(ctx, u.ID)
		must(err)
		s.Subtrees[u.ID], err = b.Directory.Subtree(ctx, u.ID)
		must(err)
	}
	s.Employees, err = b.Directory.EmployeesIn(ctx, ids)
	must(err)
	if j, ok, err := b.Directory.Justification(ctx, "DISDIK", "2026"); err != nil {
		tb.Fatal(err)
	} else if ok {
		s.Justification = &j
	}
	s.SKPs = listAll(tb, b.SKPs, skps.Query{Limit: 7})
	for _, sum := range s.SKPs {
		s.Evaluations[sum.ID], err = b.Evaluations.ForSKP(ctx, sum.ID)
		must(err)
		s.Scores[sum.ID], err = b.Scores.ForSKP(ctx, sum.ID)
		must(err)
	}
	for _, p := range []string{"2026", "2026-Q1", "2026-Q4"} {
		s.ByPeriod[p], err = b.Evaluations.ForPeriod(ctx, ids, p)
		must(err)
	}
	for _, e := range s.Employees {
		s.ScoresByNIP[e.NIP], err = b.Scores.ForEmployee(ctx, e.NIP)
		must(err)
	}
	// The timelines of a few (the golden file would be large with all).
	for _, n := range []string{nipA, nipB, nipE[0], nipP[0], nipD[0]} {
		s.Timeline[n] = timelineAll(tb, b.Timeline, n, 9)
	}
	s.Objections, err = b.Objections.List(ctx, objections.Query{})
	must(err)
	s.AuditSize, err = b.Audit.Size(ctx)
	must(err)
	q := audit.Query{Limit: 50}
	for {
		page, err := b.Audit.Entries(ctx, q)
		must(err)
		s.Audit = append(s.Audit, page...)
		if len(page) < 50 {
			break
		}
		q.After, q.AfterSet = page[len(page)-1].Seq, true
	}
	if c, ok, err := b.Audit.LatestCheckpoint(ctx); err != nil {
		tb.Fatal(err)
	} else if ok {
		s.Checkpoint = &c
	}
	// Reports of units the directory does not hold (yet) are left out.
	must = func(err error) {
		tb.Helper()
		if err != nil && !errors.Is(err, directory.ErrNotFound) {
			tb.Fatal(err)
		}
	}
	s.Progress, err = reports.Progress(ctx, b.Directory, b.SKPs, "PEMKOT", 2026)
	must(err)
	for _, u := range []string{"DISDIK", "DINKES", "PEMKOT"} {
		d, err := reports.Distribution(ctx, reports.DistributionInput{Directory: b.Directory, SKPs: b.SKPs,
			Evaluations: b.Evaluations, Justifications: b.Directory, Policy: policy.Default()}, u, "2026")
		must(err)
		if err == nil {
			s.Distributions[u] = d
		}
	}
	yes, no := true, false
	for name, f := range map[string]struct {
		unit, status string
		overdue      *bool
	}{"all": {}, "puskesmas1": {unit: "PUSKESMAS1"}, "open": {status: "OPEN"}, "overdue": {overdue: &yes}, "not_overdue": {overdue: &no}} {
		r, err := reports.Objections(ctx, b.Directory, b.Objections, f.unit, f.status, f.overdue, registerNow)
		must(err)
		if err == nil {
			s.ObjectionsRepo[name] = r
		}
	}
	return s
}

func listAll(tb testing.TB, r skps.Reader, q skps.Query) []skps.Summary {
	tb.Helper()
	var out []skps.Summary
	for pages := 0; ; pages++ {
		page, next, err := r.List(context.Background(), q)
		if err != nil {
			tb.Fatal(err)
		}
		if q.Limit > 0 && len(page) > q.Limit {
			tb.Fatalf("List(limit %d) returned %d items", q.Limit, len(page))
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		if pages > 10000 {
			tb.Fatal("List does not end")
		}
		q.Cursor = next
	}
}

func timelineAll(tb testing.TB, r timeline.Reader, nip string, limit int) []timeline.Item {
	tb.Helper()
	var out []timeline.Item
	var before eventstore.Position
	for {
		page, err := r.ForEmployee(context.Background(), nip, before, limit)
		if err != nil {
			tb.Fatal(err)
		}
		if len(page) > limit {
			tb.Fatalf("ForEmployee(limit %d) returned %d items", limit, len(page))
		}
		out = append(out, page...)
		if len(page) < limit {
			return out
		}
		before = page[len(page)-1].Position
	}
}

func goldenPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", "journey.golden.json")
}

// CheckGolden compares s with the golden file (or rewrites it).
func CheckGolden(tb testing.TB, s Snapshot, update bool) {
	tb.Helper()
	got, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	got = append(got, '\n')
	path := goldenPath()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read golden file (run the test with -update to create it): %v", err)
	}
	if d := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n")); d != "" {
		tb.Errorf("the readers' answers differ from %s (-want +got):\n%s", path, d)
	}
}

// SameSnapshot fails when two snapshots differ, naming what changed them.
func SameSnapshot(tb testing.TB, what string, want, got Snapshot) {
	tb.Helper()
	a, _ := json.Marshal(want)
	b, _ := json.Marshal(got)
	if string(a) != string(b) {
		var x, y any
		_ = json.Unmarshal(a, &x)
		_ = json.Unmarshal(b, &y)
		tb.Errorf("%s changed the read models (-before +after):\n%s", what, cmp.Diff(x, y))
	}
}
