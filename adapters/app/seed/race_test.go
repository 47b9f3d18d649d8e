//go:build race

package seed_test

// raceEnabled: the race detector slows a large seed tenfold.
const raceEnabled = true
