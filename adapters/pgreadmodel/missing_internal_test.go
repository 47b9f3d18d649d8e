package pgreadmodel

import (
	"context"
	"slices"
	"testing"
)

// TestMissingMatchesBySetOrMultiset: the one comparison of a rebuilt
// table's keys and indexes with the live table's. Keys match as a set (a
// key the rebuilt table has answers for every alike definition of the
// live one); secondary indexes as a multiset (two alike indexes of the
// live table need two on the rebuilt one).
func TestMissingMatchesBySetOrMultiset(t *testing.T) {
	defs := map[string][]string{
		"live":    {"USING btree (nip)", "USING btree (nip)", "USING btree (unit_id)", "USING btree (year)"},
		"rebuilt": {"USING btree (nip)", "USING btree (year)"},
	}
	list := func(_ context.Context, _ dbQuerier, table string) ([]string, []string, error) {
		return slices.Clone(defs[table]), nil, nil
	}
	for _, c := range []struct {
		match matching
		want  []string
	}{
		{asSet, []string{"USING btree (unit_id)"}},
		{asMultiset, []string{"USING btree (nip)", "USING btree (unit_id)"}},
	} {
		got, err := missing(context.Background(), nil, list, c.match, "live", "rebuilt")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("match %d: missing %q, want %q", c.match, got, c.want)
		}
	}
}
