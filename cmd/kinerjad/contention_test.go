package main

import (
	"sync"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
)

// writeAtOnce has writers clients post each feedback each to one SKP at
// once, without If-Match, client w through servers[w%len(servers)]; it
// returns how many answers were 201 and the first other answer.
func writeAtOnce(t *testing.T, servers []*server, id string, writers, each int) (int, string) {
	t.Helper()
	var mu sync.Mutex
	ok, other := 0, ""
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				a, err := servers[w%len(servers)].do(nipA, nil, "POST", "/v1/skps/"+id+"/feedback", httpapi.FeedbackBody{Text: "Masukan " + string(rune('a'+i))})
				mu.Lock()
				switch {
				case err == nil && a.status == 201:
					ok++
				case other == "" && err != nil:
					other = err.Error()
				case other == "":
					other = string(a.body)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return ok, other
}

// Sixteen clients writing to one SKP at once, without If-Match, all
// succeed on bbolt and on PostgreSQL: the commands of one stream take turns
// in the process (issue 10; 43–69 % of them got 409 before). Smaller than
// the benchmark of docs/benchmarks.md, and not timed.
func TestContentionOneProcess(t *testing.T) {
	for _, backend := range []string{"bolt", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			var args []string
			if backend == "postgres" {
				args = []string{"--store", "postgres", "--postgres-url", postgresURL(t), "--migrate"}
			}
			s := startServer(t, t.TempDir(), args...)
			id, _, _ := established(t, s)
			if ok, other := writeAtOnce(t, []*server{s}, id, 16, 5); ok != 80 {
				t.Errorf("%d of 80 writes succeeded; another answer: %s", ok, other)
			}
		})
	}
}

// Two kinerjad on one PostgreSQL race for the same SKP; the lost races are
// retried after jittered pauses within --contention-wait, and at least
// 95 % succeed (the target; in practice all of them do), the
// others with 409 contention.
func TestContentionTwoProcesses(t *testing.T) {
	pg, data := postgresURL(t), t.TempDir()
	a := startServer(t, data, "--store", "postgres", "--postgres-url", pg, "--migrate")
	b := startServer(t, data, "--store", "postgres", "--postgres-url", pg, "--projections", "off")
	id, _, _ := established(t, a)
	ok, other := writeAtOnce(t, []*server{a, b}, id, 16, 5)
	if ok < 76 {
		t.Errorf("%d of 80 writes succeeded, want at least 95 %%; another answer: %s", ok, other)
	}
	t.Logf("%d of 80 writes succeeded", ok)
}
