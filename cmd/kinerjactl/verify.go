package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/cmd/internal/exitcode"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// errProblems makes the command exit 3 (exitcode.Verify) when verification
// finds something.
var errProblems = exitcode.Failed(errors.New("verification found problems"))

// runVerify checks the audit trail: online against the ledger (the store,
// directly or through a running kinerjad with --url), or offline an
// exported appeal bundle (--bundle). It prints the report as JSON.
func runVerify(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlagSet("verify", stderr)
	var sf storeFlags
	sf.register(fs)
	bundle := fs.String("bundle", "", "verify this exported appeal bundle offline")
	url := fs.String("url", "", "ask a running kinerjad (e.g. http://127.0.0.1:8080) instead of opening the store")
	token := fs.String("token", "", "AUDITOR token for --url")
	var keys multiFlag
	fs.Var(&keys, "key", "checkpoint public key file to trust (repeatable; default DATA/"+wiring.AuditPubKeyFile+")")
	ownKey := fs.Bool("bundle-own-key", false, "with --bundle and no trusted key: check the bundle against the key it carries (proves only that it is self-consistent)")
	agency := fs.String("agency", "", "verify only this agency's log (its root unit ID; - for the national log of events of no agency): its events, tree, agency checkpoints and its root in each national checkpoint, without checking any other agency's events")
	checkRM := fs.Bool("read-models", true, "with --postgres-url: also check the PostgreSQL read models' own consistency (skp_counts against the SKP rows, as `projections check`); skipped when that database holds no read models")
	allSigs := fs.Bool("all-signatures", false, "check every writer signature, not only those after the trusted signed checkpoint (slower; for an auditor who does not trust the audit key)")
	var ic wiring.IntegrityConfig
	fs.StringVar(&ic.WitnessFile, "witness-file", "", "the witness file to compare with (default DATA/"+wiring.WitnessFile+", if it exists)")
	fs.StringVar(&ic.WitnessNATSURL, "witness-nats-url", "", "also the JetStream witness on this server")
	fs.StringVar(&ic.WitnessNATSStream, "witness-nats-stream", "KINERJA_WITNESS", "its stream")
	fs.StringVar(&ic.WitnessNATSSubject, "witness-nats-subject", "kinerja.witness", "its subject")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	switch {
	case *bundle != "":
		var trusted *merkle.Verifier
		defaultKey := filepath.Join(sf.data, wiring.AuditPubKeyFile)
		switch _, statErr := os.Stat(defaultKey); {
		case len(keys) > 0 || statErr == nil:
			// --key, else the default trusted key, as the help says.
			vs, err := verifiers(sf.data, keys)
			if err != nil {
				return err
			}
			trusted = vs[0]
			fmt.Fprintf(stderr, "trusting checkpoint key %s\n", trusted.KeyID())
		case *ownKey:
			fmt.Fprintln(stderr, "warning: --bundle-own-key: the bundle's own key is used, which proves only that the bundle is self-consistent; compare its key ID with one you trust")
		default:
			return exitcode.Usagef("verify --bundle: no trusted checkpoint key: no --key, and %s does not exist. Give --key FILE (the ledger's %s, from its operators), --data of the ledger, or --bundle-own-key to check the bundle only against the key it carries", defaultKey, wiring.AuditPubKeyFile)
		}
		raw, err := os.ReadFile(*bundle)
		if err != nil {
			return err
		}
		var b audit.Bundle
		if err := json.Unmarshal(raw, &b); err != nil {
			return fmt.Errorf("bundle %s: %w", *bundle, err)
		}
		r := audit.VerifyBundle(b, trusted)
		if err := enc.Encode(r); err != nil {
			return err
		}
		if !r.OK {
			return errProblems
		}
		return nil
	case *url != "":
		var r audit.Report
		path := "/v1/audit/verify"
		if *agency != "" {
			path += "?agency=" + neturl.QueryEscape(*agency)
		}
		if err := callKinerjad(ctx, http.MethodPost, *url, path, *token, &r); err != nil {
			return err
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
		if !r.OK {
			return errProblems
		}
		return nil
	}
	vs, err := verifiers(sf.data, keys)
	if err != nil {
		return err
	}
	l, err := openLedger(ctx, sf, stderr, readLedger)
	if err != nil {
		return err
	}
	defer l.close()
	if l.keys.Keyring.Len() == 0 {
		return fmt.Errorf("no trusted writer key in %s: give the ledger's keyring with --writer-keyring (kinerjactl keys export on a writer)", l.keys.KeyringPath)
	}
	var stored audit.Stored
	if sf.store == "postgres" {
		if _, stored, err = l.trail(ctx, vs); err != nil {
			return err
		}
	}
	if *agency != "" {
		a := *agency
		if a == "-" {
			a = audit.NationalLog
		}
		witnessed, err := witnessedCheckpoint(ctx, ic.WithDefaults(sf.data), ic.WitnessFile != "")
		if err != nil {
			return err
		}
		opts := audit.AgencyVerifyOptions{Agency: a, Keys: vs, WriterKeys: l.keys.Keyring, AllSignatures: *allSigs, Witnessed: witnessed}
		if as, ok := stored.(audit.AgencyStored); ok {
			opts.Stored = as
		}
		r, err := audit.VerifyAgency(ctx, l.store, opts)
		if err != nil {
			return err
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
		return verdict(ctx, r.OK, *checkRM, sf, stderr)
	}
	witnessed, err := witnessedCheckpoint(ctx, ic.WithDefaults(sf.data), ic.WitnessFile != "")
	if err != nil {
		return err
	}
	r, err := audit.Verify(ctx, l.store, audit.VerifyOptions{Keys: vs, Stored: stored, WriterKeys: l.keys.Keyring, AllSignatures: *allSigs, Witnessed: witnessed, Progress: func(n uint64) {
		if n%100000 == 0 {
			fmt.Fprintf(stderr, "verified %d events\n", n)
		}
	}})
	if err != nil {
		return err
	}
	if err := enc.Encode(r); err != nil {
		return err
	}
	return verdict(ctx, r.OK, *checkRM, sf, stderr)
}

// verdict ends an online verify whose audit report said ok: with a
// PostgreSQL URL (and readModels), it also runs the read models' count
// check (checkReadModelCounts), and a drift fails verify as a broken
// trail does, with the repair named on stderr.
func verdict(ctx context.Context, ok, readModels bool, sf storeFlags, stderr io.Writer) error {
	if readModels && sf.postgresURL != "" {
		drift, cov, err := checkReadModelCounts(ctx, sf.postgresURL, stderr)
		if err != nil {
			return err
		}
		if len(drift) > 0 {
			fmt.Fprintf(stderr, "verify: the PostgreSQL read models are inconsistent: skp_counts differs from the SKP rows for %d (unit, year, status), e.g. unit %s year %d %s: counted %d, rows %d. The reports and the dashboard count wrong there; run kinerjactl projections rebuild skps (kinerjactl projections check lists them all)\n",
				len(drift), drift[0].UnitID, drift[0].Year, drift[0].Status, drift[0].GotN, drift[0].WantN)
			ok = false
		}
		if len(cov) > 0 {
			fmt.Fprintf(stderr, "verify: the PostgreSQL read models are inconsistent: skp_coverage differs from the SKP rows for %d (year, NIP), e.g. year %d NIP %s: counted %d, rows %d. The progress board's missing employees are wrong there; run kinerjactl projections rebuild skps (kinerjactl projections check lists them all)\n",
				len(cov), cov[0].Year, cov[0].NIP, cov[0].Got, cov[0].Want)
			ok = false
		}
	}
	if !ok {
		return errProblems
	}
	return nil
}

// checkReadModelCounts runs `projections check` on the read models at url
// (pgreadmodel.DB.CheckCounts, CheckCoverage) and returns the drift. A database without
// read models (kinerjad ran with --read-models memory) is skipped, said on
// stderr; read models of another schema version are an error.
func checkReadModelCounts(ctx context.Context, url string, stderr io.Writer) ([]pgreadmodel.CountDrift, []pgreadmodel.CoverageDrift, error) {
	p, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	defer p.Close()
	db, err := pgreadmodel.Open(ctx, p, pgreadmodel.Options{Policy: policy.Default()})
	var ve *pgreadmodel.VersionError
	if errors.As(err, &ve) && ve.Have == 0 {
		fmt.Fprintln(stderr, "verify: no PostgreSQL read models at --postgres-url: their count check is skipped")
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("verify: the read models' count check: %w", err)
	}
	drift, err := db.CheckCounts(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("verify: the read models' count check: %w", err)
	}
	cov, err := db.CheckCoverage(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("verify: the read models' coverage check: %w", err)
	}
	return drift, cov, nil
}

// witnessedCheckpoint returns the newest witnessed checkpoint, or nil when
// no witness has one. The default witness file is skipped when it does not
// exist; one named explicitly (required) must.
func witnessedCheckpoint(ctx context.Context, ic wiring.IntegrityConfig, required bool) (*audit.Checkpoint, error) {
	rec, _, err := latestWitnessed(ctx, ic, required)
	if err != nil || rec == nil {
		return nil, err
	}
	return &rec.Checkpoint, nil
}

// latestWitnessed returns the newest record of the witnesses of ic (the
// witness file, and the JetStream witness when configured) that holds a
// signed checkpoint, and the witnesses' names; nil when none does. A
// witness file that does not exist is no witness, unless required. verify
// (witnessedCheckpoint) and the covered rebuild (witnessedCover) read the
// witnesses through it.
func latestWitnessed(ctx context.Context, ic wiring.IntegrityConfig, required bool) (*audit.WitnessRecord, string, error) {
	if _, err := os.Stat(ic.WitnessFile); err != nil && required {
		return nil, "", fmt.Errorf("--witness-file: %w", err)
	} else if err != nil && ic.WitnessNATSURL == "" {
		return nil, "", nil
	}
	set, closeWitness, err := wiring.OpenWitnesses(ctx, ic.Witnesses())
	if err != nil {
		return nil, "", err
	}
	defer closeWitness()
	rec, ok, err := set.Latest(ctx)
	if err != nil || !ok || rec.Checkpoint.Note == "" {
		return nil, set.Names(), err
	}
	return &rec, set.Names(), nil
}
