//go:build ignore

// province_probe measures GET paths of a running kinerjad (API reports and
// dashboard pages, with a Bearer token) for docs/benchmarks.md section 21:
// for each path, the first request (bytes, time), N sequential requests and
// TOTAL requests from C concurrent clients (p50/p95/p99 of the wall time
// each client saw), and kinerjad's CPU per request from its
// process_cpu_seconds_total (GET /metrics) before and after each stage.
//
// With -bust, before every measured request of the sequential stage it
// creates a unit under -bust-parent (POST /v1/units, -bust-token: an
// HR_ADMIN) and waits -bust-wait, so that the projections move and the
// report cache (app.reportCache, keyed by their checkpoints) misses: the
// figures are then those of a report computed afresh, as during a working
// day's writes. It counts the answers whose Kinerja-Projection-Position
// changed from the previous one.
//
//	go run docs/bench/province_probe.go -url http://127.0.0.1:18940 -token "$T" \
//	  -n 100 -c 16 -total 320 '/v1/reports/progress?unit=X&year=2025' ...
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "kinerjad")
	token := flag.String("token", "", "Bearer token of the reader")
	n := flag.Int("n", 100, "sequential requests per path")
	c := flag.Int("c", 16, "concurrent clients")
	total := flag.Int("total", 320, "requests of the concurrent stage per path (0: none)")
	bust := flag.Bool("bust", false, "create a unit before each sequential request (the report cache misses)")
	bustToken := flag.String("bust-token", "", "HR_ADMIN token for -bust")
	bustParent := flag.String("bust-parent", "", "parent unit of the units -bust creates")
	bustWait := flag.Duration("bust-wait", 300*time.Millisecond, "wait after each -bust write")
	flag.Parse()
	client := &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	get := func(path string) (time.Duration, int, string, error) {
		req, err := http.NewRequest(http.MethodGet, *base+path, nil)
		if err != nil {
			return 0, 0, "", err
		}
		req.Header.Set("Authorization", "Bearer "+*token)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, "", err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		if err != nil {
			return 0, 0, "", err
		}
		if resp.StatusCode != http.StatusOK {
			return d, len(b), "", fmt.Errorf("GET %s: %s: %.200s", path, resp.Status, b)
		}
		return d, len(b), resp.Header.Get("Kinerja-Projection-Position"), nil
	}
	cpu := func() float64 {
		resp, err := client.Get(*base + "/metrics")
		if err != nil {
			return -1
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "process_cpu_seconds_total "); ok {
				f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				return f
			}
		}
		return -1
	}
	seq := 0
	bustOnce := func() error {
		seq++
		body := fmt.Sprintf(`{"id":"PRB%d%04d","name":"Unit Ukur %d","parent_id":%q}`, time.Now().Unix()%100000, seq, seq, *bustParent)
		req, _ := http.NewRequest(http.MethodPost, *base+"/v1/units", bytes.NewReader([]byte(body)))
		req.Header.Set("Authorization", "Bearer "+*bustToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("bust: %s: %.200s", resp.Status, b)
		}
		time.Sleep(*bustWait)
		return nil
	}
	pct := func(ds []time.Duration, p float64) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		i := int(p*float64(len(s))+0.999999) - 1
		i = max(0, min(i, len(s)-1))
		return float64(s[i].Microseconds()) / 1000
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "province_probe:", err)
		os.Exit(1)
	}
	fmt.Printf("| path | bytes | first ms | seq n | seq p50 / p95 / p99 ms | seq CPU ms/req | misses | c | conc p50 / p95 / p99 ms | req/s | conc CPU ms/req |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, path := range flag.Args() {
		d, size, pos, err := get(path)
		if err != nil {
			fail(err)
		}
		first := float64(d.Microseconds()) / 1000
		var ds []time.Duration
		misses := 0
		c0 := cpu()
		var busy time.Duration
		for range *n {
			if *bust {
				b0 := time.Now()
				if err := bustOnce(); err != nil {
					fail(err)
				}
				busy += time.Since(b0)
			}
			d, _, p, err := get(path)
			if err != nil {
				fail(err)
			}
			if p != pos {
				misses++
			}
			pos = p
			ds = append(ds, d)
		}
		c1 := cpu()
		seqCPU := (c1 - c0) * 1000 / float64(*n)
		row := fmt.Sprintf("| `%s` | %d | %.1f | %d | %.1f / %.1f / %.1f | %.1f | %d |", path, size, first, *n, pct(ds, .5), pct(ds, .95), pct(ds, .99), seqCPU, misses)
		if *bust {
			row = fmt.Sprintf("| `%s` | %d | %.1f | %d | %.1f / %.1f / %.1f | %.1f (writes included) | %d |", path, size, first, *n, pct(ds, .5), pct(ds, .95), pct(ds, .99), seqCPU, misses)
		}
		if *total > 0 && !*bust {
			var mu sync.Mutex
			var cds []time.Duration
			var firstErr error
			next := make(chan struct{}, *total)
			for range *total {
				next <- struct{}{}
			}
			close(next)
			c0 := cpu()
			t0 := time.Now()
			var wg sync.WaitGroup
			for range *c {
				wg.Go(func() {
					for range next {
						d, _, _, err := get(path)
						mu.Lock()
						if err != nil && firstErr == nil {
							firstErr = err
						}
						cds = append(cds, d)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			wall := time.Since(t0)
			c1 := cpu()
			if firstErr != nil {
				fail(firstErr)
			}
			row += fmt.Sprintf(" %d | %.1f / %.1f / %.1f | %.1f | %.1f |", *c, pct(cds, .5), pct(cds, .95), pct(cds, .99), float64(*total)/wall.Seconds(), (c1-c0)*1000/float64(*total))
		} else {
			row += " | | | |"
		}
		fmt.Println(row)
	}
}
