package main

import "runtime"

// With --debug-addr, /debug/pprof/block and /debug/pprof/mutex hold
// samples only once their rates are set: the runtime records neither by
// default, and their profiles were empty (docs/bench/mutation_ab.sh
// PROFILE=1 fetched them; docs/benchmarks.md, branch mutcpu). The rates
// cost a little CPU on every contended lock and every blocking event, so
// they are set only when the debug listener is asked for.
const (
	// mutexProfileFraction: one contention event in this many is sampled.
	mutexProfileFraction = 100
	// blockProfileRateNS: one sample per this many nanoseconds blocked.
	blockProfileRateNS = 100_000
)

// enableContentionProfiles sets the block and mutex profiles' rates.
func enableContentionProfiles() {
	runtime.SetMutexProfileFraction(mutexProfileFraction)
	runtime.SetBlockProfileRate(blockProfileRateNS)
}
