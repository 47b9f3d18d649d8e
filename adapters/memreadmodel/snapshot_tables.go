package memreadmodel

import (
	"cmp"
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/objections"
	"github.com/kinerja-ledger/kinerja/projections/scores"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// The other tables' parts in a snapshot. Rows whose fields gob would
// change (gob writes an empty slice or map as nothing, read back as nil:
// JSON null instead of [] in the API) go as JSON; they are the few
// (units, justifications, objections). The many rows (employees, SKPs,
// evaluations, scores) hold only scalars and times, and go as gob, in
// batches so that no encoding holds a whole table. Indexes are rebuilt.

const snapBatch = 4096

// saveRows encodes rows in batches: the count of batches, then each.
func saveRows[R any](enc *gob.Encoder, rows []R) error {
	n := (len(rows) + snapBatch - 1) / snapBatch
	if err := enc.Encode(n); err != nil {
		return err
	}
	for i := 0; i < len(rows); i += snapBatch {
		if err := enc.Encode(rows[i:min(i+snapBatch, len(rows))]); err != nil {
			return err
		}
	}
	return nil
}

// minRowBytes bounds the rows a section can hold from its length when
// loadRows sizes the tables: every row gob writes in these tables (keys of
// two IDs and more) takes more.
const minRowBytes = 16

// loadRows decodes the batches saveRows wrote into each row in turn. Before
// the first it calls sized with the rows the batches may hold (their count
// times snapBatch, at most bodyLen/minRowBytes), so that the tables are
// made to their size rather than grown by doubling. One batch slice is
// reused: zeroed before each decoding, since gob leaves what it does not
// send (a zero field, a nil pointer) as it finds it, and each must copy
// what it keeps from the row it is given.
func loadRows[R any](dec *gob.Decoder, bodyLen uint64, sized func(rows int), each func(*R) error) error {
	var n int
	if err := dec.Decode(&n); err != nil {
		return err
	}
	if n < 0 || uint64(n) > bodyLen {
		return fmt.Errorf("%d batches in a section of %d bytes", n, bodyLen)
	}
	if sized != nil {
		sized(int(min(uint64(n)*snapBatch, bodyLen/minRowBytes)))
	}
	var batch []R
	for range n {
		clear(batch[:cap(batch)])
		batch = batch[:0]
		if err := dec.Decode(&batch); err != nil {
			return err
		}
		for i := range batch {
			if err := each(&batch[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// saveJSON encodes rows as one JSON document.
func saveJSON[R any](enc *gob.Encoder, rows []R) error {
	b, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	return enc.Encode(b)
}

func loadJSON[R any](dec *gob.Decoder) ([]R, error) {
	var b []byte
	if err := dec.Decode(&b); err != nil {
		return nil, err
	}
	var rows []R
	return rows, json.Unmarshal(b, &rows)
}

func values[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// Directory: units and justifications as JSON, employees as gob.

func (t *directoryTables) save(enc *gob.Encoder) error {
	if err := saveJSON(enc, values(t.units)); err != nil {
		return err
	}
	if err := saveJSON(enc, values(t.just)); err != nil {
		return err
	}
	return saveRows(enc, values(t.emps))
}

func (t *directoryTables) load(dec *gob.Decoder, bodyLen uint64) error {
	t.reset()
	units, err := loadJSON[directory.Unit](dec)
	if err != nil {
		return err
	}
	for _, u := range units {
		t.units[u.ID] = u
	}
	just, err := loadJSON[directory.Justification](dec)
	if err != nil {
		return err
	}
	for _, j := range just {
		t.just[periodKey{j.UnitID, j.Period}] = j
	}
	return loadRows(dec, bodyLen, func(rows int) {
		t.emps = make(map[string]directory.Employee, rows)
		t.keys = make(map[string]string, rows)
	}, func(p *directory.Employee) error {
		e := *p
		if _, dup := t.emps[e.NIP]; dup {
			return fmt.Errorf("employee %s twice", e.NIP)
		}
		if t.byUnit[e.UnitID] == nil {
			t.byUnit[e.UnitID] = map[string]bool{}
		}
		t.byUnit[e.UnitID][e.NIP] = true
		t.emps[e.NIP] = e
		t.keys[e.NIP] = directory.FoldName(e.Name)
		return nil
	})
}

// SKPs: the rows, in the order of the (unit, year) lists.

func (t *skpsTables) save(enc *gob.Encoder) error {
	rows := make([]skps.Summary, 0, len(t.rows))
	keys := make([]unitYear, 0, len(t.byUnitYear))
	for k := range t.byUnitYear {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b unitYear) int { return cmp.Or(cmp.Compare(a.unit, b.unit), cmp.Compare(a.year, b.year)) })
	for _, k := range keys {
		for _, id := range t.byUnitYear[k] {
			rows = append(rows, t.rows[id])
		}
	}
	if len(rows) != len(t.rows) {
		return fmt.Errorf("skps: %d rows, %d indexed", len(t.rows), len(rows))
	}
	return saveRows(enc, rows)
}

func (t *skpsTables) load(dec *gob.Decoder, bodyLen uint64) error {
	t.reset()
	return loadRows(dec, bodyLen, func(rows int) {
		t.rows = make(map[string]skps.Summary, rows)
	}, func(p *skps.Summary) error {
		s := *p
		if _, dup := t.rows[s.ID]; dup {
			return fmt.Errorf("SKP %s twice", s.ID)
		}
		k := unitYear{s.UnitID, s.Year}
		t.byUnitYear[k] = append(t.byUnitYear[k], s.ID)
		t.rows[s.ID] = s
		t.version++
		return nil
	})
}

// Evaluations (readers sort; the keys are unique per SKP and period).

func (t *evaluationsTables) save(enc *gob.Encoder) error { return saveRows(enc, values(t.rows)) }

func (t *evaluationsTables) load(dec *gob.Decoder, bodyLen uint64) error {
	t.reset()
	in := interner{}
	return loadRows(dec, bodyLen, func(rows int) {
		t.rows = make(map[evalKey]evaluations.Evaluation, rows)
	}, func(e *evaluations.Evaluation) error {
		for _, p := range []*string{&e.SKPID, &e.NIP, &e.UnitID, &e.Period, &e.WorkResult, &e.Behaviour, &e.Predikat, &e.Status, &e.AppraiserNIP} {
			intern(in, p)
		}
		k := evalKey{e.SKPID, e.Period}
		if _, dup := t.rows[k]; dup {
			return fmt.Errorf("evaluation %s %s twice", e.SKPID, e.Period)
		}
		t.rows[k] = *e
		t.byPeriod[k.period] = append(t.byPeriod[k.period], k)
		t.bySKP[k.skp] = append(t.bySKP[k.skp], k)
		return nil
	})
}

// Scores, in the global order (readers sort).

func (t *scoresTables) save(enc *gob.Encoder) error {
	rows := values(t.rows)
	slices.SortFunc(rows, func(a, b scores.Entry) int {
		return cmp.Or(cmp.Compare(a.Position, b.Position), cmp.Compare(a.SKPID, b.SKPID), cmp.Compare(a.EventID, b.EventID))
	})
	return saveRows(enc, rows)
}

func (t *scoresTables) load(dec *gob.Decoder, bodyLen uint64) error {
	t.reset()
	in := interner{}
	return loadRows(dec, bodyLen, func(rows int) {
		t.rows = make(map[scoreKey]scores.Entry, rows)
	}, func(e *scores.Entry) error {
		for _, p := range []*string{&e.SKPID, &e.NIP, &e.UnitID, &e.Period, &e.Rationale, &e.Reason, &e.Actor.ID, &e.ObjectionID} {
			intern(in, p)
		}
		internScores(in, &e.Scores)
		if e.Previous != nil {
			internScores(in, e.Previous)
		}
		intern(in, &e.Source)
		intern(in, &e.Actor.Role)
		k := scoreKey{e.SKPID, e.EventID}
		if _, dup := t.rows[k]; dup {
			return fmt.Errorf("score %s %s twice", e.SKPID, e.EventID)
		}
		t.rows[k] = *e
		t.bySKP[k.skp] = append(t.bySKP[k.skp], k)
		t.byNIP[e.NIP] = append(t.byNIP[e.NIP], k)
		return nil
	})
}

// Objections as JSON.

func (t *objectionsTables) save(enc *gob.Encoder) error { return saveJSON(enc, values(t.rows)) }

func (t *objectionsTables) load(dec *gob.Decoder, _ uint64) error {
	t.reset()
	rows, err := loadJSON[objections.Objection](dec)
	if err != nil {
		return err
	}
	for _, o := range rows {
		t.rows[o.ID] = o
	}
	return nil
}

// Timeline: the string table, the packed event records in blocks, and
// each employee's references.

const tlRecSize = 8*4 + 6*4

type timelineHead struct {
	Strs    []string
	NBlocks int
	NIPs    int
}

type timelineRefs struct {
	NIP  string
	Refs []uint32 // event, role, event, role…
}

func (t *timelineTables) save(enc *gob.Encoder) error {
	if err := enc.Encode(timelineHead{Strs: t.strs.strs, NBlocks: len(t.events.blocks), NIPs: len(t.byNIP)}); err != nil {
		return err
	}
	buf := make([]byte, 0, tlRecSize<<chunkBits)
	for _, b := range t.events.blocks {
		buf = buf[:0]
		for i := range b {
			e := &b[i]
			for _, v := range [4]uint64{uint64(e.position), e.revision, uint64(e.occurredAt), uint64(e.recordedAt)} {
				buf = binary.LittleEndian.AppendUint64(buf, v)
			}
			for _, v := range [6]uint32{e.stream, e.typ, e.summary, e.actorID, e.actorRole, e.reason} {
				buf = binary.LittleEndian.AppendUint32(buf, v)
			}
		}
		if err := enc.Encode(buf); err != nil {
			return err
		}
	}
	batch := make([]timelineRefs, 0, snapBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := enc.Encode(batch)
		batch = batch[:0]
		return err
	}
	for nip, refs := range t.byNIP {
		r := make([]uint32, 0, 2*len(refs))
		for _, x := range refs {
			r = append(r, x.event, x.role)
		}
		if batch = append(batch, timelineRefs{NIP: nip, Refs: r}); len(batch) == snapBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func (t *timelineTables) load(dec *gob.Decoder, _ uint64) error {
	var h timelineHead
	if err := dec.Decode(&h); err != nil {
		return err
	}
	strs, err := loadStrtab(h.Strs)
	if err != nil {
		return err
	}
	t.reset()
	t.strs = strs
	n := uint32(len(strs.strs))
	var buf []byte
	for range h.NBlocks {
		buf = buf[:0]
		if err := dec.Decode(&buf); err != nil {
			return err
		}
		if len(buf)%tlRecSize != 0 || len(buf) > tlRecSize<<chunkBits {
			return fmt.Errorf("timeline block of %d bytes", len(buf))
		}
		for r := buf; len(r) > 0; r = r[tlRecSize:] {
			var v [6]uint32
			for i := range v {
				if v[i] = binary.LittleEndian.Uint32(r[32+4*i:]); v[i] >= n {
					return fmt.Errorf("timeline string %d of %d", v[i], n)
				}
			}
			t.events.add(tlEvent{position: eventstore.Position(binary.LittleEndian.Uint64(r)), revision: binary.LittleEndian.Uint64(r[8:]),
				occurredAt: int64(binary.LittleEndian.Uint64(r[16:])), recordedAt: int64(binary.LittleEndian.Uint64(r[24:])),
				stream: v[0], typ: v[1], summary: v[2], actorID: v[3], actorRole: v[4], reason: v[5]})
		}
	}
	events := uint32(t.events.len())
	for seen := 0; seen < h.NIPs; {
		var batch []timelineRefs
		if err := dec.Decode(&batch); err != nil {
			return err
		}
		if len(batch) == 0 {
			return fmt.Errorf("empty timeline batch")
		}
		for _, r := range batch {
			if len(r.Refs)%2 != 0 {
				return fmt.Errorf("timeline of %s: odd references", r.NIP)
			}
			if _, dup := t.byNIP[r.NIP]; dup {
				return fmt.Errorf("timeline of %s twice", r.NIP)
			}
			refs := make([]tlRef, len(r.Refs)/2)
			for i := range refs {
				refs[i] = tlRef{event: r.Refs[2*i], role: r.Refs[2*i+1]}
				if refs[i].event >= events || refs[i].role >= n {
					return fmt.Errorf("timeline of %s: reference out of range", r.NIP)
				}
			}
			t.byNIP[r.NIP] = refs
		}
		seen += len(batch)
	}
	return nil
}

func internScores(in interner, s *skp.Scores) {
	intern(in, &s.WorkResult)
	intern(in, &s.Behaviour)
	intern(in, &s.Predikat)
}
