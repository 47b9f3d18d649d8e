package pgmigrate

import (
	"errors"
	"testing"
	"testing/fstest"
)

func TestMigrationsAreNumberedWithoutGaps(t *testing.T) {
	sql := &fstest.MapFile{Data: []byte("SELECT 1")}
	good := Set{Owner: "x", Files: fstest.MapFS{"migrations/0002_b.sql": sql, "migrations/0001_a.sql": sql}}
	ms, err := good.Migrations()
	if err != nil || len(ms) != 2 || ms[0].Name != "0001_a.sql" || ms[1].Version != 2 || good.Version() != 2 {
		t.Fatalf("Migrations() = %+v, %v; want 0001_a then 0002_b", ms, err)
	}
	for name, files := range map[string]fstest.MapFS{
		"a gap":      {"migrations/0001_a.sql": sql, "migrations/0003_c.sql": sql},
		"no number":  {"migrations/first.sql": sql},
		"number 0":   {"migrations/0000_a.sql": sql},
		"a repeated": {"migrations/0001_a.sql": sql, "migrations/0001_b.sql": sql},
	} {
		if _, err := (Set{Owner: "x", Files: files}).Migrations(); err == nil {
			t.Errorf("%s: Migrations() accepted %v", name, files)
		}
	}
}

func TestCheckSchemaName(t *testing.T) {
	bad := errors.New("bad")
	for _, name := range []string{"kinerja", "kinerja_rm", "_x", "a1"} {
		if err := CheckSchemaName(name, bad); err != nil {
			t.Errorf("CheckSchemaName(%q) = %v", name, err)
		}
	}
	for _, name := range []string{"", "Kinerja", "1abc", "a-b", "pg_kinerja", "a b", "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij"} {
		if err := CheckSchemaName(name, bad); !errors.Is(err, bad) {
			t.Errorf("CheckSchemaName(%q) = %v, want an error wrapping the sentinel", name, err)
		}
	}
}
