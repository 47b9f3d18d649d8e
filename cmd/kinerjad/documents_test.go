package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/app/document"
	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
)

// A running kinerjad prints documents signed with its audit key, with
// verification URLs on --public-url and times in --zone, and its public
// /verify answers for them without a token.
func TestDocumentsThroughKinerjad(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, "--public-url", "https://kinerja.example/", "--zone", "WITA")
	id, _, _ := established(t, s)
	s.must(200, nipA, nil, "PUT", "/v1/skps/"+id+"/evaluations/2025-Q1", httpapi.RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "DI_ATAS_EKSPEKTASI", Rationale: "Sesuai rencana"}, nil)
	a := s.must(200, nipE, nil, "GET", "/v1/skps/"+id+"/evaluations/2025-Q1/document.pdf", nil, nil)
	code := a.header.Get(httpapi.DocumentCodeHeader)
	key, err := wiring.ReadVerifierKey(filepath.Join(data, wiring.AuditPubKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if c, err := document.Open(code, key); err != nil || c.SKPID != id {
		t.Fatalf("code %q: %+v, %v (signed by the audit key?)", code, c, err)
	}
	if _, err := exec.LookPath("pdftotext"); err == nil {
		text, err := document.ExtractText(context.Background(), a.body)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := document.Check(text, code, key); err != nil {
			t.Errorf("the printed document does not verify: %v", err)
		}
		for _, want := range []string{"https://kinerja.example/verify/", " WITA"} {
			if !strings.Contains(text, want) {
				t.Errorf("the document lacks %q", want)
			}
		}
	}
	resp, err := http.Get(s.base + "/verify/" + code + "?format=json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var v struct{ Valid, Matches bool }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &v) != nil || !v.Valid || !v.Matches {
		t.Errorf("/verify = %d %s", resp.StatusCode, body)
	}
}

func TestDocumentFlagsRefused(t *testing.T) {
	for _, args := range [][]string{{"--zone", "CET"}, {"--zone", ""}, {"--public-url", "ftp://kinerja.example"}, {"--public-url", "kinerja.example"},
		{"--public-url", "https://kinerja.example/?x=1"}} {
		if _, err := parseConfig(append([]string{"--data", t.TempDir()}, args...), func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("parseConfig(%q) accepted", args)
		}
	}
	for _, z := range []string{"WIB", "wita", "WIT"} {
		c, err := parseConfig([]string{"--zone", z}, func(string) string { return "" }, io.Discard)
		if err != nil || !strings.EqualFold(c.Policy.Location.String(), z) {
			t.Errorf("--zone %s: %v %v", z, c.Policy.Location, err)
		}
	}
}
