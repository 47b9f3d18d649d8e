package app

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Evidence files. A person uploads the file itself (the dashboard's form,
// the API's POST /v1/skps/{id}/evidence/files); the application layer
// checks its size and its type by its content (never the client's word),
// stores it content-addressed by SHA-256 in the Blobs store, and the
// domain's skp.attach_evidence records its hash, name, size and type with
// the ni: URI of the hash (skp.EvidenceURI). A download reads the file as
// reading the SKP allows, finds it among the SKP's evidence, and checks its
// hash before any byte is served.

// Blobs keeps evidence files, content-addressed by their SHA-256:
// blobstore.Folder (a folder under --data, embedded mode) or
// blobstore.Postgres (a table, server mode). Files are bounded
// (Config.MaxEvidenceBytes), so both methods take and give whole files.
// Implementations are safe for concurrent use.
type Blobs interface {
	// Put stores data durably (when it returns) under its SHA-256, which
	// it returns as 64 lower-case hexadecimal digits. Storing the same
	// content again changes nothing.
	Put(ctx context.Context, data []byte) (sum string, err error)
	// Get returns the content stored under sum (a *domain.NotFoundError
	// when there is none). It does not check the hash: the caller does.
	Get(ctx context.Context, sum string) ([]byte, error)
}

// DefaultMaxEvidenceBytes bounds an evidence file (kinerjad
// --evidence-max-bytes).
const DefaultMaxEvidenceBytes = 10 << 20

// ErrBlobCorrupt says that a stored evidence file does not match its
// recorded hash or size: it is never served (integrity_violation, 500).
var ErrBlobCorrupt = fmt.Errorf("a stored evidence file failed its hash check: %w", eventstore.ErrIntegrity)

// Media types of the evidence files allowed (by their content).
const (
	MediaPDF  = "application/pdf"
	MediaPNG  = "image/png"
	MediaJPEG = "image/jpeg"
	MediaText = "text/plain"
	MediaDOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	MediaXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	MediaODT  = "application/vnd.oasis.opendocument.text"
)

// EvidenceFile is an uploaded file, stored: what AttachEvidence records.
type EvidenceFile struct {
	// SHA256 is the content's hash (lower-case hex); URI its ni: URI.
	SHA256, URI string
	// Filename is the name given, without a path.
	Filename string
	// MediaType is the type sniffed from the content.
	MediaType string
	// Size is the size in bytes.
	Size int64
}

// Attach returns the command that records f as evidence for indicator of
// SKP id.
func (f EvidenceFile) Attach(id, indicator string) skp.AttachEvidence {
	return skp.AttachEvidence{SKPID: id, IndicatorID: indicator, URI: f.URI, SHA256: f.SHA256, Filename: f.Filename,
		MediaType: f.MediaType, Size: f.Size}
}

// MaxEvidenceBytes returns the bound of an evidence file.
func (a *App) MaxEvidenceBytes() int64 { return a.cfg.MaxEvidenceBytes }

// StoreEvidence reads an evidence file (at most MaxEvidenceBytes) for SKP
// id, named name by the person, checks its type by its content and
// stores it, for a caller who may attach evidence to the SKP (the command
// that records it decides again). Errors: not found (no blob store, the
// SKP, or not visible), forbidden, ErrTooLarge, a *domain.ValidationError
// naming "file" (empty, a type not allowed) or "filename".
func (a *App) StoreEvidence(ctx context.Context, caller domain.Principal, id, name string, body io.Reader) (EvidenceFile, error) {
	if a.cfg.Blobs == nil {
		return EvidenceFile{}, &domain.NotFoundError{Kind: "route", ID: "evidence files"}
	}
	if _, _, _, err := a.cfg.SKPs.Authorize(ctx, caller, id, authz.AttachEvidence); err != nil {
		return EvidenceFile{}, err
	}
	data, err := io.ReadAll(io.LimitReader(body, a.cfg.MaxEvidenceBytes+1))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return EvidenceFile{}, ErrTooLarge
		}
		return EvidenceFile{}, err
	}
	if int64(len(data)) > a.cfg.MaxEvidenceBytes {
		return EvidenceFile{}, ErrTooLarge
	}
	var v domain.ValidationError
	name = cleanFilename(name)
	if name == "" {
		v.Add("filename", "required, a file name without a path, at most %d characters", skp.MaxFilenameLen)
	}
	mt := ""
	if len(data) == 0 {
		v.Add("file", "the file is empty")
	} else if mt = SniffEvidence(data); mt == "" {
		v.Add("file", "the file's content is not an allowed type (PDF, PNG, JPEG, DOCX, XLSX, ODT or plain text)")
	}
	if err := v.Err(); err != nil {
		return EvidenceFile{}, err
	}
	sum, err := a.cfg.Blobs.Put(ctx, data)
	if err != nil {
		return EvidenceFile{}, err
	}
	return EvidenceFile{SHA256: sum, URI: skp.EvidenceURI(sum), Filename: name, MediaType: mt, Size: int64(len(data))}, nil
}

