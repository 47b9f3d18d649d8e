package pgreadmodel

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// column is a column written from a parameter array: name, the array's
// element type, and an optional cast of each element (text → jsonb).
type column struct {
	name, typ, cast string
}

// insertSQL returns a statement that writes rows given as one array per
// column: INSERT ... SELECT FROM unnest(...). With conflict, a row whose key
// exists replaces it (every other column); without, a conflict is an error.
// One statement writes a whole batch: its cost is one plan and one round
// trip (shared with the batch's other statements), not one per row.
func insertSQL(table string, cols []column, conflict ...string) string {
	var names, params, sel, set []string
	for i, c := range cols {
		names = append(names, c.name)
		params = append(params, fmt.Sprintf("$%d::%s[]", i+1, c.typ))
		if c.cast != "" {
			sel = append(sel, "u."+c.name+"::"+c.cast)
		} else {
			sel = append(sel, "u."+c.name)
		}
		if !slices.Contains(conflict, c.name) {
			set = append(set, c.name+" = excluded."+c.name)
		}
	}
	q := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM unnest(%s) AS u(%s)", table, strings.Join(names, ", "),
		strings.Join(sel, ", "), strings.Join(params, ", "), strings.Join(names, ", "))
	if len(conflict) > 0 {
		q += fmt.Sprintf(" ON CONFLICT (%s) DO UPDATE SET %s", strings.Join(conflict, ", "), strings.Join(set, ", "))
	}
	return q
}

// nullTime is t as a nullable timestamptz (nil: NULL).
func nullTime(t *time.Time) pgtype.Timestamptz {
	if t == nil {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: *t, Valid: true}
}

// timePtr is the inverse of nullTime, in UTC.
func timePtr(t pgtype.Timestamptz) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// ceilMicro rounds t up to PostgreSQL's microsecond, so that comparing
// stored (microsecond) times with it in SQL agrees with comparing them with
// t in Go: for a stored s, s >= t ⇔ s >= ceil(t) and s < t ⇔ s < ceil(t).
func ceilMicro(t time.Time) time.Time {
	if r := t.Truncate(time.Microsecond); !r.Equal(t) {
		return r.Add(time.Microsecond)
	}
	return t
}
