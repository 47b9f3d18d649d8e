package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
	"github.com/kinerja-ledger/kinerja/domain/nip"
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
	base := fs.String("url", "", "ask a running kinerjad (e.g. http://127.0.0.1:8080) instead of opening the store")
	token := fs.String("token", "", "AUDITOR token for --url")
	agency := fs.String("agency", "", "prove the events in this agency's log (its root unit ID; - for the national log) against its agency checkpoint, not in the global tree")
	reason := fs.String("reason", "", "why the givers of the bundle's 360° answers are disclosed (with --url; required when the bundle holds any)")
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
	if err := noArgs(fs); err != nil {
		return err
	}
	if *base != "" {
		var b audit.Bundle
		q := url.Values{"nip": {string(id.NIP)}, "year": {strconv.Itoa(*year)}}
		if *agency != "" {
			q.Set("agency", *agency)
		}
		if *reason != "" {
			q.Set("reason", *reason)
		}
		if err := callKinerjad(ctx, http.MethodGet, *base, "/v1/audit/bundle?"+q.Encode(), *token, &b); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		return writeBundle(b, *out, stdout, stderr)
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
	streams, err := app.AppealStreams(ctx, l.store, string(id.NIP), *year)
	if err != nil {
		return err
	}
	subject := fmt.Sprintf("NIP %s, year %d", id.NIP, *year)
	if *agency != "" {
		ar, ok := tr.(audit.AgencyReader)
		if !ok {
			return errors.New("export --agency: this trail keeps no agency logs")
		}
		a := *agency
		if a == "-" {
			a = audit.NationalLog
		}
		ac, ok, err := ar.LatestAgencyCheckpoint(ctx, a)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("export --agency: agency %q has no signed checkpoint yet", *agency)
		}
		b, err := audit.BuildAgencyBundle(ctx, l.authed, tr, ar, ac, vs[0].String(), subject, streams, time.Now())
		if err != nil {
			return err
		}
		return writeBundle(b, *out, stdout, stderr)
	}
	cp, ok, err := tr.LatestCheckpoint(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("no signed checkpoint yet: start kinerjad (it signs every few seconds) and export again")
	}
	b, err := audit.BuildBundle(ctx, l.authed, tr, cp, vs[0].String(), subject, streams, time.Now())
	if err != nil {
		return err
	}
	if err := refuseUndisclosed(b); err != nil {
		return err
	}
	return writeBundle(b, *out, stdout, stderr)
}

// refuseUndisclosed refuses to write, from the store, a bundle that holds
// 360° answers: it would name their givers without the disclosure being
// recorded (docs/feedback360.md). Through kinerjad (--url, an AUDITOR
// token and --reason) the export is recorded as a disclosure.
func refuseUndisclosed(b audit.Bundle) error {
	rounds, err := app.AnsweredRounds(b)
	if err != nil {
		return err
	}
	if len(rounds) == 0 {
		return nil
	}
	return fmt.Errorf("export: the bundle holds the answers of %d 360° feedback round(s) (%s/%s first) and so names their givers; "+
		"export it through kinerjad (--url, --token of an AUDITOR, --reason) so that the export is recorded as a disclosure", len(rounds), rounds[0].SKPID, rounds[0].RoundID)
}

// writeBundle writes b as JSON to the file out (default stdout) and says
// what it wrote on stderr.
func writeBundle(b audit.Bundle, out string, stdout, stderr io.Writer) error {
	w := stdout
	if out != "" {
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
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
	var names []string
	for _, s := range b.Streams {
		n += len(s.Events)
		names = append(names, s.Stream)
	}
	fmt.Fprintf(stderr, "exported %d events of %s (checkpoint size %d, key %s)\n", n, strings.Join(names, ", "), b.Checkpoint.Size, b.Checkpoint.KeyID)
	return nil
}
