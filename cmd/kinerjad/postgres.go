package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	application "github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/pgidempotency"
	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
)

// postgresPool returns the pool of the read models and idempotency records,
// opened once.
func (a *app) postgresPool(ctx context.Context) (*pgxpool.Pool, error) {
	if a.pool != nil {
		return a.pool, nil
	}
	p, err := pgxpool.New(ctx, a.cfg.PostgresURL)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := p.Ping(ctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	a.pool = p
	a.closers = append(a.closers, func() error { p.Close(); return nil })
	return p, nil
}

// openPostgresReadModels opens the read models in PostgreSQL (migrating
// them with --migrate); startProjections catches them up.
func (a *app) openPostgresReadModels(ctx context.Context) (*readModels, error) {
	pool, err := a.postgresPool(ctx)
	if err != nil {
		return nil, err
	}
	if a.cfg.Migrate {
		if _, err := pgreadmodel.Migrate(ctx, pool, ""); err != nil {
			return nil, err
		}
	}
	db, err := pgreadmodel.Open(ctx, pool, pgreadmodel.Options{History: a.history, Policy: a.cfg.Policy})
	if err != nil {
		return nil, err
	}
	return &readModels{
		sinks: db.Sinks(), trail: db.Audit(), stored: db.Audit(),
		readers: func(c *application.Config) {
			c.Directory, c.Justifications, c.SKPList, c.Evaluations, c.Scores = db.Directory(), db.Directory(), db.SKPs(), db.Evaluations(), db.Scores()
			c.Objections, c.Timeline, c.Audit = db.Objections(), db.Timeline(), db.Audit()
		},
	}, nil
}

// postgresIdempotency keeps idempotency records in PostgreSQL, shared by
// every kinerjad of the deployment.
func (a *app) postgresIdempotency() (application.IdempotencyStore, error) {
	ctx := context.Background()
	pool, err := a.postgresPool(ctx)
	if err != nil {
		return nil, err
	}
	if a.cfg.Migrate {
		if err := pgidempotency.Migrate(ctx, pool, ""); err != nil {
			return nil, err
		}
	}
	return pgidempotency.Open(ctx, pool, "")
}
