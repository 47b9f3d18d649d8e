package app

import (
	"context"
	"errors"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
)

// ObjectionActions reports which of acts (objection actions) caller may
// take on the objection to the evaluation of period of SKP id, as the
// objection commands decide it (the superior in effect on the filing
// date, the original appraiser): what an objection page offers. The
// command decides again when it runs. An SKP the caller may not see is
// not found.
func (a *App) ObjectionActions(ctx context.Context, caller domain.Principal, id, period string, acts ...authz.Action) (map[authz.Action]bool, error) {
	if _, _, _, err := a.cfg.SKPs.Authorize(ctx, caller, id, authz.ReadSKP); err != nil {
		return nil, err
	}
	out := make(map[authz.Action]bool, len(acts))
	for _, act := range acts {
		err := a.cfg.SKPs.AuthorizeObjection(ctx, caller, id, period, act)
		var denied *authz.Denied
		switch {
		case err == nil:
			out[act] = true
		case errors.As(err, &denied):
			out[act] = false
		default:
			return nil, err
		}
	}
	return out, nil
}
