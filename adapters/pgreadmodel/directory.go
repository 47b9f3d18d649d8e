package pgreadmodel

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/directory"
)

const unitCols = `id, name, parent_id, head_nip, head_from, performance, registered_at, zone`

func scanUnit(r pgx.Row) (directory.Unit, error) {
	var u directory.Unit
	var perf []byte
	if err := r.Scan(&u.ID, &u.Name, &u.ParentID, &u.HeadNIP, &u.HeadFrom, &perf, &u.RegisteredAt, &u.Zone); err != nil {
		return u, err
	}
	u.RegisteredAt = u.RegisteredAt.UTC()
	if len(perf) > 0 {
		if err := unmarshalDoc(perf, &u.Performance); err != nil {
			return u, err
		}
	}
	return u, nil
}

const employeeCols = `nip, name, asn_type, unit_id, position_kind, position_title, appraiser_nip, appraiser_superior_nip, effective_from, position_from`

func scanEmployee(r pgx.Row) (directory.Employee, error) {
	var e directory.Employee
	err := r.Scan(&e.NIP, &e.Name, &e.ASNType, &e.UnitID, &e.PositionKind, &e.PositionTitle, &e.AppraiserNIP, &e.AppraiserSuperiorNIP,
		&e.EffectiveFrom, &e.PositionFrom)
	return e, err
}

type directoryProjector struct{}

func (directoryProjector) forget() {}

func (directoryProjector) begin(tx pgx.Tx, n names) stager {
	return &directoryStage{tx: tx, n: n, units: map[string]*directory.Unit{}, emps: map[string]*directory.Employee{},
		just: map[[2]string]directory.Justification{}, dirtyUnits: map[string]bool{}, dirtyEmps: map[string]bool{}}
}

// directoryStage holds the rows of one Apply: those loaded before it (nil
// for a row known to be absent) and those it changed.
type directoryStage struct {
	tx         pgx.Tx
	n          names
	units      map[string]*directory.Unit
	emps       map[string]*directory.Employee
	just       map[[2]string]directory.Justification
	dirtyUnits map[string]bool
	dirtyEmps  map[string]bool
}

var _ directory.Store = (*directoryStage)(nil)

func (s *directoryStage) load(ctx context.Context, events []projections.Event) error {
	units, nips := directory.Keys(events)
	return s.fetch(ctx, units, nips)
}

func (s *directoryStage) fetch(ctx context.Context, units, nips []string) error {
	if len(units) > 0 {
		for _, id := range units {
			s.units[id] = nil
		}
		rows, err := s.tx.Query(ctx, `SELECT `+unitCols+` FROM `+s.n.t("units")+` WHERE id = ANY($1)`, units)
		if err != nil {
			return err
		}
		got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (directory.Unit, error) { return scanUnit(r) })
		if err != nil {
			return err
		}
		for i := range got {
			s.units[got[i].ID] = &got[i]
		}
	}
	if len(nips) > 0 {
		for _, n := range nips {
			s.emps[n] = nil
		}
		rows, err := s.tx.Query(ctx, `SELECT `+employeeCols+` FROM `+s.n.t("employees")+` WHERE nip = ANY($1)`, nips)
		if err != nil {
			return err
		}
		got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (directory.Employee, error) { return scanEmployee(r) })
		if err != nil {
			return err
		}
		for i := range got {
			s.emps[got[i].NIP] = &got[i]
		}
	}
	return nil
}

func (s *directoryStage) apply(ctx context.Context, ev projections.Event) error {
	return directory.Apply(ctx, s, ev)
}

func (s *directoryStage) Unit(ctx context.Context, id string) (directory.Unit, error) {
	u, ok := s.units[id]
	if !ok {
		if err := s.fetch(ctx, []string{id}, nil); err != nil {
			return directory.Unit{}, err
		}
		u = s.units[id]
	}
	if u == nil {
		return directory.Unit{}, fmt.Errorf("%w: unit %s", directory.ErrNotFound, id)
	}
	return *u, nil
}

func (s *directoryStage) Employee(ctx context.Context, nip string) (directory.Employee, error) {
	e, ok := s.emps[nip]
	if !ok {
		if err := s.fetch(ctx, nil, []string{nip}); err != nil {
			return directory.Employee{}, err
		}
		e = s.emps[nip]
	}
	if e == nil {
		return directory.Employee{}, fmt.Errorf("%w: employee %s", directory.ErrNotFound, nip)
	}
	return *e, nil
}

func (s *directoryStage) PutUnit(_ context.Context, u directory.Unit) error {
	s.units[u.ID], s.dirtyUnits[u.ID] = &u, true
	return nil
}

func (s *directoryStage) PutEmployee(_ context.Context, e directory.Employee) error {
	s.emps[e.NIP], s.dirtyEmps[e.NIP] = &e, true
	return nil
}

func (s *directoryStage) PutJustification(_ context.Context, j directory.Justification) error {
	s.just[[2]string{j.UnitID, j.Period}] = j
	return nil
}

