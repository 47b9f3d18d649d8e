package imports_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/xuri/excelize/v2"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/app/imports"
	"github.com/kinerja-ledger/kinerja/adapters/app/seed"
	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
)

type noVerifier struct{}

func (noVerifier) Verify(context.Context) (audit.Report, error) { return audit.Report{}, nil }

var now = time.Date(2026, time.December, 6, 10, 0, 0, 0, policy.WIB)

var hr = domain.Principal{ID: "hr-1", Roles: []domain.Role{domain.RoleHRAdmin}}

type env struct {
	store eventstore.Store
	app   *app.App
	im    *imports.Importer
}

func newEnv(t testing.TB, store eventstore.Store) *env {
	t.Helper()
	clock := func() time.Time { return now }
	idem, err := boltstore.OpenIdempotency(filepath.Join(t.TempDir(), "idempotency.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idem.Close() })
	pol := policy.Default()
	h := &domain.Handler{Log: eventlog.New(store), Now: clock, NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }}
	svc := seed.NewServices(h, pol)
	model := memreadmodel.New(memreadmodel.Options{History: projections.StoreHistory{Store: store}, Now: clock})
	a, err := app.New(app.Config{
		Units: svc.Units, Employees: svc.Employees, SKPs: svc.SKPs, Distribution: svc.Distribution, Store: store,
		Directory: model.Directory(), SKPList: model.SKPs(), Audit: model.Audit(), Verifier: noVerifier{},
		Idempotency: idem, Policy: pol, Now: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	im, err := imports.New(imports.Config{App: a})
	if err != nil {
		t.Fatal(err)
	}
	return &env{store: store, app: a, im: im}
}

func boltEnv(t testing.TB) *env {
	t.Helper()
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "kinerja.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return newEnv(t, store)
}

var pgSchemas atomic.Int64

func pgEnv(t testing.TB) *env {
	t.Helper()
	url := os.Getenv("KINERJA_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("KINERJA_TEST_POSTGRES_URL is not set but KINERJA_REQUIRE_INTEGRATION=1")
		}
		t.Skip("KINERJA_TEST_POSTGRES_URL not set")
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("imports_%d_%d_%d", os.Getpid(), time.Now().UnixNano(), pgSchemas.Add(1))
	if _, err := pgstore.Migrate(ctx, pool, schema); err != nil {
		pool.Close()
		t.Fatal(err)
	}
	store, err := pgstore.Open(ctx, pool, pgstore.Options{Schema: schema})
	if err != nil {
		pool.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		store.Close()
		pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		pool.Close()
	})
	return newEnv(t, store)
}

// run imports data and waits for the job.
func (e *env) run(t testing.TB, data string, dryRun bool) imports.Status {
	t.Helper()
	j, _, err := e.im.Start(context.Background(), imports.Request{Caller: hr, Filename: "f.csv", Data: []byte(data), DryRun: dryRun, PaperRef: "SK-IMP-1/2026"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := j.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	return j.Status()
}

func (e *env) events(t testing.TB) int {
	t.Helper()
	n := 0
	for _, err := range e.store.ReadAll(context.Background(), eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

const units = "\ufeffID Unit;Nama Unit;ID Unit Induk\nBKD;Badan Kepegawaian Daerah;\nBKD-SEK;Sekretariat;BKD\nBKD-MUT;Bidang Mutasi;BKD\n"

// NIPs of the sample: head, two pengawas, three staff.
const (
	nipHead = "197001012000011001"
	nipSek  = "197502022000011002"
	nipMut  = "197603032000012003"
	nipA    = "198004042005011004"
	nipB    = "198105052005012005"
)

func employees(extra string) string {
	return "NIP,Nama,Jenis Jabatan,Nama Jabatan,ID Unit,NIP Pejabat Penilai,NIP Atasan Pejabat Penilai,TMT\n" +
		// The subordinates come first: the importer orders appraisers first.
		nipA + ",Andi,PELAKSANA,Pengadministrasi Umum,BKD-SEK," + nipSek + ",,2026-11-02\n" +
		nipSek + ",Sari,Administrator,Sekretaris,BKD-SEK," + nipHead + ",official:GUBERNUR,2026-11-02\n" +
		nipHead + ",Budi,JPT Pratama,Kepala Badan,BKD,,,\n" +
		nipMut + ",Maya,ADMINISTRATOR,Kepala Bidang Mutasi,BKD-MUT," + nipHead + ",official:GUBERNUR,02-11-2026\n" +
		nipB + ",Beni,JF,Analis SDM Aparatur,BKD-MUT," + nipMut + ",,2026-11-02\n" + extra
}

func TestApplyAndReapply(t *testing.T) {
	e := boltEnv(t)
	officials(t, e)
	st := e.run(t, units, false)
	if st.State != imports.Done || st.Applied != 3 || st.Refused != 0 {
		t.Fatalf("units: %+v", st)
	}
	st = e.run(t, employees(""), false)
	if st.State != imports.Done || st.Applied != 5 || st.Refused != 0 {
		t.Fatalf("employees: state %s applied %d refused %d rows %+v", st.State, st.Applied, st.Refused, st.Rows)
	}
	before := e.events(t)
	// The same file again: nothing new.
	st = e.run(t, employees(""), false)
	if st.Unchanged != 5 || st.Applied != 0 {
		t.Fatalf("re-import: applied %d unchanged %d rows %+v", st.Applied, st.Unchanged, st.Rows)
	}
	if got := e.events(t); got != before {
		t.Errorf("re-import appended %d events", got-before)
	}
	// A changed row records only the change: Beni moves to the secretariat
	// under Sari from March.
	changed := strings.Replace(employees(""), nipB+",Beni,JF,Analis SDM Aparatur,BKD-MUT,"+nipMut+",,2026-11-02",
		nipB+",Beni,JF,Analis SDM Aparatur,BKD-SEK,"+nipSek+",,2026-11-16", 1)
	st = e.run(t, changed, false)
	if st.Applied != 1 || st.Unchanged != 4 || st.Events != 2 {
		t.Fatalf("changed row: applied %d unchanged %d events %d rows %+v", st.Applied, st.Unchanged, st.Events, st.Rows)
	}
	if got := e.events(t); got != before+2 {
		t.Errorf("changed row appended %d events, want 2 (post and line)", got-before)
	}
}

// officials registers the governor the sample's top lines name.
func officials(t *testing.T, e *env) {
	t.Helper()
	// The import does not register officials; the ledger's own command does.
	h := &domain.Handler{Log: eventlog.New(e.store), Now: func() time.Time { return now }, NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }}
	svc := seed.NewServices(h, policy.Default())
	if _, err := svc.Employees.RegisterOfficial(context.Background(), domain.Request{Caller: hr}, employee.RegisterOfficial{ID: "GUBERNUR", Kind: "GOVERNOR", Title: "Gubernur"}); err != nil {
		t.Fatal(err)
	}
}

func TestDryRunRecordsNothing(t *testing.T) {
	e := boltEnv(t)
	officials(t, e)
	before := e.events(t)
	// Units and employees in one XLSX, two sheets: the dry run sees the
	// units of the first sheet when it checks the second.
	st := e.run(t, string(xlsx(t, units, employees(""))), true)
	if st.State != imports.Done || st.Applied != 8 || st.Refused != 0 {
		t.Fatalf("dry run: %+v", st)
	}
	if got := e.events(t); got != before {
		t.Errorf("dry run appended %d events", got-before)
	}
}

// xlsx builds a workbook with a sheet per CSV (comma or semicolon).
func xlsx(t testing.TB, csvs ...string) []byte {
	t.Helper()
	f := excelize.NewFile()
	for i, c := range csvs {
		name := fmt.Sprintf("Lembar%d", i+1)
		if i == 0 {
			f.SetSheetName("Sheet1", name)
		} else {
			f.NewSheet(name)
		}
		c = strings.TrimPrefix(c, "\ufeff")
		sep := ","
		if strings.Count(strings.SplitN(c, "\n", 2)[0], ";") > 0 {
			sep = ";"
		}
		for r, line := range strings.Split(strings.TrimSpace(c), "\n") {
			for col, v := range strings.Split(line, sep) {
				cell, _ := excelize.CoordinatesToCellName(col+1, r+1)
				f.SetCellStr(name, cell, v)
			}
		}
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestBadRowIsAllOrNothing(t *testing.T) {
	e := boltEnv(t)
	officials(t, e)
	e.run(t, units, false)
	before := e.events(t)
	// Andi's appraiser is nobody in the ledger or the file: his
	// registration must not be recorded without the line.
	bad := "NIP;Nama;Jenis Jabatan;Nama Jabatan;ID Unit;NIP Pejabat Penilai;TMT\n" +
		nipA + ";Andi;PELAKSANA;Pengadministrasi Umum;BKD-SEK;199001012015031001;2026-11-02\n"
	st := e.run(t, bad, false)
	if st.Refused != 1 || st.Applied != 0 {
		t.Fatalf("got %+v", st)
	}
	if got := e.events(t); got != before {
		t.Errorf("a refused row appended %d events", got-before)
	}
	p := st.Rows[0].Problems
	if len(p) == 0 || p[0].Row != 2 || p[0].Column == "" || p[0].ID == "" || p[0].EN == "" {
		t.Errorf("problems %+v: want row 2 with a column and both languages", p)
	}
}

func TestAdversarialFiles(t *testing.T) {
	header := "NIP,Nama,Jenis Jabatan,Nama Jabatan,ID Unit\n"
	for _, tc := range []struct {
		name string
		data []byte
		code string
	}{
		{"empty", nil, imports.CodeEmpty},
		{"blank", []byte("\n \n"), imports.CodeEmpty},
		{"utf16", append([]byte{0xff, 0xfe}, []byte("N\x00I\x00P\x00")...), imports.CodeEncoding},
		{"latin1", []byte("NIP,Nama,Jenis Jabatan,Nama Jabatan,ID Unit\n1,Jos\xe9,JF,x,BKD\n"), imports.CodeEncoding},
		{"missing columns", []byte("NIP,Nama\n" + nipA + ",Andi\n"), imports.CodeMissingCol},
		{"unknown header", []byte("foo,bar\n1,2\n"), imports.CodeMissingCol},
		{"too large", bytes.Repeat([]byte("a"), 2<<20), imports.CodeTooLarge},
		{"too many rows", []byte(header + strings.Repeat(nipA+",Andi,JF,x,BKD\n", 101)), imports.CodeTooManyRows},
		{"xls", []byte{0xd0, 0xcf, 0x11, 0xe0, 1, 2, 3}, imports.CodeFormat},
		{"broken xlsx", []byte("PK\x03\x04garbage"), imports.CodeFormat},
		{"unbalanced quote", []byte(header + "\"" + nipA + ",Andi,JF,x,BKD\n"), imports.CodeFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := imports.Parse(tc.data, imports.Limits{MaxBytes: 1 << 20, MaxRows: 100})
			if len(probs) == 0 || probs[0].Code != tc.code {
				t.Fatalf("Parse = %+v, want code %s", probs, tc.code)
			}
			if probs[0].ID == "" || probs[0].EN == "" {
				t.Errorf("a message is missing: %+v", probs[0])
			}
		})
	}
}

func TestAdversarialRows(t *testing.T) {
	today := calendar.MustNew(2026, time.December, 6)
	header := "NIP;Nama;Jenis Jabatan;Nama Jabatan;ID Unit;NIP Pejabat Penilai;TMT\n"
	for _, tc := range []struct {
		name, row, code, column string
	}{
		{"excel number", "1.97E+17;Andi;JF;Analis;BKD;;", imports.CodeNIPNumber, "NIP"},
		{"excel number id", "1,98004E+17;Andi;JF;Analis;BKD;;", imports.CodeNIPNumber, "NIP"},
		{"formula", nipA + ";=CMD|' /C calc'!A0;JF;Analis;BKD;;", imports.CodeFormula, "Nama"},
		{"formula at", nipA + ";Andi;JF;@SUM(A1);BKD;;", imports.CodeFormula, "Nama Jabatan"},
		{"control char", nipA + ";An\x01di;JF;Analis;BKD;;", imports.CodeText, "Nama"},
		{"NUL", nipA + ";Andi;JF;Ana\x00lis;BKD;;", imports.CodeText, "Nama Jabatan"},
		{"bad nip", "12345;Andi;JF;Analis;BKD;;", imports.CodeNIP, "NIP"},
		{"bad kind", nipA + ";Andi;PRESIDEN;Analis;BKD;;", imports.CodeValue, "Jenis Jabatan"},
		{"old date", nipA + ";Andi;JF;Analis;BKD;" + nipSek + ";1900-01-01", imports.CodeDate, "TMT"},
		{"bad date", nipA + ";Andi;JF;Analis;BKD;" + nipSek + ";31-02-2026", imports.CodeDate, "TMT"},
		{"self appraisal", nipA + ";Andi;JF;Analis;BKD;" + nipA + ";2026-11-02", imports.CodeValue, "NIP Pejabat Penilai"},
		{"bad unit", nipA + ";Andi;JF;Analis;../etc;;", imports.CodeValue, "ID Unit"},
		{"huge name", nipA + ";" + strings.Repeat("a", 300) + ";JF;Analis;BKD;;", imports.CodeValue, "Nama"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tables, probs := imports.Parse([]byte(header+tc.row+"\n"), imports.Limits{})
			if len(probs) > 0 {
				t.Fatal(probs)
			}
			p := imports.Check(tables, today)
			if len(p.Employees) != 0 || len(p.Refused) == 0 {
				t.Fatalf("Check passed the row: %+v", p)
			}
			if got := p.Refused[0]; got.Code != tc.code || got.Column != tc.column || got.Row != 2 {
				t.Errorf("problem %+v, want %s in %s at row 2", got, tc.code, tc.column)
			}
		})
	}
}

func TestDuplicatesAndCycles(t *testing.T) {
	today := calendar.MustNew(2026, time.December, 6)
	data := "NIP,Nama,Jenis Jabatan,Nama Jabatan,ID Unit,NIP Pejabat Penilai,TMT\n" +
		nipA + ",Andi,PENGAWAS,Kasubbag,BKD," + nipB + ",2026-11-02\n" +
		nipB + ",Beni,PENGAWAS,Kasubbag,BKD," + nipA + ",2026-11-02\n" +
		nipMut + ",Maya,JF,Analis,BKD,,\n" +
		"197603 0320000 12003,Maya,JF,Analis,BKD,,\n"
	tables, probs := imports.Parse([]byte(data), imports.Limits{})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	p := imports.Check(tables, today)
	codes := map[int]string{}
	for _, pr := range p.Refused {
		codes[pr.Row] = pr.Code
	}
	want := map[int]string{2: imports.CodeCycle, 3: imports.CodeCycle, 5: imports.CodeDuplicate}
	for row, code := range want {
		if codes[row] != code {
			t.Errorf("row %d: %q, want %q (all: %v)", row, codes[row], code, codes)
		}
	}
	if len(p.Employees) != 1 {
		t.Errorf("%d rows passed, want 1", len(p.Employees))
	}
}

func TestOnlyHRAdmin(t *testing.T) {
	e := boltEnv(t)
	_, _, err := e.im.Start(context.Background(), imports.Request{Caller: domain.Principal{ID: nipA}, Data: []byte(units)})
	if err == nil || !strings.Contains(app.Describe(err).Code, "forbidden") {
		t.Fatalf("Start by an employee = %v, want forbidden", err)
	}
	j, _, err := e.im.Start(context.Background(), imports.Request{Caller: hr, Data: []byte(units), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.im.Get(context.Background(), domain.Principal{ID: "hr-2", Roles: []domain.Role{domain.RoleHRAdmin}}, j.Status().ID); err == nil {
		t.Error("another HR admin saw the job")
	}
	e.im.Wait()
}

func TestDoubleUploadStartsOnce(t *testing.T) {
	e := boltEnv(t)
	a, created1, err := e.im.Start(context.Background(), imports.Request{Caller: hr, Data: []byte(units), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	b, created2, err := e.im.Start(context.Background(), imports.Request{Caller: hr, Data: []byte(units), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !created1 || created2 || a != b {
		t.Errorf("double upload: created %v %v, same job %v", created1, created2, a == b)
	}
	e.im.Wait()
}

// bigFile is n employees under ten pengawas, in two units.
func bigFile(n int) string {
	var b strings.Builder
	b.WriteString("NIP;Nama;Jenis Jabatan;Nama Jabatan;ID Unit;NIP Pejabat Penilai;NIP Atasan Pejabat Penilai;TMT\n")
	b.WriteString(nipHead + ";Budi;JPT_PRATAMA;Kepala Badan;BKD;;;\n")
	boss := make([]string, 10)
	for i := range boss {
		boss[i] = genNIP(i)
		fmt.Fprintf(&b, "%s;Pengawas %d;PENGAWAS;Kepala Subbagian %d;BKD-SEK;%s;official:GUBERNUR;2026-11-02\n", boss[i], i, i, nipHead)
	}
	for i := 10; i < n-1; i++ {
		fmt.Fprintf(&b, "%s;Pegawai %d;PELAKSANA;Pengadministrasi %d;BKD-MUT;%s;;2026-11-02\n", genNIP(i), i, i, boss[i%10])
	}
	return b.String()
}

// genNIP returns the i-th of up to 60,000 distinct valid NIPs.
func genNIP(i int) string {
	y, m, d := 1960+i%10, 1+(i/10)%12, 1+(i/120)%28
	return fmt.Sprintf("%04d%02d%02d200001%d%03d", y, m, d, 1+(i/3360)%2, 1+i/6720)
}

// TestTenThousand applies a 10,000-row file (KINERJA_IMPORT_BENCH=1; on
// PostgreSQL too when KINERJA_TEST_POSTGRES_URL is set); docs/benchmarks.md
// has the figures.
func TestTenThousand(t *testing.T) {
	if os.Getenv("KINERJA_IMPORT_BENCH") != "1" {
		t.Skip("set KINERJA_IMPORT_BENCH=1")
	}
	for _, tc := range []struct {
		name string
		env  func(testing.TB) *env
	}{{"bolt", boltEnv}, {"postgres", pgEnv}} {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.env(t)
			officials(t, e)
			e.run(t, units, false)
			data := bigFile(10_000)
			start := time.Now()
			dry := e.run(t, data, true)
			t.Logf("%s: dry run of 10,000 rows in %s (%d would apply)", tc.name, time.Since(start).Round(time.Millisecond), dry.Applied)
			start = time.Now()
			st := e.run(t, data, false)
			took := time.Since(start)
			if st.Applied != 10_000 || st.Refused != 0 {
				for _, r := range st.Rows {
					if r.Outcome == imports.Refused {
						t.Fatalf("row %d refused: %+v", r.Row, r.Problems)
					}
				}
				t.Fatalf("applied %d refused %d", st.Applied, st.Refused)
			}
			t.Logf("%s: 10,000 rows applied in %s (%d events)", tc.name, took.Round(time.Millisecond), st.Events)
			if took > 60*time.Second {
				t.Errorf("took %s, the budget is 60 s", took)
			}
			start = time.Now()
			st = e.run(t, data, false)
			t.Logf("%s: the same file again in %s: %d unchanged", tc.name, time.Since(start).Round(time.Millisecond), st.Unchanged)
			if st.Unchanged != 10_000 {
				t.Errorf("re-import: %d unchanged", st.Unchanged)
			}
		})
	}
}

// The sample files of docs/imports.md import as the document says: three
// units, then five employees, nothing refused; again, nothing changes.
func TestDocumentedSamples(t *testing.T) {
	e := boltEnv(t)
	officials(t, e)
	for _, name := range []string{"unit.csv", "pegawai.csv"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "imports", name))
		if err != nil {
			t.Fatal(err)
		}
		st := e.run(t, string(data), false)
		if st.State != imports.Done || st.Refused != 0 || st.Applied != st.Total || st.Total == 0 {
			t.Fatalf("%s: %+v", name, st)
		}
		if st = e.run(t, string(data), false); st.Unchanged != st.Total {
			t.Errorf("%s again: %+v", name, st)
		}
	}
}

// A job's record outlives its process: another Importer over the same
// stores (a restarted kinerjad) reads the finished job, and a job that
// never finished reads as FAILED, interrupted.
func TestJobRecordsSurviveARestart(t *testing.T) {
	e := boltEnv(t)
	st := e.run(t, units, false)
	again, err := imports.New(imports.Config{App: e.app})
	if err != nil {
		t.Fatal(err)
	}
	j, err := again.Get(context.Background(), hr, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := j.Status(); got.State != imports.Done || got.Applied != 3 || len(got.Rows) != 3 {
		t.Errorf("after a restart: %+v", got)
	}
	if _, err := again.Get(context.Background(), domain.Principal{ID: "hr-2", Roles: []domain.Role{domain.RoleHRAdmin}}, st.ID); err == nil {
		t.Error("another HR admin reads the record")
	}
	// A job whose process stopped before it finished left only its start.
	id := strings.Repeat("ab", 12)
	rec := fmt.Sprintf(`{"caller":%q,"status":{"id":%q,"state":"RUNNING","total":10,"done":4,"rows":[]}}`, hr.ID, id)
	if err := e.app.Config().Idempotency.Put(context.Background(), "kinerja/import-job/v1/start/"+id, []byte(rec), now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	j, err = again.Get(context.Background(), hr, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := j.Status(); got.State != imports.Failed || len(got.Problems) != 1 || got.Problems[0].Code != imports.CodeInterrupted {
		t.Errorf("an interrupted job: %+v", got)
	}
	if _, err := again.Get(context.Background(), hr, "../../etc"); err == nil {
		t.Error("a malformed job ID was looked up")
	}
}

// Rows that clash with the ledger are refused and record nothing: a unit
// the ledger holds under another parent (another agency's), an employee
// of a unit that exists nowhere, a registered employee under another name.
func TestLedgerConflicts(t *testing.T) {
	e := boltEnv(t)
	officials(t, e)
	e.run(t, units, false)
	e.run(t, employees(""), false)
	before := e.events(t)
	st := e.run(t, "ID Unit;Nama Unit;ID Unit Induk\nBKD-MUT;Bidang Mutasi;LAIN\n", false)
	if st.Refused != 1 || st.Rows[0].Problems[0].Code != imports.CodeConflict || st.Rows[0].Problems[0].Column != "ID Unit Induk" {
		t.Errorf("a unit under another parent: %+v", st.Rows)
	}
	data := "NIP;Nama;Jenis Jabatan;Nama Jabatan;ID Unit\n" +
		"199001012015031001;Orang Lain;JF;Analis;DINAS-LAIN\n" +
		nipA + ";Andi Berganti Nama;PELAKSANA;Pengadministrasi Umum;BKD-SEK\n"
	st = e.run(t, data, false)
	codes := map[int]string{}
	for _, r := range st.Rows {
		codes[r.Row] = r.Problems[0].Code
	}
	if codes[2] != imports.CodeUnknown || codes[3] != imports.CodeConflict {
		t.Errorf("codes %v, want unknown_reference at 2 and conflict at 3", codes)
	}
	if got := e.events(t); got != before {
		t.Errorf("refused rows appended %d events", got-before)
	}
}

// An NIP typed as a number in Excel is stored as a float: the raw cell is
// 1.97…E+17, refused with the message that says how to fix it.
func TestXLSXNumberNIP(t *testing.T) {
	f := excelize.NewFile()
	for i, h := range []string{"NIP", "Nama", "Jenis Jabatan", "Nama Jabatan", "ID Unit"} {
		cell, _ := excelize.CoordinatesToCellName(i+1, 1)
		f.SetCellStr("Sheet1", cell, h)
	}
	f.SetCellFloat("Sheet1", "A2", 1.97001012000011e17, -1, 64)
	f.SetCellStr("Sheet1", "B2", "Budi")
	f.SetCellStr("Sheet1", "C2", "JF")
	f.SetCellStr("Sheet1", "D2", "Analis")
	f.SetCellStr("Sheet1", "E2", "BKD")
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	tables, probs := imports.Parse(b.Bytes(), imports.Limits{})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	p := imports.Check(tables, calendar.MustNew(2026, time.December, 6))
	if len(p.Refused) != 1 || p.Refused[0].Code != imports.CodeNIPNumber || p.Refused[0].Sheet != "Sheet1" {
		t.Fatalf("refused %+v", p.Refused)
	}
	if !strings.Contains(p.Refused[0].ID, "Teks") {
		t.Errorf("the message does not say to format the column as Text: %s", p.Refused[0].ID)
	}
}

// The same file applied by two processes at once records each event once:
// the loser of each row's append re-decides on the ledger (nothing left to
// record) or meets its own derived event IDs.
func TestConcurrentApplyRecordsOnce(t *testing.T) {
	e := boltEnv(t)
	officials(t, e)
	e.run(t, units, false)
	before := e.events(t)
	other, err := imports.New(imports.Config{App: e.app})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(employees(""))
	var jobs []*imports.Job
	for _, im := range []*imports.Importer{e.im, other} {
		j, _, err := im.Start(context.Background(), imports.Request{Caller: hr, Data: data, PaperRef: "SK-1"})
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j)
	}
	applied := 0
	for _, j := range jobs {
		if err := j.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		st := j.Status()
		if st.Refused != 0 || st.Applied+st.Unchanged != 5 {
			t.Errorf("job %+v", st)
		}
		applied += st.Applied
	}
	if got := e.events(t) - before; got != 9 {
		t.Errorf("two applies recorded %d events, want 9 (five registrations, four lines)", got)
	}
	if applied < 5 {
		// A store may accept a pure repeat of the same event IDs as a
		// success, so both jobs may count a row; never fewer than five.
		t.Errorf("%d rows applied between the two jobs, want at least 5", applied)
	}
}

// A back-dated TMT is a backfill: without a decree reference the row is
// refused at the TMT, and nothing is recorded.
func TestBackdatedNeedsPaperRef(t *testing.T) {
	e := boltEnv(t)
	officials(t, e)
	e.run(t, units, false)
	before := e.events(t)
	j, _, err := e.im.Start(context.Background(), imports.Request{Caller: hr, Data: []byte(employees(""))})
	if err != nil {
		t.Fatal(err)
	}
	j.Wait(context.Background())
	st := j.Status()
	// The head has no line (no TMT) and is registered; the four others
	// are refused at the TMT (or, for Andi and Beni, also because their
	// appraiser's row was refused).
	if st.Applied != 1 || st.Refused != 4 {
		t.Fatalf("applied %d refused %d: %+v", st.Applied, st.Refused, st.Rows)
	}
	for _, r := range st.Rows {
		if r.Outcome == imports.Refused && (r.Problems[0].Column != "TMT" || r.Problems[0].Code != imports.CodeRequired) {
			t.Errorf("row %d: %+v", r.Row, r.Problems)
		}
	}
	if got := e.events(t) - before; got != 1 {
		t.Errorf("%d events, want 1 (the head's registration)", got)
	}
}

// sampleWorkbook is docs/imports/contoh.xlsx: the two sample CSVs as the
// sheets Unit and Pegawai, NIP columns as text, TMT as date cells.
func sampleWorkbook(t *testing.T) []byte {
	t.Helper()
	f := excelize.NewFile()
	text, _ := f.NewStyle(&excelize.Style{NumFmt: 49})
	date, _ := f.NewStyle(&excelize.Style{NumFmt: 14})
	for i, name := range []string{"unit.csv", "pegawai.csv"} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "imports", name))
		if err != nil {
			t.Fatal(err)
		}
		sheet := []string{"Unit", "Pegawai"}[i]
		if i == 0 {
			f.SetSheetName("Sheet1", sheet)
		} else {
			f.NewSheet(sheet)
		}
		var header []string
		for r, line := range strings.Split(strings.TrimSpace(strings.TrimPrefix(string(raw), "\ufeff")), "\n") {
			for c, v := range strings.Split(line, ";") {
				cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
				if r == 0 {
					header = append(header, v)
				}
				switch h := header[c]; {
				case r > 0 && h == "TMT" && v != "":
					d, ok := parseSampleDate(v)
					if !ok {
						t.Fatalf("%s: date %q", name, v)
					}
					f.SetCellValue(sheet, cell, d)
					f.SetCellStyle(sheet, cell, cell, date)
				case strings.HasPrefix(h, "NIP"):
					f.SetCellStr(sheet, cell, v)
					f.SetCellStyle(sheet, cell, cell, text)
				default:
					f.SetCellStr(sheet, cell, v)
				}
			}
		}
		f.SetColWidth(sheet, "A", "H", 24)
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func parseSampleDate(v string) (time.Time, bool) {
	for _, form := range []string{"2006-01-02", "02-01-2006"} {
		if d, err := time.Parse(form, v); err == nil {
			return d, true
		}
	}
	return time.Time{}, false
}

// docs/imports/contoh.xlsx (rewritten with KINERJA_WRITE_SAMPLE=1) imports
// as the two CSVs do: eight rows in one dry run, none refused.
func TestSampleWorkbook(t *testing.T) {
	path := filepath.Join("..", "..", "..", "docs", "imports", "contoh.xlsx")
	if os.Getenv("KINERJA_WRITE_SAMPLE") == "1" {
		if err := os.WriteFile(path, sampleWorkbook(t), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e := boltEnv(t)
	officials(t, e)
	st := e.run(t, string(data), true)
	if st.State != imports.Done || st.Total != 8 || st.Applied != 8 {
		t.Fatalf("the sample workbook: %+v", st)
	}
}

// A row without a TMT records its line from the day of the import; the
// same file on a later day changes nothing (the line in effect already
// says it).
func TestLineWithoutTMT(t *testing.T) {
	e := boltEnv(t)
	officials(t, e)
	e.run(t, units, false)
	e.run(t, employees(""), false)
	data := "NIP;Nama;Jenis Jabatan;Nama Jabatan;ID Unit;NIP Pejabat Penilai;TMT\n" +
		"199001012015031001;Citra;PELAKSANA;Pengadministrasi Umum;BKD-SEK;" + nipSek + ";\n"
	st := e.run(t, data, false)
	if st.Applied != 1 || st.Events != 2 {
		t.Fatalf("a line without TMT: %+v", st.Rows)
	}
	before := e.events(t)
	if st = e.run(t, data+"\n", false); st.Unchanged != 1 {
		t.Errorf("again: %+v", st.Rows)
	}
	if e.events(t) != before {
		t.Error("the same line again recorded events")
	}
}
