package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
	"github.com/kinerja-ledger/kinerja/adapters/pgidempotency"
	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/projections"
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
	db, err := pgreadmodel.Open(ctx, pool, pgreadmodel.Options{History: projections.StoreHistory{Store: a.store}, Policy: a.cfg.Policy})
	if err != nil {
		return nil, err
	}
	rep := &wiring.Reporter{
		Directory: db.Directory(), SKPs: db.SKPs(), Evaluations: db.Evaluations(), ObjectionList: db.Objections(),
		Justifications: db.Directory(), Policy: a.cfg.Policy, Pattern: distribution.SE3_2023,
		Positions: wiring.PositionsOf(db.Sinks()),
	}
	return &readModels{
		sinks: db.Sinks(), reporter: rep, trail: db.Audit(), stored: db.Audit(),
		api: func(c *httpapi.Config) {
			c.Directory, c.SKPList, c.Evaluations, c.Scores = db.Directory(), db.SKPs(), db.Evaluations(), db.Scores()
			c.Objections, c.Timeline, c.Audit = db.Objections(), db.Timeline(), db.Audit()
		},
	}, nil
}

// postgresIdempotency keeps idempotency records in PostgreSQL, shared by
// every kinerjad of the deployment.
func (a *app) postgresIdempotency() (httpapi.IdempotencyStore, error) {
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
