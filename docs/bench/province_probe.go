//go:build ignore

// province_probe measures GET paths of a running kinerjad (API reports and
// dashboard pages, with a Bearer token) for docs/benchmarks.md section 21:
// for each path, the first request (bytes, time, kinerjad's CPU), N sequential requests and
// TOTAL requests from C concurrent clients (p50/p95/p99 of the wall time
// each client saw), and kinerjad's CPU per request from its
// process_cpu_seconds_total (GET /metrics) before and after each stage.
// The first request of a path after kinerjad starts is the one that
// computes a report (app.reportCache keeps it while the projections'
// checkpoints stand); "misses" counts the answers whose
// Kinerja-Projection-Position changed from the previous one.
//
//	go run docs/bench/province_probe.go -url http://127.0.0.1:18940 -token "$T" \
//	  -n 100 -c 16 -total 320 '/v1/reports/progress?unit=X&year=2025' ...
package main

import (
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
	fmt.Printf("| path | bytes | first ms | first CPU s | seq n | seq p50 / p95 / p99 ms | seq CPU ms/req | misses | c | conc p50 / p95 / p99 ms | req/s | conc CPU ms/req |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, path := range flag.Args() {
		f0 := cpu()
		d, size, pos, err := get(path)
		if err != nil {
			fail(err)
		}
		first := float64(d.Microseconds()) / 1000
		firstCPU := cpu() - f0
		var ds []time.Duration
		misses := 0
		c0 := cpu()
		for range *n {
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
		row := fmt.Sprintf("| `%s` | %d | %.1f | %.2f | %d | %.1f / %.1f / %.1f | %.1f | %d |", path, size, first, firstCPU, *n, pct(ds, .5), pct(ds, .95), pct(ds, .99), seqCPU, misses)
		if *total > 0 {
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