// CheckStoredEvidence refuses a command that records a stored file (a ni:
// URI) which is not stored, or whose recorded size or type is not the
// stored file's: a *domain.ValidationError naming the field. Evidence that
// links to a web server passes (the domain checks its shape).
func (a *App) CheckStoredEvidence(ctx context.Context, cmd skp.AttachEvidence) error {
	if !(skp.Evidence{URI: strings.TrimSpace(cmd.URI)}).Stored() {
		return nil
	}
	sum := strings.ToLower(strings.TrimSpace(cmd.SHA256))
	if a.cfg.Blobs == nil {
		return domain.Invalid("uri", "this service stores no evidence files")
	}
	data, err := a.cfg.Blobs.Get(ctx, sum)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Invalid("sha256", "no stored evidence file has this hash: upload it first (POST /v1/skps/{id}/evidence/files)")
	}
	if err != nil {
		return err
	}
	if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != sum {
		return ErrBlobCorrupt
	}
	var v domain.ValidationError
	if int64(len(data)) != cmd.Size {
		v.Add("size", "the stored file has %d bytes", len(data))
	}
	if mt := SniffEvidence(data); mt != strings.ToLower(strings.TrimSpace(cmd.MediaType)) {
		v.Add("media_type", "the stored file is %s", mt)
	}
	return v.Err()
}

// cleanFilename keeps the last element of a name a browser or client sent
// (some send a whole path), or "" when nothing usable remains.
func cleanFilename(name string) string {
	name = strings.TrimSpace(name)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	if name == "." || name == ".." || !utf8.ValidString(name) || domain.TextProblem(name) != "" || utf8.RuneCountInString(name) > skp.MaxFilenameLen {
		return ""
	}
	return name
}

// EvidenceContent returns the evidence of SKP id whose file has the hash
// sum, and the file, for a caller who may read the SKP; the file's hash
// and size are checked against the recorded ones first. Errors: not found
// (no blob store, the SKP, not visible, no such stored evidence, or the
// file is missing), ErrBlobCorrupt.
func (a *App) EvidenceContent(ctx context.Context, caller domain.Principal, id, sum string) (skp.Evidence, []byte, error) {
	nf := &domain.NotFoundError{Kind: "evidence", ID: sum}
	if a.cfg.Blobs == nil {
		return skp.Evidence{}, nil, nf
	}
	v, err := a.cfg.SKPs.Read(ctx, caller, id, skp.AsOf{})
	if err != nil {
		return skp.Evidence{}, nil, err
	}
	var ev *skp.Evidence
	for i := range v.Evidence {
		if e := v.Evidence[i]; e.SHA256 == sum && e.Stored() {
			ev = &v.Evidence[i]
		}
	}
	if ev == nil {
		return skp.Evidence{}, nil, nf
	}
	data, err := a.cfg.Blobs.Get(ctx, sum)
	if err != nil {
		return skp.Evidence{}, nil, err
	}
	got := sha256.Sum256(data)
	if hex.EncodeToString(got[:]) != sum || int64(len(data)) != ev.Size {
		a.cfg.Logger.ErrorContext(ctx, "evidence_file_corrupt", "sha256", sum, "skp", id)
		return skp.Evidence{}, nil, ErrBlobCorrupt
	}
	return *ev, data, nil
}

// SniffEvidence returns the media type of an evidence file from its
// content, or "" when it is not an allowed type: PDF, PNG, JPEG, plain
// text (valid UTF-8 without control characters other than tab, LF, CR,
// FF), and the office documents that are zip containers (DOCX, XLSX by
// their main part; ODT by its mimetype entry). HTML, scripts, SVG and
// anything else are refused, whatever the name or the client says.
func SniffEvidence(data []byte) string {
	switch ct := http.DetectContentType(data); {
	case ct == MediaPDF, ct == MediaPNG, ct == MediaJPEG:
		return ct
	case strings.HasPrefix(ct, "text/plain"):
		if plainText(data) {
			return MediaText
		}
	case ct == "application/zip":
		return sniffZip(data)
	}
	return ""
}

// plainText reports whether data is valid UTF-8 text that does not start
// as markup (SVG and HTML fragments that the standard sniffer calls text
// are refused: they are not evidence and a browser may render them).
func plainText(data []byte) bool {
	if !utf8.Valid(data) || bytes.HasPrefix(bytes.TrimSpace(data), []byte("<")) {
		return false
	}
	for _, c := range data {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' {
			return false
		}
	}
	return true
}

// sniffZip tells the office documents among zip containers.
func sniffZip(data []byte) string {
	z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return ""
	}
	names := map[string]*zip.File{}
	for _, f := range z.File {
		names[path.Clean(f.Name)] = f
	}
	if m, ok := names["mimetype"]; ok && m.UncompressedSize64 < 100 {
		if rc, err := m.Open(); err == nil {
			b, _ := io.ReadAll(io.LimitReader(rc, 100))
			rc.Close()
			if string(b) == MediaODT {
				return MediaODT
			}
		}
		return ""
	}
	if names["[Content_Types].xml"] == nil {
		return ""
	}
	switch {
	case names["word/document.xml"] != nil:
		return MediaDOCX
	case names["xl/workbook.xml"] != nil:
		return MediaXLSX
	}
	return ""
}
