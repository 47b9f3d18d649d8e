package main

import (
	"io"
	"testing"
)

// TestPostgresTailReadersFlag: the flag and its variable reach the
// configuration, 0 leaves the store's default, and a negative count is
// refused; -1 turns the sharing off (pgstore.Options.TailReaders < 0).
func TestPostgresTailReadersFlag(t *testing.T) {
	none := func(string) string { return "" }
	c, err := parseConfig(nil, none, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.PostgresTailReaders != 0 {
		t.Errorf("default %d, want 0 (the store's default)", c.PostgresTailReaders)
	}
	if c, err = parseConfig([]string{"--postgres-tail-readers", "4"}, none, io.Discard); err != nil || c.PostgresTailReaders != 4 {
		t.Errorf("--postgres-tail-readers 4: %d, %v", c.PostgresTailReaders, err)
	}
	env := func(k string) string {
		if k == "KINERJA_POSTGRES_TAIL_READERS" {
			return "8"
		}
		return ""
	}
	if c, err = parseConfig(nil, env, io.Discard); err != nil || c.PostgresTailReaders != 8 {
		t.Errorf("KINERJA_POSTGRES_TAIL_READERS=8: %d, %v", c.PostgresTailReaders, err)
	}
	if c, err = parseConfig([]string{"--postgres-tail-readers", "-1"}, none, io.Discard); err != nil || c.PostgresTailReaders != -1 {
		t.Errorf("--postgres-tail-readers -1 (no sharing): %d, %v", c.PostgresTailReaders, err)
	}
	if _, err := parseConfig([]string{"--postgres-tail-readers", "-2"}, none, io.Discard); err == nil {
		t.Error("--postgres-tail-readers -2 was accepted")
	}
}