var (
	unitColumns = []column{{"id", "text", ""}, {"name", "text", ""}, {"parent_id", "text", ""}, {"head_nip", "text", ""},
		{"head_from", "text", ""}, {"performance", "text", "jsonb"}, {"registered_at", "timestamptz", ""}, {"zone", "text", ""}}
	employeeColumns = []column{{"nip", "text", ""}, {"name", "text", ""}, {"asn_type", "text", ""}, {"unit_id", "text", ""},
		{"position_kind", "text", ""}, {"position_title", "text", ""}, {"appraiser_nip", "text", ""}, {"appraiser_superior_nip", "text", ""},
		{"effective_from", "text", ""}, {"position_from", "text", ""}, {"name_key", "text", ""}}
	justificationColumns = []column{{"unit_id", "text", ""}, {"period", "text", ""}, {"doc", "text", "jsonb"}}
)

func (s *directoryStage) flush(b *pgx.Batch) error {
	if n := len(s.dirtyUnits); n > 0 {
		var id, name, parent, head, from []string
		var perf []jsonDoc
		var reg []pgtype.Timestamptz
		var zone []string
		for k := range s.dirtyUnits {
			u := s.units[k]
			id, name, parent, head, from = append(id, u.ID), append(name, u.Name), append(parent, u.ParentID), append(head, u.HeadNIP), append(from, u.HeadFrom)
			var p jsonDoc
			if len(u.Performance) > 0 {
				var err error
				if p, err = marshalDoc(u.Performance); err != nil {
					return err
				}
			}
			perf = append(perf, p)
			reg = append(reg, pgtype.Timestamptz{Time: u.RegisteredAt, Valid: true})
			zone = append(zone, u.Zone)
		}
		b.Queue(insertSQL(s.n.t("units"), unitColumns, "id"), id, name, parent, head, from, perf, reg, zone)
	}
	if len(s.dirtyEmps) > 0 {
		cols := make([][]string, len(employeeColumns))
		for k := range s.dirtyEmps {
			e := s.emps[k]
			for i, v := range []string{e.NIP, e.Name, e.ASNType, e.UnitID, e.PositionKind, e.PositionTitle, e.AppraiserNIP, e.AppraiserSuperiorNIP, e.EffectiveFrom, e.PositionFrom, directory.FoldName(e.Name)} {
				cols[i] = append(cols[i], v)
			}
		}
		args := make([]any, len(cols))
		for i := range cols {
			args[i] = cols[i]
		}
		b.Queue(insertSQL(s.n.t("employees"), employeeColumns, "nip"), args...)
	}
	if len(s.just) > 0 {
		var unit, period []string
		var doc []jsonDoc
		for _, j := range s.just {
			d, err := marshalDoc(j)
			if err != nil {
				return err
			}
			unit, period, doc = append(unit, j.UnitID), append(period, j.Period), append(doc, d)
		}
		b.Queue(insertSQL(s.n.t("justifications"), justificationColumns, "unit_id", "period"), unit, period, doc)
	}
	return nil
}

// DirectoryReader is the query side of the directory in PostgreSQL: a
// directory.Reader and directory.JustificationReader.
type DirectoryReader struct{ db *DB }

var (
	_ directory.Reader              = (*DirectoryReader)(nil)
	_ directory.JustificationReader = (*DirectoryReader)(nil)
)

func (r *DirectoryReader) t(table string) string { return r.db.names.t(table) }

func (r *DirectoryReader) units(ctx context.Context, where string, args ...any) ([]directory.Unit, error) {
	rows, err := r.db.pool.Query(ctx, `SELECT `+unitCols+` FROM `+r.t("units")+` `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: units: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (directory.Unit, error) { return scanUnit(r) })
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: units: %w", err)
	}
	if out == nil {
		out = []directory.Unit{}
	}
	return out, nil
}

// Unit implements directory.Reader.
func (r *DirectoryReader) Unit(ctx context.Context, id string) (directory.Unit, error) {
	u, err := scanUnit(r.db.pool.QueryRow(ctx, `SELECT `+unitCols+` FROM `+r.t("units")+` WHERE id = $1`, id))
	if errNoRows(err) {
		return directory.Unit{}, fmt.Errorf("%w: unit %s", directory.ErrNotFound, id)
	}
	if err != nil {
		return directory.Unit{}, fmt.Errorf("pgreadmodel: unit %s: %w", id, err)
	}
	return u, nil
}

// Children implements directory.Reader.
func (r *DirectoryReader) Children(ctx context.Context, id string) ([]directory.Unit, error) {
	if id == "" {
		return []directory.Unit{}, nil
	}
	return r.units(ctx, `WHERE parent_id = $1`, id)
}

// Roots returns the IDs of the root units, the agencies (instansi) of the
// deployment, by ID (the parent index answers it).
func (r *DirectoryReader) Roots(ctx context.Context) ([]string, error) {
	units, err := r.units(ctx, `WHERE parent_id = ''`)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(units))
	for _, u := range units {
		out = append(out, u.ID)
	}
	return out, nil
}

