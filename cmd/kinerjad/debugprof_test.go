package main

import (
	"runtime"
	"testing"
)

// TestContentionProfilesEnabled: the debug listener's block and mutex
// profiles record samples (their rates are set); fails if
// enableContentionProfiles sets nothing, as before, when both were empty.
func TestContentionProfilesEnabled(t *testing.T) {
	old := runtime.SetMutexProfileFraction(0)
	t.Cleanup(func() { runtime.SetMutexProfileFraction(old); runtime.SetBlockProfileRate(0) })
	runtime.SetBlockProfileRate(0)
	enableContentionProfiles()
	if got := runtime.SetMutexProfileFraction(-1); got != mutexProfileFraction {
		t.Errorf("mutex profile fraction %d, want %d", got, mutexProfileFraction)
	}
	// The block profile's rate has no getter: a blocking receive of more
	// than the rate must leave a sample.
	ch := make(chan struct{})
	go func() {
		for i := 0; i < 3; i++ {
			runtime.Gosched()
		}
		close(ch)
	}()
	<-ch
	for i := 0; i < 20; i++ {
		c := make(chan struct{})
		go func() { spin(); close(c) }()
		<-c
	}
	n, _ := runtime.BlockProfile(nil)
	if n == 0 {
		t.Error("no block profile records after blocking receives: the block profile rate is not set")
	}
}

// spin busies the goroutine for well over blockProfileRateNS.
func spin() {
	x := 0
	for i := 0; i < 2_000_000; i++ {
		x += i
	}
	_ = x
}
