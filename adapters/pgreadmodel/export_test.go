package pgreadmodel

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// SetSwapBeforeCommit sets the hook Swap runs in its transaction just
// before it commits (nil: none).
func SetSwapBeforeCommit(f func(ctx context.Context, tx pgx.Tx) error) { swapBeforeCommit = f }
