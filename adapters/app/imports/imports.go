// Package imports is the application layer's bulk import of master data:
// units, employees and their reporting lines from a CSV or XLSX file in
// the layout of docs/imports.md (close to SIASN's exports). Both edges use
// it: the API (POST /v1/imports, GET /v1/imports/{id}) and the dashboard
// (the import pages of package web/feature/imports).
//
// An import runs in three steps. Parse reads the file (CSV in UTF-8 with
// or without BOM, ';' or ',' told apart by the header line; XLSX by its
// sheets) and refuses a file it cannot read as a whole. Check checks each
// row on its own and against the file (NIPs, Excel's 1.97E+17, text
// rules, formula cells, dates, duplicates, appraisal cycles in the file)
// and orders the rows: units parents first, then employees, appraisers
// before the people they appraise. Running the plan then decides every
// row with the domain's own commands (orgunit.Register and Rename,
// employee.Register, ChangePosition, AssignReportingLine) on an overlay
// of the event log: a row's events are appended to the ledger in one
// append to its stream, or not at all. A dry run decides every row the
// same way and records nothing.
//
// Re-importing a file changes nothing: each row compares with the ledger
// (a registered employee is not registered again; a line or post already
// in effect is not recorded again), and the event IDs are derived from
// the file's hash and the row, so that the same file applied twice at
// once appends its events once. A changed row records only the change.
//
// Jobs run asynchronously. Their records outlive a restart: each job's
// start and final status are written to the application layer's
// IdempotencyStore (bbolt in embedded mode, PostgreSQL otherwise) for the
// idempotency retention; a job that was running when the process stopped
// reads back as FAILED with the code "interrupted", and sending the file
// again records only what the first run did not.
package imports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/bizdate"
)

// Defaults of Config.
const (
	DefaultMaxBytes = 16 << 20
	DefaultMaxRows  = 20_000
	DefaultWorkers  = 4
	// DefaultKeep is how many finished jobs are kept in memory.
	DefaultKeep = 50
)

// Config configures an Importer.
type Config struct {
	// App is the application layer (services, clock, policy). Required.
	App *app.App
	// MaxBytes bounds a file (default DefaultMaxBytes).
	MaxBytes int64
	// MaxRows bounds the data rows of a file (default DefaultMaxRows).
	MaxRows int
	// Workers is how many rows of one level run at once (default
	// DefaultWorkers): appends to different streams overlap, and the
	// stores commit them in groups.
	Workers int
	// Keep bounds the finished jobs kept (default DefaultKeep).
	Keep int
	// Logger receives a line per finished job (counts only, never rows).
	Logger *slog.Logger
}

// Importer runs imports. Safe for concurrent use.
type Importer struct {
	cfg   Config
	store app.IdempotencyStore
	keep  time.Duration
	mu    sync.Mutex
	jobs  map[string]*Job
	byKey map[string]*Job // the latest job of each caller, file, mode and reference
	seq   uint64
	wg    sync.WaitGroup
}

