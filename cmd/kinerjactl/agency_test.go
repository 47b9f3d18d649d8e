package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

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
