package esdbstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/kinerja-ledger/kinerja/adapters/esdbstore"
	"github.com/kinerja-ledger/kinerja/adapters/esdbstore/esdbtest"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/eventstore/storetest"
)

func TestMain(m *testing.M) {
	storetest.CrashChildMain(openLocation)
	os.Exit(m.Run())
}

// A test location is a connection string, followed by "#ns=" and a
// namespace when the store shares its server with other tests.
func openLocation(loc string, cfg storetest.Config) (eventstore.Store, error) {
	conn, ns, _ := strings.Cut(loc, "#ns=")
	return esdbstore.Open(conn, esdbstore.Options{Limits: cfg.Limits, Namespace: ns, Signer: cfg.Signer, Keyring: cfg.Keyring})
}

// servers maps the locations of TestConformance to their servers, for
// Tamper.
var servers sync.Map

// TestConformance runs the conformance suite against the in-process
// server, one fresh server per location. The crash test's child process
// appends to the server of the parent test process.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Name: "esdbstore+esdbtest",
		NewLocation: func(tb testing.TB) string {
			srv := esdbtest.StartServer(tb, esdbtest.Config{})
			loc := srv.ConnectionString()
			servers.Store(loc, srv)
			tb.Cleanup(func() { servers.Delete(loc) })
			return loc
		},
		Open: openLocation,
		Tamper: func(tb testing.TB, loc, stream string, revision uint64) {
			tb.Helper()
			srv, ok := servers.Load(loc)
			if !ok {
				tb.Fatalf("no server at %s", loc)
			}
			err := srv.(*esdbtest.Server).Tamper(stream, revision, func(data []byte) []byte {
				if len(data) == 0 {
					return []byte{0}
				}
				data[len(data)/2] ^= 0x20
				return data
			})
			if err != nil {
				tb.Fatal(err)
			}
		},
		Forge: forge,
		Crash: true,
	})
}

// forge appends ev to its stream with a client of its own, as anything
// with write access to the database can, in this package's metadata
// format (so that the store reads it as one of its events).
func forge(tb testing.TB, loc string, ev eventstore.Event) {
	tb.Helper()
	conn, ns, _ := strings.Cut(loc, "#ns=")
	cfg, err := esdb.ParseConnectionString(conn)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Logger = esdb.NoopLogging()
	c, err := esdb.NewClient(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	meta, err := esdbstore.EncodeMetadataForTest(&ev.EventData, ev.Hash, ev.Signature)
	if err != nil {
		tb.Fatal(err)
	}
	var exp esdb.ExpectedRevision = esdb.NoStream{}
	if ev.Revision > 0 {
		exp = esdb.Revision(ev.Revision - 1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = c.AppendToStream(ctx, ns+ev.Stream, esdb.AppendToStreamOptions{ExpectedRevision: exp},
		esdb.EventData{EventID: ev.ID, EventType: ev.Type, ContentType: esdb.ContentTypeJson, Data: ev.Data, Metadata: meta})
	if err != nil {
		tb.Fatalf("forge: %v", err)
	}
}

// TestConformanceKurrentDB runs the suite against a real KurrentDB when
// KINERJA_TEST_KURRENTDB_URL names one (for example
// "esdb://localhost:2113?tls=false"); CI does not require it.
//
// All locations share that one database, so each gets its own
// Options.Namespace: streams are stored as "<namespace><stream>", and
// ReadAll, Head and SubscribeAll see only the namespace's events, so the
// suite's checks of an empty store hold although the database is not
// empty. The node must accept appends of a little over 1 MiB
// (KURRENTDB_MAX_APPEND_SIZE ≥ 1100000) for the default data limit.
func TestConformanceKurrentDB(t *testing.T) {
	url := os.Getenv("KINERJA_TEST_KURRENTDB_URL")
	if url == "" {
		t.Skip("KINERJA_TEST_KURRENTDB_URL is not set")
	}
	storetest.Run(t, storetest.Backend{
		Name: "esdbstore+kurrentdb",
		NewLocation: func(tb testing.TB) string {
			var b [6]byte
			if _, err := rand.Read(b[:]); err != nil {
				tb.Fatal(err)
			}
			return url + "#ns=t" + hex.EncodeToString(b[:]) + "-"
		},
		Open:  openLocation,
		Crash: true,
	})
}
