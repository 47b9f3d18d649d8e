package app

import (
	"context"
	"errors"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
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
