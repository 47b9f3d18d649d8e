// Package blobstore keeps the evidence files people upload (app.Blobs),
// content-addressed by their SHA-256: in a folder under the data
// directory in embedded mode ([Folder]), in PostgreSQL in server mode
// ([Postgres]). A stored file is never changed: the same content is the
// same name, so storing it again is a no-op, and a reader checks the hash
// of what it reads (the application layer does, before serving a byte).
package blobstore

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/internal/atomicfile"
	"github.com/kinerja-ledger/kinerja/adapters/internal/pgmigrate"
	"github.com/kinerja-ledger/kinerja/domain"
)

var sumRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

func notFound(sum string) error { return &domain.NotFoundError{Kind: "evidence file", ID: sum} }

func hash(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// Folder keeps blobs as files in a directory: <dir>/<sha[0:2]>/<sha>,
// each written to a temporary file, fsynced, renamed into place and the
// directory fsynced (a crash leaves the whole file or none).
type Folder struct {
	dir string
}

// FolderName is the blob folder's name in the data directory.
const FolderName = "blobs"

// OpenFolder returns the blob folder dir, creating it (0700) if needed.
func OpenFolder(dir string) (*Folder, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blobstore: %w", err)
	}
	return &Folder{dir: dir}, nil
}

func (f *Folder) path(sum string) string { return filepath.Join(f.dir, sum[:2], sum) }

// Put implements app.Blobs.
func (f *Folder) Put(ctx context.Context, data []byte) (string, error) {
	sum := hash(data)
	p := f.path(sum)
	if b, err := os.ReadFile(p); err == nil && hash(b) == sum {
		return sum, nil // stored before (a damaged copy is replaced)
	}
	if err := atomicfile.Replace(p, data, 0o600); err != nil {
		return "", fmt.Errorf("blobstore: put: %w", err)
	}
	return sum, nil
}

// Get implements app.Blobs.
func (f *Folder) Get(ctx context.Context, sum string) ([]byte, error) {
	if !sumRE.MatchString(sum) {
		return nil, notFound(sum)
	}
	b, err := os.ReadFile(f.path(sum))
	if errors.Is(err, os.ErrNotExist) {
		return nil, notFound(sum)
	}
	if err != nil {
		return nil, fmt.Errorf("blobstore: get: %w", err)
	}
	return b, nil
}

//go:embed migrations/*.sql
var migrationFiles embed.FS

var migrationSet = pgmigrate.Set{Files: migrationFiles, Owner: "blobstore"}

// DefaultSchema holds the blob tables when no schema is given.
const DefaultSchema = "kinerja_blobs"

// ErrBadSchemaName is returned for a schema name outside [a-z_][a-z0-9_]*.
var ErrBadSchemaName = errors.New("blobstore: bad schema name")

// chunkSize bounds one stored chunk.
const chunkSize = 1 << 20

// Migrate brings schema (DefaultSchema when empty) up to this build's
// version, creating it if needed (kinerjactl migrate, kinerjad --migrate);
// OpenPostgres never does.
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string) ([]int, error) {
	return migrationSet.ApplyNamed(ctx, pool, schema, DefaultSchema, ErrBadSchemaName)
}

// Postgres keeps blobs in two tables of schema: blobs (hash, size) and
// blob_chunks (the content in chunks of at most 1 MiB), written in one
// transaction.
type Postgres struct {
	pool          *pgxpool.Pool
	blobs, chunks string
}

// OpenPostgres returns the store in schema (DefaultSchema when empty),
// which Migrate must have brought to this build's version.
func OpenPostgres(ctx context.Context, pool *pgxpool.Pool, schema string) (*Postgres, error) {
	if schema == "" {
		schema = DefaultSchema
	}
	if err := pgmigrate.CheckSchemaName(schema, ErrBadSchemaName); err != nil {
		return nil, err
	}
	v, err := pgmigrate.Installed(ctx, pool, schema)
	if err != nil {
		return nil, fmt.Errorf("blobstore: %w", err)
	}
	if want := migrationSet.Version(); v != want {
		return nil, fmt.Errorf("blobstore: schema %q is at version %d, this build needs %d (run kinerjactl migrate or kinerjad --migrate)", schema, v, want)
	}
	return &Postgres{pool: pool, blobs: pgx.Identifier{schema, "blobs"}.Sanitize(), chunks: pgx.Identifier{schema, "blob_chunks"}.Sanitize()}, nil
}

// Put implements app.Blobs.
func (s *Postgres) Put(ctx context.Context, data []byte) (string, error) {
	sum := hash(data)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO `+s.blobs+` (sha256, size) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING`, sum, len(data))
		if err != nil || tag.RowsAffected() == 0 {
			return err // stored before (the same content)
		}
		for seq := 0; seq*chunkSize < len(data) || seq == 0; seq++ {
			chunk := data[seq*chunkSize : min(len(data), (seq+1)*chunkSize)]
			if _, err := tx.Exec(ctx, `INSERT INTO `+s.chunks+` (sha256, seq, data) VALUES ($1, $2, $3)`, sum, seq, chunk); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("blobstore: put: %w", err)
	}
	return sum, nil
}

// Get implements app.Blobs.
func (s *Postgres) Get(ctx context.Context, sum string) ([]byte, error) {
	if !sumRE.MatchString(sum) {
		return nil, notFound(sum)
	}
	var size int64
	err := s.pool.QueryRow(ctx, `SELECT size FROM `+s.blobs+` WHERE sha256 = $1`, sum).Scan(&size)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(sum)
	}
	if err != nil {
		return nil, fmt.Errorf("blobstore: get: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT data FROM `+s.chunks+` WHERE sha256 = $1 ORDER BY seq`, sum)
	if err != nil {
		return nil, fmt.Errorf("blobstore: get: %w", err)
	}
	out := make([]byte, 0, size)
	for rows.Next() {
		var chunk []byte
		if err := rows.Scan(&chunk); err != nil {
			rows.Close()
			return nil, fmt.Errorf("blobstore: get: %w", err)
		}
		out = append(out, chunk...)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("blobstore: get: %w", err)
	}
	return out, nil
}
