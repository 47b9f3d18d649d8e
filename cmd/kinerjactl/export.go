package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/nip"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
)

// runExport writes an employee-year appeal bundle: the employee's stream
// and every SKP of the year, each event with its inclusion proof against
// the latest signed checkpoint, the checkpoint and its public key; verify
// it offline with `kinerjactl verify --bundle FILE --key KEY.pub`.
func runExport(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlagSet("export", stderr)
	var sf storeFlags
	sf.register(fs)
	who := fs.String("nip", "", "the employee (NIP or NI PPPK)")
	year := fs.Int("year", 0, "the performance year")
	out := fs.String("out", "", "the bundle file (default: stdout)")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	id, err := nip.Parse(*who)
	if err != nil {
		return exitcode.Usagef("--nip: %w", err)
	}
	if *year < 2000 || *year > 2100 {
		return exitcode.Usagef("--year is required (2000–2100)")
	}
	vs, err := verifiers(sf.data, nil)
	if err != nil {
		return err
	}
	l, err := openLedger(ctx, sf, stderr, readLedger)
	if err != nil {
		return err
	}
	defer l.close()
	tr, _, err := l.trail(ctx, vs)
	if err != nil {
		return err
	}
	cp, ok, err := tr.LatestCheckpoint(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("no signed checkpoint yet: start kinerjad (it signs every few seconds) and export again")
	}
	streams := []string{domain.EmployeeStream(string(id.NIP))}
	for n := 1; ; n++ {
		sid := skp.ID(string(id.NIP), *year, n)
		found := false
		for _, err := range l.store.ReadStream(ctx, domain.SKPStream(sid), eventstore.ReadStreamOptions{Limit: 1}) {
			found = err == nil
			break
		}
		if !found {
			break
		}
		streams = append(streams, domain.SKPStream(sid))
	}
	b, err := audit.BuildBundle(ctx, l.authed, tr, cp, vs[0].String(), fmt.Sprintf("NIP %s, year %d", id.NIP, *year), streams, time.Now())
	if err != nil {
		return err
	}
	w := stdout
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(b); err != nil {
		return err
	}
	n := 0
	for _, s := range b.Streams {
		n += len(s.Events)
	}
	fmt.Fprintf(stderr, "exported %d events of %s (checkpoint size %d, key %s)\n", n, strings.Join(streams, ", "), cp.Size, vs[0].KeyID())
	return nil
}
