package web

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/internal/cpusample"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
)

// The page budget at the root of a large agency (issue 15): the walk of
// TestPageBudget (every GET page, plus the root's heavy views) over an
// agency of KINERJA_ROOT_EMPLOYEES employees, logging each page's bytes,
// its first request (wall and CPU: what a person waits for after a start
// or after the projections moved) and the p95 of the rounds after it; then
// the progress and distribution reports at the root: the first (computed)
// and kept ones, and 16 readers' p95 while writes keep moving the
// projections. A measurement aid for docs/benchmarks.md (seeding 20,000
// employees takes minutes): skipped unless the variable is set.
//
//	KINERJA_ROOT_EMPLOYEES=20000 KINERJA_BUDGET_ROUNDS=10 go test -count=1 -timeout 90m \
//	  -run TestRootPageBudget -v ./adapters/web/
//
// The size budget is asserted (it is deterministic); the CPU budget is
// listed (pages over rootCPUBudget of CPU on their first request or at
// their p95), not asserted: a timed test fails on a loaded machine.

// rootCPUBudget is a page's server-time budget (docs/benchmarks.md §12),
// read here as CPU time, which the machine's load does not inflate.
const rootCPUBudget = 100 * time.Millisecond

// cpuDur is the process's CPU time (cpusample.Self) as a Duration.
func cpuDur() time.Duration { return time.Duration(cpusample.Self() * 1e9) }

// rootPage is a page of the root walk and what was measured of it.
type rootPage struct {
	budgetPage
	firstCPU time.Duration
}