// Subtree implements directory.Reader (through directory.SubtreeOf, so
// that both backends order it alike).
func (r *DirectoryReader) Subtree(ctx context.Context, id string) ([]string, error) {
	units, err := r.Units(ctx)
	if err != nil {
		return nil, err
	}
	return directory.SubtreeOf(units, id)
}

// Units implements directory.Reader.
func (r *DirectoryReader) Units(ctx context.Context) ([]directory.Unit, error) {
	return r.units(ctx, "")
}

// Employee implements directory.Reader.
func (r *DirectoryReader) Employee(ctx context.Context, nip string) (directory.Employee, error) {
	e, err := scanEmployee(r.db.pool.QueryRow(ctx, `SELECT `+employeeCols+` FROM `+r.t("employees")+` WHERE nip = $1`, nip))
	if errNoRows(err) {
		return directory.Employee{}, fmt.Errorf("%w: employee %s", directory.ErrNotFound, nip)
	}
	if err != nil {
		return directory.Employee{}, fmt.Errorf("pgreadmodel: employee %s: %w", nip, err)
	}
	return e, nil
}

// EmployeesIn implements directory.Reader.
func (r *DirectoryReader) EmployeesIn(ctx context.Context, units []string) ([]directory.Employee, error) {
	out := []directory.Employee{}
	if len(units) == 0 {
		return out, nil
	}
	rows, err := r.db.pool.Query(ctx, `SELECT `+employeeCols+` FROM `+r.t("employees")+` WHERE unit_id = ANY($1) ORDER BY nip`, units)
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: employees: %w", err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (directory.Employee, error) { return scanEmployee(r) })
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: employees: %w", err)
	}
	return append(out, got...), nil
}

// Justification implements directory.JustificationReader.
func (r *DirectoryReader) Justification(ctx context.Context, unit, period string) (directory.Justification, bool, error) {
	var doc []byte
	err := r.db.pool.QueryRow(ctx, `SELECT doc FROM `+r.t("justifications")+` WHERE unit_id = $1 AND period = $2`, unit, period).Scan(&doc)
	if errNoRows(err) {
		return directory.Justification{}, false, nil
	}
	if err != nil {
		return directory.Justification{}, false, fmt.Errorf("pgreadmodel: justification: %w", err)
	}
	var j directory.Justification
	if err := unmarshalDoc(doc, &j); err != nil {
		return directory.Justification{}, false, fmt.Errorf("pgreadmodel: justification: %w", err)
	}
	return j, true, nil
}

var _ directory.Searcher = (*DirectoryReader)(nil)

// Search implements directory.Searcher: a keyset page in (name_key, nip)
// order. A name prefix is a range on name_key, which the index serves.
func (r *DirectoryReader) Search(ctx context.Context, q directory.SearchQuery) ([]directory.Employee, string, error) {
	key, nip, err := directory.ParseSearchCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	if q.Units != nil && len(q.Units) == 0 || q.NIPs != nil && len(q.NIPs) == 0 {
		return []directory.Employee{}, "", nil
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if q.Name != "" {
		folded := directory.FoldName(q.Name)
		if q.NamePrefix {
			where = append(where, "name_key >= "+arg(folded)+" AND starts_with(name_key, "+arg(folded)+")")
		} else {
			where = append(where, "strpos(name_key, "+arg(folded)+") > 0")
		}
	}
	if q.NIPPrefix != "" {
		where = append(where, "starts_with(nip, "+arg(q.NIPPrefix)+")")
	}
	if q.Units != nil {
		where = append(where, "unit_id = ANY("+arg(q.Units)+")")
	}
	if q.Kind != "" {
		where = append(where, "position_kind = "+arg(q.Kind))
	}
	if q.NIPs != nil {
		where = append(where, "nip = ANY("+arg(q.NIPs)+")")
	}
	if len(q.NotNIPs) > 0 {
		where = append(where, "NOT (nip = ANY("+arg(q.NotNIPs)+"))")
	}
	if q.Cursor != "" {
		where = append(where, "(name_key, nip) > ("+arg(key)+", "+arg(nip)+")")
	}
	sql := `SELECT ` + employeeCols + ` FROM ` + r.t("employees")
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	limit := q.SearchLimit()
	sql += " ORDER BY name_key, nip LIMIT " + arg(limit+1)
	rows, err := r.db.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, "", fmt.Errorf("pgreadmodel: employee search: %w", err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (directory.Employee, error) { return scanEmployee(r) })
	if err != nil {
		return nil, "", fmt.Errorf("pgreadmodel: employee search: %w", err)
	}
	out, next := append([]directory.Employee{}, got...), ""
	if len(out) > limit {
		out = out[:limit]
		next = directory.SearchCursor(out[limit-1])
	}
	return out, next, nil
}
