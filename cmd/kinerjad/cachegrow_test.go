package main

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// TestCatchUpCachesGrowUnderCyclicScan: a cold start whose caches hold
// one SKP each meets a cyclic scan (the drafts of S and T, whose events
// interleave: each event of one evicts the other, CLOCK's worst case).
// With --projection-cache-max-skps the caches grow instead of replaying a
// stream per event: fewer replays than caches that may not grow, and the
// same read models as caches that hold every SKP. Fails if the caches do
// not grow (the flag not wired, or Cache's growth gone).
func TestCatchUpCachesGrowUnderCyclicScan(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, "--snapshot-every", "0")
	journey(t, s)
	var vS, vT skp.View
	s.must(201, nipS, nil, "POST", "/v1/skps", httpapi.DraftBody{NIP: nipS, Year: 2025, Approach: "KUANTITATIF"}, &vS)
	s.must(201, nipT, nil, "POST", "/v1/skps", httpapi.DraftBody{NIP: nipT, Year: 2025, Approach: "KUANTITATIF"}, &vT)
	for i := range 4 {
		s.must(201, nipS, nil, "POST", "/v1/skps/"+vS.ID+"/rhk", httpapi.RHKBody{Text: "Tata kelola kesehatan " + strconv.Itoa(i), Kind: "UTAMA", PKRef: "PK-PEMKOT-2025-01"}, nil)
		s.must(201, nipT, nil, "POST", "/v1/skps/"+vT.ID+"/rhk", httpapi.RHKBody{Text: "Pembangunan kota " + strconv.Itoa(i), Kind: "UTAMA", PKRef: "PK-PEMKOT-2025-02"}, nil)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	servingBound := 0
	replays := func(s *server) int {
		t.Helper()
		l := logged(s, "read_models_caught_up")
		m := regexp.MustCompile(`"stream_replays":(\d+)`).FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("read_models_caught_up without stream_replays: %q", l)
		}
		n, _ := strconv.Atoi(m[1])
		// Serving: every SKP cache (the read models', the deadline
		// manager's, the consequence relay's) shrunk to the serving
		// bound, --projection-cache-skps 1 in the runs below that grow.
		c := regexp.MustCompile(`"skp_caches":(\d+),"cached_skps":(\d+)`).FindStringSubmatch(l)
		if c == nil {
			t.Fatalf("read_models_caught_up without skp_caches, cached_skps: %q", l)
		}
		caches, _ := strconv.Atoi(c[1])
		cached, _ := strconv.Atoi(c[2])
		if servingBound > 0 && (caches == 0 || cached > caches*servingBound) {
			t.Errorf("serving: %d SKP caches hold %d SKPs, want at most %d each", caches, cached, servingBound)
		}
		return n
	}

	run := func(args ...string) (map[string][]byte, int) {
		t.Helper()
		s := startServer(t, data, append([]string{"--snapshot-every", "0"}, args...)...)
		reads := map[string][]byte{}
		for k, v := range readsOf(t, s) {
			reads[k] = v
		}
		n := replays(s)
		if err := s.stop(); err != nil {
			t.Fatal(err)
		}
		return reads, n
	}
	want, _ := run("--projection-cache-skps", "100000")
	_, fixed := run("--projection-cache-skps", "1", "--projection-cache-max-skps", "0")
	servingBound = 1
	got, grown := run("--projection-cache-skps", "1", "--projection-cache-max-skps", "64")
	if grown >= fixed {
		t.Errorf("caches of one SKP that may grow to 64 replayed %d streams, ones that may not %d: they did not grow", grown, fixed)
	}
	for k, w := range want {
		if string(w) != string(got[k]) {
			t.Errorf("grown caches: %s differs:\nwant %s\ngot  %s", k, w, got[k])
		}
	}
	t.Logf("replays: fixed %d, grown %d", fixed, grown)
}
