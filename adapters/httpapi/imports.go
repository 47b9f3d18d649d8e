package httpapi

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/adapters/app/imports"
)

// Bulk imports of master data (docs/imports.md):
//
//   - POST /v1/imports takes a CSV or XLSX file, either as
//     multipart/form-data (the part "file", and the fields dry_run and
//     paper_ref) or as the raw body with its content type (text/csv, the
//     XLSX type or application/octet-stream; dry_run and paper_ref in the
//     query). It answers 202 with Location: /v1/imports/{id} and the job's
//     status; the rows are decided in the background. Sending the same
//     file again while its job runs answers the same job; an apply sent
//     again after it finished runs again and records only what the ledger
//     lacks (nothing, when it is unchanged). The route takes no
//     Idempotency-Key: the file's hash is its key.
//   - GET /v1/imports/{id} is the job's status: state, progress (done of
//     total rows), counts by outcome and the rows with their problems
//     (rows=refused lists only the refused ones).
//
// Only HR_ADMIN imports (authz.ManageMasterData); a job is visible to the
// caller who started it. Job records outlive a restart (package imports).

// Paths of the import routes.
const (
	importsPath = "/v1/imports"
	importPath  = "/v1/imports/{id}"
)

// ImportStatus is the answer of both import routes.
type ImportStatus = imports.Status

func (s *Server) registerImports(r *mux.Router) {
	s.addRoute(r, http.MethodPost, importsPath, s.handle(s.startImport))
	s.read(r, http.MethodGet, importPath, s.getImport)
}

func (s *Server) startImport(w http.ResponseWriter, r *http.Request) error {
	req := imports.Request{Caller: principal(r)}
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return badRequest("Content-Type", "must be multipart/form-data, text/csv, the XLSX type or application/octet-stream")
	}
	flag := func(v string) (bool, error) {
		if v == "" {
			return false, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, badRequest("dry_run", "must be true or false")
		}
		return b, nil
	}
	switch ct {
	case "multipart/form-data":
		if params["boundary"] == "" {
			return badRequest("Content-Type", "multipart/form-data needs a boundary")
		}
		if err := r.ParseMultipartForm(s.imports.MaxBytes()); err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return errTooLarge
			}
			return badRequest("", "the multipart body could not be read")
		}
		defer r.MultipartForm.RemoveAll()
		file, hdr, err := r.FormFile("file")
		if err != nil {
			return badRequest("file", "required: the part \"file\" with a filename")
		}
		defer file.Close()
		if req.Data, err = io.ReadAll(io.LimitReader(file, s.imports.MaxBytes()+1)); err != nil {
			return badRequest("file", "could not be read")
		}
		req.Filename = hdr.Filename
		if req.DryRun, err = flag(r.FormValue("dry_run")); err != nil {
			return err
		}
		req.PaperRef = r.FormValue("paper_ref")
	case "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/octet-stream":
		if req.Data, err = io.ReadAll(r.Body); err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return errTooLarge
			}
			return badRequest("", "the body could not be read")
		}
		q := r.URL.Query()
		if req.DryRun, err = flag(q.Get("dry_run")); err != nil {
			return err
		}
		req.PaperRef, req.Filename = q.Get("paper_ref"), q.Get("filename")
	default:
		return badRequest("Content-Type", "must be multipart/form-data, text/csv, the XLSX type or application/octet-stream")
	}
	if int64(len(req.Data)) > s.imports.MaxBytes() {
		return errTooLarge
	}
	job, _, err := s.imports.Start(r.Context(), req)
	if err != nil {
		return err
	}
	st := job.Status()
	w.Header().Set("Location", "/v1/imports/"+st.ID)
	return writeJSON(w, http.StatusAccepted, st)
}

func (s *Server) getImport(w http.ResponseWriter, r *http.Request) error {
	rows := r.URL.Query().Get("rows")
	if rows != "" && rows != "all" && rows != "refused" {
		return badRequest("rows", "must be all or refused")
	}
	job, err := s.imports.Get(r.Context(), principal(r), pathVar(r, "id"))
	if err != nil {
		return err
	}
	st := job.Status()
	if rows == "refused" {
		kept := st.Rows[:0]
		for _, row := range st.Rows {
			if row.Outcome == imports.Refused {
				kept = append(kept, row)
			}
		}
		st.Rows = kept
	}
	if st.Rows == nil {
		st.Rows = []imports.RowResult{}
	}
	return writeJSON(w, http.StatusOK, st)
}
