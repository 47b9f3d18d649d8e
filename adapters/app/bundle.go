package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/nip"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
)

// AppealStreams returns the streams of an employee-year appeal bundle: the
// employee's stream, then their SKPs of year in order (an SKP's number
// runs from 1; the first missing one ends the list).
func AppealStreams(ctx context.Context, store eventstore.Store, nipDigits string, year int) ([]string, error) {
	streams := []string{domain.EmployeeStream(nipDigits)}
	for n := 1; ; n++ {
		stream := domain.SKPStream(skp.ID(nipDigits, year, n))
		found := false
		for _, err := range store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{Limit: 1}) {
			if err != nil && !errors.Is(err, eventstore.ErrStreamNotFound) {
				return nil, err
			}
			found = err == nil
			break
		}
		if !found {
			return streams, nil
		}
		streams = append(streams, stream)
	}
}

// Bundle exports the appeal bundle of an employee's year, for auditors:
// the employee's stream and every SKP of the year, each event with its
// inclusion proof against the latest signed checkpoint (as
// `kinerjactl export` does on the store). Errors: a *ValidationError
// naming nip or year; not found for an employee with no events or when no
// checkpoint is signed yet.
func (a *App) Bundle(ctx context.Context, caller domain.Principal, nipText string, year int) (audit.Bundle, error) {
	if err := allow(caller, authz.ReadAudit); err != nil {
		return audit.Bundle{}, err
	}
	var v domain.ValidationError
	id, err := nip.Parse(nipText)
	if err != nil {
		v.Add("nip", "%v", err)
	}
	if year < 2000 || year > 2100 {
		v.Add("year", "must be a year from 2000 to 2100")
	}
	if err := v.Err(); err != nil {
		return audit.Bundle{}, err
	}
	digits := string(id.NIP)
	exists := false
	for _, err := range a.cfg.Store.ReadStream(ctx, domain.EmployeeStream(digits), eventstore.ReadStreamOptions{Limit: 1}) {
		if err != nil && !errors.Is(err, eventstore.ErrStreamNotFound) {
			return audit.Bundle{}, err
		}
		exists = err == nil
		break
	}
	if !exists {
		return audit.Bundle{}, &domain.NotFoundError{Kind: "employee", ID: digits}
	}
	cp, ok, err := a.cfg.Audit.LatestCheckpoint(ctx)
	if err != nil {
		return audit.Bundle{}, err
	}
	if !ok {
		return audit.Bundle{}, &domain.NotFoundError{Kind: "checkpoint", ID: "latest"}
	}
	streams, err := AppealStreams(ctx, a.cfg.Store, digits, year)
	if err != nil {
		return audit.Bundle{}, err
	}
	return audit.BuildBundle(ctx, a.cfg.Store, a.cfg.Audit, cp, a.cfg.AuditKey, fmt.Sprintf("NIP %s, year %d", digits, year), streams, a.cfg.Now())
}
