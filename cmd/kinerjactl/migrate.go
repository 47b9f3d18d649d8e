package main

import (
	"context"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/blobstore"
	"github.com/kinerja-ledger/kinerja/adapters/deadlinestore"
	"github.com/kinerja-ledger/kinerja/adapters/pgidempotency"
	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/adapters/web/session"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
)

// runMigrate applies the embedded PostgreSQL migrations: the event store's,
// the read models', the idempotency records', the dashboard's sessions' and
// the deadline process manager's. Migrations never run from
// a constructor: this command (or kinerjad --migrate) is the only way they
// are applied.
func runMigrate(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", stderr)
	var sf storeFlags
	sf.register(fs)
	schema := fs.String("schema", pgstore.DefaultSchema, "PostgreSQL schema of the event store")
	rmSchema := fs.String("read-model-schema", pgreadmodel.DefaultSchema, "PostgreSQL schema of the read models")
	storeOnly := fs.Bool("store-only", false, "migrate only the event store (read models elsewhere)")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if sf.postgresURL == "" {
		return exitcode.Usagef("migrate: --postgres-url (or KINERJA_POSTGRES_URL) is required")
	}
	applied, err := pgstore.MigrateURL(ctx, sf.postgresURL, *schema)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "event store schema %s: %s (version %d)\n", *schema, appliedText(applied), pgstore.SchemaVersion())
	if *storeOnly {
		return nil
	}
	pool, err := pgxpool.New(ctx, sf.postgresURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err = pgreadmodel.Migrate(ctx, pool, *rmSchema)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "read model schema %s: %s (version %d)\n", *rmSchema, appliedText(applied), pgreadmodel.SchemaVersion())
	if err := pgidempotency.Migrate(ctx, pool, ""); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "idempotency schema %s: up to date\n", pgidempotency.DefaultSchema)
	applied, err = session.Migrate(ctx, pool, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "dashboard session schema %s: %s\n", session.DefaultSchema, appliedText(applied))
	applied, err = blobstore.Migrate(ctx, pool, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "evidence file schema %s: %s\n", blobstore.DefaultSchema, appliedText(applied))
	applied, err = deadlinestore.Migrate(ctx, pool, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "deadline process manager schema %s: %s\n", deadlinestore.DefaultSchema, appliedText(applied))
	return nil
}

func appliedText(applied []int) string {
	if len(applied) == 0 {
		return "up to date"
	}
	return fmt.Sprintf("applied %v", applied)
}
