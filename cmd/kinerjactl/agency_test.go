package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/cmd/internal/backend"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/projections/audit"
)

// TestVerifyAndExportOneAgency: offline, from the store, one agency's log
// verifies on its own (and an unknown agency's empty log too), and an
// appeal bundle proven in the agency's log verifies with the public key.
func TestVerifyAndExportOneAgency(t *testing.T) {
	data := t.TempDir()
	var stats struct {
		AgencyUnit string
	}
	out := mustCtl(t, "seed", "--data", data, "--employees", "20", "--year", "2025", "--seed", "5")
	if err := json.Unmarshal([]byte(out), &stats); err != nil {
		t.Fatal(err)
	}
	agency := stats.AgencyUnit
	if agency == "" {
		var m map[string]any
		_ = json.Unmarshal([]byte(out), &m)
		t.Fatalf("seed printed no agency unit: %v", m)
	}
	signCheckpoint(t, backend.StoreConfig{Name: "bolt", DataDir: data})
	var all, one audit.Report
	if err := json.Unmarshal([]byte(mustCtl(t, "verify", "--data", data)), &all); err != nil || !all.OK {
		t.Fatalf("verify = %+v, %v", all, err)
	}
	if err := json.Unmarshal([]byte(mustCtl(t, "verify", "--data", data, "--agency", agency)), &one); err != nil || !one.OK ||
		one.Agency == nil || *one.Agency != agency || one.Size == 0 || one.Size > all.Size || one.Checkpoints != 1 {
		t.Fatalf("verify --agency %s = %+v, %v (whole trail %d entries)", agency, one, err, all.Size)
	}
	var none audit.Report
	if err := json.Unmarshal([]byte(mustCtl(t, "verify", "--data", data, "--agency", "NO-SUCH-AGENCY")), &none); err != nil || !none.OK || none.Size != 0 {
		t.Fatalf("verify --agency NO-SUCH-AGENCY = %+v, %v", none, err)
	}
	nip := firstSKPOwner(t, data)
	bundle := filepath.Join(t.TempDir(), "bundle.json")
	mustCtl(t, "export", "--data", data, "--nip", nip, "--year", "2025", "--agency", agency, "--out", bundle)
	var br audit.BundleReport
	pub := filepath.Join(data, wiring.AuditPubKeyFile)
	if err := json.Unmarshal([]byte(mustCtl(t, "verify", "--bundle", bundle, "--key", pub)), &br); err != nil || !br.OK || br.Proven == 0 || !br.Trusted {
		t.Fatalf("verify --bundle of an agency bundle = %+v, %v", br, err)
	}
}

// TestVerifyAgencyFindsForgedInsert: offline, one agency's verification
// authenticates the agency's writer signatures as the whole-trail one
// does: a forged insert (valid chain hash, no signature) after the last
// checkpoint is named; under a checkpoint signed over it, only
// --all-signatures can name it. The national log, which holds none of it,
// still verifies.
func TestVerifyAgencyFindsForgedInsert(t *testing.T) {
	data := t.TempDir()
	var stats struct{ AgencyUnit string }
	if err := json.Unmarshal([]byte(mustCtl(t, "seed", "--data", data, "--employees", "20", "--year", "2025", "--seed", "3")), &stats); err != nil || stats.AgencyUnit == "" {
		t.Fatalf("seed: %+v, %v", stats, err)
	}
	signCheckpoint(t, backend.StoreConfig{Name: "bolt", DataDir: data})
	var rep audit.Report
	if err := json.Unmarshal([]byte(mustCtl(t, "verify", "--data", data, "--agency", stats.AgencyUnit)), &rep); err != nil || !rep.OK || rep.Covered == 0 {
		t.Fatalf("verify --agency of the sound store = %+v, %v (want ok, the checkpoint covering its entries)", rep, err)
	}
	s, err := boltstore.Open(backend.BoltPath(data), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	id := forge(t, s)
	s.Close()
	verifyFinds(t, id, "--data", data, "--agency", stats.AgencyUnit)
	if err := json.Unmarshal([]byte(mustCtl(t, "verify", "--data", data, "--agency", "-")), &rep); err != nil || !rep.OK {
		t.Errorf("verify --agency - (national log) = %+v, %v: the forgery is the agency's, not the national log's", rep, err)
	}
	signCheckpoint(t, backend.StoreConfig{Name: "bolt", DataDir: data})
	verifyFinds(t, id, "--data", data, "--agency", stats.AgencyUnit, "--all-signatures")
}