func TestRootPageBudget(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("KINERJA_ROOT_EMPLOYEES"))
	if n <= 0 {
		t.Skip("KINERJA_ROOT_EMPLOYEES is not set (a measurement aid: seeds that many employees)")
	}
	rounds := 5
	if r, err := strconv.Atoi(os.Getenv("KINERJA_BUDGET_ROUNDS")); err == nil && r > 0 {
		rounds = r
	}
	h := newHarness(t)
	c0, t0 := cpuDur(), time.Now()
	st := h.seedAgency(n)
	h.sign()
	t.Logf("seeded %d employees, %d units, %d SKPs, %d events: wall %.1f s, CPU %.1f s", st.Employees, st.Units, st.SKPs, st.Events,
		time.Since(t0).Seconds(), (cpuDur() - c0).Seconds())
	// What kinerjad does once ready (--warm-views): the views' first fold,
	// so that the first /konsekuensi or /kalibrasi does not wait for it.
	c0, t0 = cpuDur(), time.Now()
	if err := h.app.WarmViews(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("the views warmed (the start-up's background fold): wall %.1f s, CPU %.1f s", time.Since(t0).Seconds(), (cpuDur() - c0).Seconds())
	cast := st.Cast
	hr := caller{cast.HRAdmin, []string{"HR_ADMIN"}}
	root := st.AgencyUnit
	pages := rootWalk(t, h, st.AgencyUnit, []*caller{&hr, &inspektr, &auditor, &analyst, {cast.Clerk, []string{"GRIEVANCE_CLERK"}},
		{cast.Employee, nil}, {cast.Appraiser, nil}, {cast.Head, nil}})
	// The root's heavy views, whatever the walk chose.
	for _, v := range []struct {
		who caller
		url string
	}{
		{hr, "/"}, {hr, "/?skp_sort=name"}, {hr, "/unit/" + root}, {hr, "/unit/" + root + "?year=2025&skps_sort=name&skps_dir=desc"},
		{hr, "/unit/" + root + "?year=2025&units_sort=missing&units_dir=desc"}, {hr, "/unit/" + root + "?year=2025&as_of=2025-06-30"},
		{hr, "/pegawai"}, {hr, "/pegawai?cari=1&q=a"}, {hr, "/pegawai?cari=1&skp_status=NONE&year=2025"},
		{auditor, "/audit"}, {hr, "/keberatan"}, {analyst, "/kalibrasi?year=2025"}, {analyst, "/konsekuensi"},
		{analyst, "/pengembangan-unit"}, {analyst, "/unit/" + root + "?period=2025"}, {analyst, "/unit/" + root + "?period=2025-Q1"},
	} {
		c1, t1 := cpuDur(), time.Now()
		who := v.who
		r := h.get(&who, v.url)
		first, firstCPU := time.Since(t1), cpuDur()-c1
		if r.status == http.StatusOK {
			pages = append(pages, rootPage{budgetPage{pattern: "GET " + v.url + " (" + v.who.sub + ")", url: v.url, who: &who, bytes: len(r.body), first: first}, firstCPU})
		} else {
			t.Logf("%s as %s = %d (not measured)", v.url, v.who.sub, r.status)
		}
	}
	for i := range pages {
		p := &pages[i]
		times := make([]time.Duration, 0, rounds)
		cpus := make([]time.Duration, 0, rounds)
		for range rounds {
			c1, t1 := cpuDur(), time.Now()
			r := h.get(p.who, p.url)
			times = append(times, time.Since(t1))
			cpus = append(cpus, cpuDur()-c1)
			if r.status != http.StatusOK {
				t.Errorf("%s = %d", p.url, r.status)
			}
		}
		p.p95, p.max = p95(times), slices.Max(times)
		slices.Sort(cpus)
		p.cpu, p.cpu95 = cpus[len(cpus)/2], p95(cpus)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d pages at the root of %d employees (%s), %d rounds each:\n", len(pages), st.Employees, root, rounds)
	var over []string
	for _, p := range pages {
		fmt.Fprintf(&b, "  %-60s %8d B  first %8.1f ms (cpu %7.1f)  p95 %7.1f ms  max %7.1f ms  cpu p50 %6.1f p95 %6.1f ms\n", p.pattern, p.bytes,
			ms(p.first), ms(p.firstCPU), ms(p.p95), ms(p.max), ms(p.cpu), ms(p.cpu95))
		if p.bytes > budgetBytes {
			t.Errorf("%s (%s) is %d bytes of HTML, over the %d-byte budget", p.pattern, p.url, p.bytes, budgetBytes)
		}
		if p.firstCPU > rootCPUBudget || p.cpu95 > rootCPUBudget {
			over = append(over, fmt.Sprintf("%s (first %.1f ms, p95 %.1f ms of CPU)", p.pattern, ms(p.firstCPU), ms(p.cpu95)))
		}
	}
	fmt.Fprintf(&b, "over %v of CPU: %d\n", rootCPUBudget, len(over))
	for _, o := range over {
		fmt.Fprintf(&b, "  %s\n", o)
	}
	t.Log(b.String())

	rootReports(t, h, root, hr)
}

// rootWalk opens every GET page of the router as the first of people to
// whom it answers 200 with HTML (path parameters from samples of unit's
// agency, as TestPageBudget's walk: openEveryPage), timing that first
// request.
func rootWalk(t *testing.T, h *harness, unit string, people []*caller) []rootPage {
	t.Helper()
	emp := people[5]
	own := skpIDs(h.must200(*emp, "/").body)
	if len(own) == 0 {
		t.Fatal("the employee sees no SKP")
	}
	samples := samplesOf([]map[string]string{
		{"id": own[0], "skp": own[0], "nip": emp.sub, "period": "2025", "unit": unit},
		{"id": unit, "unit": unit, "nip": emp.sub},
	})
	var pages []rootPage
	unopened := h.openEveryPage(samples, people, func(p openedPage) {
		pages = append(pages, rootPage{budgetPage{pattern: p.pattern, url: p.url, who: p.who, bytes: len(p.resp.body), first: p.took}, p.cpu})
	})
	if len(unopened) > 0 {
		t.Logf("not opened by any sample: %s", strings.Join(unopened, ", "))
	}
	return pages
}

// rootReports measures the progress and distribution reports at the root
// as an analyst: the first (computed, after a write moved the projections)
// and a kept one, one at a time; then 16 readers for readFor with the
// projections still and with an HR administrator's writes moving them (a
// unit renamed, caught up, every writeEvery), which makes every report be
// computed again.
func rootReports(t *testing.T, h *harness, root string, hr caller) {
	t.Helper()
	ctx := context.Background()
	who := analyst.principal()
	progress := func() error { _, err := h.app.Progress(ctx, who, root, 2025); return err }
	dist := func() error { _, err := h.app.Distribution(ctx, who, root, "2025"); return err }
	nw := 0
	write := func() {
		nw++
		if _, err := h.units.Rename(ctx, req(hr), orgunit.Rename{UnitID: root, Name: fmt.Sprintf("Instansi %d", nw)}); err != nil {
			t.Errorf("rename: %v", err)
		}
		h.catchUp()
	}
	var b strings.Builder
	for _, r := range []struct {
		name string
		f    func() error
	}{{"progress", progress}, {"distribution", dist}} {
		for i := range 3 {
			write()
			c1, t1 := cpuDur(), time.Now()
			if err := r.f(); err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			fmt.Fprintf(&b, "  %-12s computed (%d) %8.1f ms, CPU %7.1f ms\n", r.name, i+1, ms(time.Since(t1)), ms(cpuDur()-c1))
		}
		c1, t1 := cpuDur(), time.Now()
		for range 20 {
			if err := r.f(); err != nil {
				t.Fatal(err)
			}
		}
		fmt.Fprintf(&b, "  %-12s kept %6.3f ms CPU a request (20, wall %.3f ms)\n", r.name, ms(cpuDur()-c1)/20, ms(time.Since(t1))/20)
	}
	readFor := 5 * time.Second
	if d, err := time.ParseDuration(os.Getenv("KINERJA_ROOT_READ_FOR")); err == nil && d > 0 {
		readFor = d
	}
	for _, writes := range []bool{false, true} {
		for _, r := range []struct {
			name string
			f    func() error
		}{{"progress", progress}, {"distribution", dist}} {
			before := nw
			lat, cpu := concurrently(t, 16, readFor, r.f, writes, write)
			fmt.Fprintf(&b, "  %-12s 16 readers for %v (pausing %v), writes %-5v (%d): %d requests, p50 %7.1f p95 %7.1f p99 %7.1f max %7.1f ms; CPU %.2f ms a request (writes included)\n",
				r.name, readFor, readerPause, writes, nw-before, len(lat), ms(lat[len(lat)/2]), ms(p95(lat)), ms(lat[(len(lat)*99+99)/100-1]), ms(lat[len(lat)-1]), ms(cpu)/float64(len(lat)))
		}
	}
	t.Logf("reports at the root %s:\n%s", root, b.String())
}

// writeEvery is how often the writer of concurrently writes; readerPause
// is how long each reader waits between its requests (people reading, not
// a loop: kept answers take microseconds, and readers asking without a
// pause would bury the requests that follow a write under millions of
// them).
const (
	writeEvery  = 100 * time.Millisecond
	readerPause = 10 * time.Millisecond
)

// concurrently runs f from readers goroutines for d (each pausing
// readerPause between requests) and returns the sorted
// latencies and the CPU used; with writes, write runs every writeEvery
// meanwhile.
func concurrently(t *testing.T, readers int, d time.Duration, f func() error, writes bool, write func()) ([]time.Duration, time.Duration) {
	t.Helper()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if writes {
		wg.Go(func() {
			tick := time.NewTicker(writeEvery)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				write()
			}
		})
	}
	lats := make([][]time.Duration, readers)
	c0 := cpuDur()
	end := time.Now().Add(d)
	var rg sync.WaitGroup
	for i := range readers {
		rg.Go(func() {
			for time.Now().Before(end) {
				t1 := time.Now()
				if err := f(); err != nil {
					t.Error(err)
					return
				}
				lats[i] = append(lats[i], time.Since(t1))
				time.Sleep(readerPause)
			}
		})
	}
	rg.Wait()
	close(stop)
	wg.Wait()
	cpu := cpuDur() - c0
	lat := slices.Concat(lats...)
	slices.Sort(lat)
	return lat, cpu
}

// p95 is the 95th percentile of d (sorted in place).
func p95(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[(len(d)*95+99)/100-1]
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