// New returns an Importer.
func New(cfg Config) (*Importer, error) {
	if cfg.App == nil {
		return nil, errors.New("imports: App is required")
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxRows <= 0 {
		cfg.MaxRows = DefaultMaxRows
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Keep <= 0 {
		cfg.Keep = DefaultKeep
	}
	if cfg.Logger == nil {
		cfg.Logger = cfg.App.Config().Logger
	}
	ac := cfg.App.Config()
	return &Importer{cfg: cfg, store: ac.Idempotency, keep: ac.IdempotencyRetention, jobs: map[string]*Job{}, byKey: map[string]*Job{}}, nil
}

// MaxBytes is the file size limit.
func (im *Importer) MaxBytes() int64 { return im.cfg.MaxBytes }

// State of a job.
type State string

// Job states.
const (
	Running State = "RUNNING"
	Done    State = "DONE"
	// Failed: the file could not be read (Problems say why) or the run
	// stopped on a store failure; rows already applied stay applied.
	Failed State = "FAILED"
)

// Request is an import to start.
type Request struct {
	// Caller is who imports; only HR_ADMIN may.
	Caller domain.Principal
	// Filename is the uploaded file's name, as shown back (not trusted).
	Filename string
	// Data is the file.
	Data []byte
	// DryRun checks every row against the ledger and records nothing.
	DryRun bool
	// PaperRef is the decree or import reference (the SK) the master data
	// rests on; it is in every event's reason and in the decree reference
	// of post changes. Optional.
	PaperRef string
}

// Status is a job as it stands.
type Status struct {
	// ID names the job.
	ID string `json:"id"`
	// State is RUNNING, DONE or FAILED.
	State State `json:"state"`
	// DryRun says that nothing is recorded.
	DryRun bool `json:"dry_run"`
	// Filename is the file's name as uploaded.
	Filename string `json:"filename"`
	// SHA256 is the file's hash.
	SHA256 string `json:"sha256"`
	// PaperRef is the reference given.
	PaperRef string `json:"paper_ref,omitempty"`
	// Total counts the file's data rows; Done the rows decided so far.
	Total int `json:"total"`
	Done  int `json:"done"`
	// Applied, Unchanged and Refused count the rows by outcome.
	Applied   int `json:"applied"`
	Unchanged int `json:"unchanged"`
	Refused   int `json:"refused"`
	// Events counts the events recorded (would be, in a dry run).
	Events int `json:"events"`
	// Problems are the file's problems (a file that could not be read).
	Problems []Problem `json:"problems,omitempty"`
	// Rows are the rows decided, in file order (refused rows with their
	// problems).
	Rows []RowResult `json:"rows"`
	// Started and Finished time the job.
	Started  time.Time  `json:"started_at"`
	Finished *time.Time `json:"finished_at,omitempty"`
}

// Job is a running or finished import.
type Job struct {
	caller string
	// req is kept for a dry run, so that its file can be applied as it
	// was checked (ApplyDryRun); dropped when the job is trimmed.
	req  *Request
	mu   sync.Mutex
	st   Status
	done chan struct{}
}

// Status returns a copy of the job's state.
func (j *Job) Status() Status {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.st
	s.Rows = slices.Clone(j.st.Rows)
	slices.SortFunc(s.Rows, func(a, b RowResult) int {
		if a.Sheet != b.Sheet {
			if a.Sheet < b.Sheet {
				return -1
			}
			return 1
		}
		return a.Row - b.Row
	})
	s.Problems = slices.Clone(j.st.Problems)
	return s
}

// Wait returns when the job has finished or ctx ends.
func (j *Job) Wait(ctx context.Context) error {
	select {
	case <-j.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Start checks that the caller may import and starts the job, or returns
// the job already running or kept for the same caller, file, mode and
// reference (a double upload starts nothing new). Errors: forbidden (not
// HR_ADMIN), validation (paper_ref).
func (im *Importer) Start(ctx context.Context, req Request) (*Job, bool, error) {
	if _, err := authz.Decide(req.Caller, authz.ManageMasterData, authz.Subject{}, authz.Options{}); err != nil {
		return nil, false, err
	}
	if req.PaperRef != "" {
		if p := bizdate.PaperRefProblem(req.PaperRef); p != "" {
			return nil, false, domain.Invalid("paper_ref", "%s", p)
		}
	}
	if p := domain.TextProblem(req.Filename); p != "" || len(req.Filename) > 255 {
		req.Filename = "upload"
	}
	hash := sha256.Sum256(req.Data)
	mode := "apply"
	if req.DryRun {
		mode = "dry-run"
	}
	key := hex.EncodeToString(hash[:]) + "\x00" + req.Caller.ID + "\x00" + mode + "\x00" + req.PaperRef
	im.mu.Lock()
	if j, ok := im.byKey[key]; ok {
		j.mu.Lock()
		running := j.st.State == Running
		j.mu.Unlock()
		if running || req.DryRun {
			im.mu.Unlock()
			return j, false, nil
		}
		// A finished apply sent again runs again: it records only what is
		// not in the ledger yet (nothing, unless the ledger changed).
	}
	now := im.cfg.App.Now()
	im.seq++
	idSum := sha256.Sum256(fmt.Appendf(nil, "kinerja/import-job/v1\x00%s\x00%d\x00%d", key, now.UnixNano(), im.seq))
	id := hex.EncodeToString(idSum[:12])
	j := &Job{caller: req.Caller.ID, done: make(chan struct{}), st: Status{ID: id, State: Running, DryRun: req.DryRun,
		Filename: req.Filename, SHA256: hex.EncodeToString(hash[:]), PaperRef: req.PaperRef, Started: now}}
	if req.DryRun {
		kept := req
		j.req = &kept // at most Keep files of MaxBytes are held
	}
	im.jobs[id] = j
	im.byKey[key] = j
	im.trim()
	im.mu.Unlock()
	im.save(ctx, "start", j)
	im.wg.Add(1)
	go func() {
		defer im.wg.Done()
		// The job outlives the request that started it.
		im.execute(context.WithoutCancel(ctx), j, req, hash)
	}()
	return j, true, nil
}

// trim forgets the oldest finished jobs beyond Keep (im.mu held).
func (im *Importer) trim() {
	if len(im.jobs) <= im.cfg.Keep {
		return
	}
	type aged struct {
		id string
		at time.Time
	}
	var done []aged
	for id, j := range im.jobs {
		j.mu.Lock()
		if j.st.State != Running {
			done = append(done, aged{id, j.st.Started})
		}
		j.mu.Unlock()
	}
	slices.SortFunc(done, func(a, b aged) int { return a.at.Compare(b.at) })
	for _, d := range done[:max(0, min(len(done), len(im.jobs)-im.cfg.Keep))] {
		delete(im.jobs, d.id)
	}
	for k, j := range im.byKey {
		if _, ok := im.jobs[j.st.ID]; !ok {
			delete(im.byKey, k)
		}
	}
}

// Get returns the caller's job id: a job of this process, or the record
// of one an earlier process ran. Errors: forbidden (not HR_ADMIN), not
// found (no such job, or another caller's), the store's.
func (im *Importer) Get(ctx context.Context, caller domain.Principal, id string) (*Job, error) {
	if _, err := authz.Decide(caller, authz.ManageMasterData, authz.Subject{}, authz.Options{}); err != nil {
		return nil, err
	}
	notFound := &domain.NotFoundError{Kind: "import", ID: id}
	if len(id) != 24 || strings.Trim(id, "0123456789abcdef") != "" {
		return nil, notFound
	}
	im.mu.Lock()
	j, ok := im.jobs[id]
	im.mu.Unlock()
	if !ok {
		var err error
		if j, err = im.load(ctx, id); err != nil {
			return nil, err
		}
		ok = j != nil
	}
	if !ok || j.caller != caller.ID {
		return nil, notFound
	}
	return j, nil
}

// record is a job as stored. Its JSON shape is persisted: add fields,
// never rename one.
type record struct {
	Caller string `json:"caller"`
	Status Status `json:"status"`
}

func storeKey(stage, id string) string { return "kinerja/import-job/v1/" + stage + "/" + id }

// save writes the job's status under stage ("start" or "final"). A
// failure is logged: the job itself is not affected, only its record
// after a restart.
func (im *Importer) save(ctx context.Context, stage string, j *Job) {
	st := j.Status()
	b, err := json.Marshal(record{Caller: j.caller, Status: st})
	if err == nil {
		now := im.cfg.App.Now()
		err = im.store.Put(ctx, storeKey(stage, st.ID), b, now, now.Add(im.keep))
	}
	if err != nil {
		im.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "import_record_failed", slog.String("import", st.ID), slog.String("error", err.Error()))
	}
}

// load reads the record of a job an earlier process ran: its final
// status, or, when it never finished, its start marked interrupted.
func (im *Importer) load(ctx context.Context, id string) (*Job, error) {
	now := im.cfg.App.Now()
	raw, ok, err := im.store.Get(ctx, storeKey("final", id), now)
	interrupted := false
	if err == nil && !ok {
		raw, ok, err = im.store.Get(ctx, storeKey("start", id), now)
		interrupted = true
	}
	if err != nil {
		return nil, fmt.Errorf("imports: read job %s: %w", id, err)
	}
	if !ok {
		return nil, nil
	}
	var rec record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("imports: job record %s: %w", id, err)
	}
	if interrupted {
		rec.Status.State = Failed
		rec.Status.Problems = append(rec.Status.Problems, fileProblem(CodeInterrupted,
			"Layanan dijalankan ulang saat impor ini berjalan. Unggah berkasnya lagi: yang sudah tercatat tidak dicatat dua kali.",
			"The service restarted while this import ran. Send the file again: what was recorded is not recorded twice."))
	}
	j := &Job{caller: rec.Caller, st: rec.Status, done: make(chan struct{})}
	close(j.done)
	return j, nil
}

// List returns the caller's jobs, newest first, without their rows. Errors:
// forbidden (not HR_ADMIN).
func (im *Importer) List(caller domain.Principal) ([]Status, error) {
	if _, err := authz.Decide(caller, authz.ManageMasterData, authz.Subject{}, authz.Options{}); err != nil {
		return nil, err
	}
	im.mu.Lock()
	var out []Status
	for _, j := range im.jobs {
		if j.caller != caller.ID {
			continue
		}
		j.mu.Lock()
		st := j.st
		j.mu.Unlock()
		st.Rows, st.Problems = nil, nil
		out = append(out, st)
	}
	im.mu.Unlock()
	slices.SortFunc(out, func(a, b Status) int { return b.Started.Compare(a.Started) })
	return out, nil
}

// ErrNotAppliable refuses to apply a job that is not a finished dry run
// of a readable file.
var ErrNotAppliable = errors.New("only a finished dry run of a readable file can be applied")

// ApplyDryRun starts the apply of the file that the caller's dry run id
// checked, with the same reference. Errors: those of Get, and an error
// matching domain.ErrInvalidState (ErrNotAppliable) for a job that is not
// a finished dry run of a readable file.
func (im *Importer) ApplyDryRun(ctx context.Context, caller domain.Principal, id string) (*Job, error) {
	j, err := im.Get(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	j.mu.Lock()
	kept, state, failed := j.req, j.st.State, len(j.st.Problems) > 0
	j.mu.Unlock()
	if kept == nil || state != Done || failed {
		return nil, domain.InvalidState("apply import", string(state), ErrNotAppliable.Error())
	}
	req := *kept
	req.DryRun, req.Caller = false, caller
	apply, _, err := im.Start(ctx, req)
	return apply, err
}

// Wait waits for every running job (at shutdown, and in tests).
func (im *Importer) Wait() { im.wg.Wait() }

func (im *Importer) execute(ctx context.Context, j *Job, req Request, hash [32]byte) {
	finish := func(state State) {
		now := im.cfg.App.Now()
		j.mu.Lock()
		j.st.State, j.st.Finished = state, &now
		st := j.st
		j.mu.Unlock()
		im.save(ctx, "final", j)
		close(j.done)
		im.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "import_finished", slog.String("import", j.st.ID), slog.Bool("dry_run", st.DryRun),
			slog.Int("total", st.Total), slog.Int("applied", st.Applied), slog.Int("unchanged", st.Unchanged), slog.Int("refused", st.Refused),
			slog.Duration("took", now.Sub(st.Started)))
	}
	tables, probs := Parse(req.Data, Limits{MaxBytes: im.cfg.MaxBytes, MaxRows: im.cfg.MaxRows})
	if len(probs) > 0 {
		j.mu.Lock()
		j.st.Problems = probs
		j.mu.Unlock()
		finish(Failed)
		return
	}
	a := im.cfg.App
	plan := Check(tables, a.Today())
	j.mu.Lock()
	j.st.Total = plan.Total
	byRow := map[[2]any][]Problem{}
	for _, p := range plan.Refused {
		k := [2]any{p.Sheet, p.Row}
		byRow[k] = append(byRow[k], p)
	}
	for k, ps := range byRow {
		j.st.Rows = append(j.st.Rows, RowResult{Sheet: k[0].(string), Row: k[1].(int), Outcome: Refused, Problems: ps})
		j.st.Refused++
		j.st.Done++
	}
	j.mu.Unlock()
	svc := a.Services(ctx)
	r := &runner{caller: req.Caller, fileHash: hash, jobID: j.st.ID, paperRef: req.PaperRef, dryRun: req.DryRun,
		workers: im.cfg.Workers, ov: newOverlay(svc.Employees.Handler.Log, a.Now), svc: svc, today: a.Today()}
	r.run(ctx, plan, func(res RowResult) {
		j.mu.Lock()
		defer j.mu.Unlock()
		j.st.Done++
		switch res.Outcome {
		case Applied:
			j.st.Applied++
			j.st.Events += res.Events
		case Unchanged:
			j.st.Unchanged++
		case Refused:
			j.st.Refused++
		}
		j.st.Rows = append(j.st.Rows, res)
	})
	finish(Done)
}
