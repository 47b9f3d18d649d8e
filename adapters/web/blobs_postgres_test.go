package web

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/blobstore"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// Server mode keeps evidence files in PostgreSQL: the upload form stores
// the file there and the download serves it back, checked.
func TestEvidenceOnPostgres(t *testing.T) {
	p := testPool(t)
	h := seeded(t)
	schema := fmt.Sprintf("web_blobs_test_%d_%d", os.Getpid(), schemaN.Add(1))
	p.Exec(h.ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`)
	t.Cleanup(func() { p.Exec(h.ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`) })
	if _, err := blobstore.Migrate(h.ctx, p, schema); err != nil {
		t.Fatal(err)
	}
	blobs, err := blobstore.OpenPostgres(h.ctx, p, schema)
	if err != nil {
		t.Fatal(err)
	}
	h.rebuild(func(c *app.Config) { c.Blobs = blobs })
	path := "/skp/" + h.ag.skpE + "/bukti"
	content := []byte("Laporan imunisasi triwulan IV\nLima puskesmas melaksanakan.\n")
	if r := h.upload(&empE, path, h.fill(empE, path, "indicator_id", h.ag.indE), "laporan.txt", content, "application/pdf"); r.status != http.StatusSeeOther {
		t.Fatalf("upload = %d\n%s", r.status, r.body)
	}
	v, _ := h.skps.Read(h.ctx, empE.principal(), h.ag.skpE, skp.AsOf{})
	ev := v.Evidence[len(v.Evidence)-1]
	if ev.MediaType != app.MediaText {
		t.Errorf("the text file was recorded as %s", ev.MediaType)
	}
	var n int
	if err := p.QueryRow(h.ctx, `SELECT count(*) FROM `+schema+`.blobs WHERE sha256 = $1`, ev.SHA256).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the file is not in PostgreSQL: %d, %v", n, err)
	}
	r := h.must200(auditor, path+"/"+ev.SHA256)
	if r.body != string(content) || r.header.Get("Content-Type") != "text/plain; charset=utf-8" || !strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment;") {
		t.Errorf("download from PostgreSQL: %v", r.header)
	}
	if _, err := p.Exec(h.ctx, `UPDATE `+schema+`.blob_chunks SET data = 'tampered' WHERE sha256 = $1`, ev.SHA256); err != nil {
		t.Fatal(err)
	}
	if r := h.get(&auditor, path+"/"+ev.SHA256); r.status != http.StatusInternalServerError || strings.Contains(r.body, "tampered") {
		t.Errorf("a tampered file in PostgreSQL = %d", r.status)
	}
}
