package skp_test

import (
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

func TestRecordRealisation(t *testing.T) {
	tests := []struct {
		name      string
		pol       func(*policy.Policy)
		setup     func(f *fixture, id string)
		caller    string
		cmd       func(id, ind string) skp.RecordRealisation
		wantKind  string
		wantField string
	}{
		{name: "quarter of the cadence", cmd: func(id, ind string) skp.RecordRealisation {
			return skp.RecordRealisation{SKPID: id, Period: "2026-Q1", IndicatorID: ind, Value: 30, Narrative: "Posyandu Melati"}
		}},
		{name: "annual", cmd: func(id, ind string) skp.RecordRealisation {
			return skp.RecordRealisation{SKPID: id, Period: "2026", IndicatorID: ind, Value: 118}
		}},
		{name: "a month under the quarterly cadence", cmd: func(id, ind string) skp.RecordRealisation {
			return skp.RecordRealisation{SKPID: id, Period: "2026-02", IndicatorID: ind, Value: 1}
		}, wantKind: "validation", wantField: "period"},
		{name: "a month under a monthly cadence", pol: func(p *policy.Policy) { p.Cadence = "MONTHLY" }, cmd: func(id, ind string) skp.RecordRealisation {
			return skp.RecordRealisation{SKPID: id, Period: "2026-02", IndicatorID: ind, Value: 1}
		}},
		{name: "a period of another year", cmd: func(id, ind string) skp.RecordRealisation {
			return skp.RecordRealisation{SKPID: id, Period: "2025-Q4", IndicatorID: ind, Value: 1}
		}, wantKind: "validation", wantField: "period"},
		{name: "an unknown indicator", cmd: func(id, ind string) skp.RecordRealisation {
			return skp.RecordRealisation{SKPID: id, Period: "2026-Q1", IndicatorID: "nope", Value: 1}
		}, wantKind: "validation", wantField: "indicator_id"},
		{name: "a negative value", cmd: func(id, ind string) skp.RecordRealisation {
			return skp.RecordRealisation{SKPID: id, Period: "2026-Q1", IndicatorID: ind, Value: -3}
		}, wantKind: "validation", wantField: "value"},
		{name: "by the appraiser", caller: nipA, cmd: func(id, ind string) skp.RecordRealisation {
			return skp.RecordRealisation{SKPID: id, Period: "2026-Q1", IndicatorID: ind, Value: 1}
		}, wantKind: "forbidden"},
		{name: "for a period already issued", setup: func(f *fixture, id string) {
			f.rate(id, "2026-Q1", "SESUAI_EKSPEKTASI", "SESUAI_EKSPEKTASI", "")
			f.ok(f.skps.Issue(f.ctx, f.req(nipA), skp.Issue{SKPID: id, Period: "2026-Q1"}))
		}, cmd: func(id, ind string) skp.RecordRealisation {
			return skp.RecordRealisation{SKPID: id, Period: "2026-Q1", IndicatorID: ind, Value: 1}
		}, wantKind: "invalid_state"},
		{name: "during an amendment, against the version in effect", setup: func(f *fixture, id string) {
			f.ok(f.skps.Amend(f.ctx, f.req(nipA), skp.Amend{SKPID: id, Reason: "x"}))
		}, cmd: func(id, ind string) skp.RecordRealisation {
			return skp.RecordRealisation{SKPID: id, Period: "2026-Q2", IndicatorID: ind, Value: 1}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var change []func(*policy.Policy)
			if tt.pol != nil {
				change = append(change, tt.pol)
			}
			f := newFixture(t, change...)
			id, rhk, ind := f.establishedE()
			if tt.setup != nil {
				tt.setup(f, id)
			}
			caller := nipE
			if tt.caller != "" {
				caller = tt.caller
			}
			cmd := tt.cmd(id, ind)
			rid, _, err := f.skps.RecordRealisation(f.ctx, f.req(caller), cmd)
			expect(t, err, tt.wantKind, tt.wantField)
			if tt.wantKind != "" {
				return
			}
			rs := f.view(id).Realisations
			got := rs[len(rs)-1]
			if got.ID != rid || got.IndicatorID != ind || got.RHKID != rhk || got.SKPVersion != 1 || got.Value != cmd.Value || got.Period != cmd.Period {
				t.Errorf("realisation = %+v", got)
			}
		})
	}
}

func TestRealisationBeforeEstablishment(t *testing.T) {
	f := newFixture(t)
	id, _, ind := f.draftedE()
	_, _, err := f.skps.RecordRealisation(f.ctx, f.req(nipE), skp.RecordRealisation{SKPID: id, Period: "2026-Q1", IndicatorID: ind, Value: 1})
	expect(t, err, "invalid_state", "")
}

func TestAttachEvidence(t *testing.T) {
	good := func(id, ind string) skp.AttachEvidence {
		return skp.AttachEvidence{SKPID: id, IndicatorID: ind, URI: "https://files.example.go.id/ev/1.pdf",
			SHA256: strings.Repeat("AB", 32), Filename: "laporan-q1.pdf", MediaType: "application/pdf", Size: 2048}
	}
	tests := []struct {
		name      string
		change    func(*skp.AttachEvidence)
		caller    string
		wantKind  string
		wantField string
	}{
		{name: "valid evidence"},
		{name: "http", change: func(c *skp.AttachEvidence) { c.URI = "http://intranet.example.go.id/ev/1.pdf" }},
		{name: "scheme in capitals, host only", change: func(c *skp.AttachEvidence) { c.URI = "HTTPS://files.example.go.id" }},
		{name: "query and fragment", change: func(c *skp.AttachEvidence) { c.URI = "https://files.example.go.id:8443?id=1#p2" }},
		// http and https only (issue 9 §4): a link the dashboard hands to
		// readers must not run script, embed data or reach their disk.
		{name: "an s3 URI", change: func(c *skp.AttachEvidence) { c.URI = "s3://bucket/key.pdf" }, wantKind: "validation", wantField: "uri"},
		{name: "javascript", change: func(c *skp.AttachEvidence) { c.URI = "javascript:alert(1)" }, wantKind: "validation", wantField: "uri"},
		{name: "javascript with slashes", change: func(c *skp.AttachEvidence) { c.URI = "javascript://%0aalert(1)" }, wantKind: "validation", wantField: "uri"},
		{name: "data", change: func(c *skp.AttachEvidence) { c.URI = "data:text/html;base64,PHNjcmlwdD4=" }, wantKind: "validation", wantField: "uri"},
		{name: "file", change: func(c *skp.AttachEvidence) { c.URI = "file:///etc/passwd" }, wantKind: "validation", wantField: "uri"},
		{name: "ftp", change: func(c *skp.AttachEvidence) { c.URI = "ftp://files.example.go.id/1.pdf" }, wantKind: "validation", wantField: "uri"},
		{name: "no host", change: func(c *skp.AttachEvidence) { c.URI = "https:///ev/1.pdf" }, wantKind: "validation", wantField: "uri"},
		{name: "credentials", change: func(c *skp.AttachEvidence) { c.URI = "https://user:secret@files.example.go.id/1.pdf" }, wantKind: "validation", wantField: "uri"},
		{name: "relative URI", change: func(c *skp.AttachEvidence) { c.URI = "ev/1.pdf" }, wantKind: "validation", wantField: "uri"},
		{name: "URI with a space", change: func(c *skp.AttachEvidence) { c.URI = "https://files.example.go.id/my file.pdf" }, wantKind: "validation", wantField: "uri"},
		{name: "scheme only", change: func(c *skp.AttachEvidence) { c.URI = "https:" }, wantKind: "validation", wantField: "uri"},
		// A file stored by the ledger: the ni: URI of its own hash only.
		{name: "stored file", change: func(c *skp.AttachEvidence) { c.URI = skp.EvidenceURI(strings.Repeat("ab", 32)) }},
		{name: "stored file of another hash", change: func(c *skp.AttachEvidence) { c.URI = skp.EvidenceURI(strings.Repeat("cd", 32)) }, wantKind: "validation", wantField: "uri"},
		{name: "ni URI not base64url", change: func(c *skp.AttachEvidence) { c.URI = "ni:///sha-256;" + strings.Repeat("ab", 32) }, wantKind: "validation", wantField: "uri"},
		{name: "ni URI of another algorithm", change: func(c *skp.AttachEvidence) { c.URI = "ni:///sha-512;q83vq83vq83v" }, wantKind: "validation", wantField: "uri"},
		{name: "short hash", change: func(c *skp.AttachEvidence) { c.SHA256 = "abc" }, wantKind: "validation", wantField: "sha256"},
		{name: "non-hex hash", change: func(c *skp.AttachEvidence) { c.SHA256 = strings.Repeat("zz", 32) }, wantKind: "validation", wantField: "sha256"},
		{name: "65 hex digits", change: func(c *skp.AttachEvidence) { c.SHA256 = strings.Repeat("a", 65) }, wantKind: "validation", wantField: "sha256"},
		{name: "filename with a path", change: func(c *skp.AttachEvidence) { c.Filename = "../etc/passwd" }, wantKind: "validation", wantField: "filename"},
		{name: "no filename", change: func(c *skp.AttachEvidence) { c.Filename = "" }, wantKind: "validation", wantField: "filename"},
		{name: "bad media type", change: func(c *skp.AttachEvidence) { c.MediaType = "pdf" }, wantKind: "validation", wantField: "media_type"},
		{name: "zero size", change: func(c *skp.AttachEvidence) { c.Size = 0 }, wantKind: "validation", wantField: "size"},
		{name: "unknown indicator", change: func(c *skp.AttachEvidence) { c.IndicatorID = "nope" }, wantKind: "validation", wantField: "indicator_id"},
		{name: "by a peer, who does not see the SKP", caller: nipP, wantKind: "not_found"},
		{name: "by an outsider", caller: nipX, wantKind: "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			id, _, ind := f.establishedE()
			cmd := good(id, ind)
			if tt.change != nil {
				tt.change(&cmd)
			}
			caller := nipE
			if tt.caller != "" {
				caller = tt.caller
			}
			_, _, err := f.skps.AttachEvidence(f.ctx, f.req(caller), cmd)
			expect(t, err, tt.wantKind, tt.wantField)
			if tt.wantKind == "" {
				ev := f.view(id).Evidence
				if len(ev) != 1 || ev[0].SHA256 != strings.Repeat("ab", 32) {
					t.Errorf("evidence = %+v, want one record with the lower-case hash", ev)
				}
			}
		})
	}
}

func TestGiveFeedback(t *testing.T) {
	tests := []struct {
		name      string
		caller    domain.Request
		about     func(rhk, ind string) skp.FeedbackAbout
		text      string
		wantKind  string
		wantField string
		wantRel   skp.Relationship
	}{
		{name: "appraiser on an RHK", caller: domain.Request{Caller: domain.Principal{ID: nipA}},
			about: func(rhk, _ string) skp.FeedbackAbout { return skp.FeedbackAbout{RHKID: rhk} }, wantRel: skp.FromAppraiser},
		{name: "colleague of the same unit on behaviour", caller: domain.Request{Caller: domain.Principal{ID: nipP}},
			about: func(string, string) skp.FeedbackAbout { return skp.FeedbackAbout{Behaviour: "KOLABORATIF"} }, wantRel: skp.FromPeer},
		{name: "the employee on an indicator", caller: domain.Request{Caller: domain.Principal{ID: nipE}},
			about: func(rhk, ind string) skp.FeedbackAbout { return skp.FeedbackAbout{RHKID: rhk, IndicatorID: ind} }, wantRel: skp.FromSelf},
		{name: "general feedback", caller: domain.Request{Caller: domain.Principal{ID: nipA}},
			about: func(string, string) skp.FeedbackAbout { return skp.FeedbackAbout{} }, wantRel: skp.FromAppraiser},
		{name: "someone from another unit", caller: domain.Request{Caller: domain.Principal{ID: nipX}},
			about: func(string, string) skp.FeedbackAbout { return skp.FeedbackAbout{} }, wantKind: "not_found"},
		{name: "the superior is not a feedback giver", caller: domain.Request{Caller: domain.Principal{ID: nipS}},
			about: func(string, string) skp.FeedbackAbout { return skp.FeedbackAbout{} }, wantKind: "forbidden"},
		{name: "an unknown behaviour value", caller: domain.Request{Caller: domain.Principal{ID: nipA}},
			about: func(string, string) skp.FeedbackAbout { return skp.FeedbackAbout{Behaviour: "JUJUR"} }, wantKind: "validation", wantField: "about.behaviour"},
		{name: "an unknown RHK", caller: domain.Request{Caller: domain.Principal{ID: nipA}},
			about: func(string, string) skp.FeedbackAbout { return skp.FeedbackAbout{RHKID: "nope"} }, wantKind: "validation", wantField: "about.rhk_id"},
		{name: "indicator of another RHK", caller: domain.Request{Caller: domain.Principal{ID: nipA}},
			about: func(_, ind string) skp.FeedbackAbout { return skp.FeedbackAbout{RHKID: "other", IndicatorID: ind} }, wantKind: "validation"},
		{name: "empty text", caller: domain.Request{Caller: domain.Principal{ID: nipA}}, text: " ",
			about: func(string, string) skp.FeedbackAbout { return skp.FeedbackAbout{} }, wantKind: "validation", wantField: "text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			id, rhk, ind := f.establishedE()
			req := f.req(tt.caller.Caller.ID)
			body := "Pelaporan sudah rapi"
			if tt.text != "" {
				body = tt.text
			}
			_, _, err := f.skps.GiveFeedback(f.ctx, req, skp.GiveFeedback{SKPID: id, About: tt.about(rhk, ind), Text: body})
			expect(t, err, tt.wantKind, tt.wantField)
			if tt.wantKind != "" {
				return
			}
			fb := f.view(id).Feedback
			if len(fb) != 1 || fb[0].Relationship != tt.wantRel || fb[0].GiverNIP != req.Caller.ID {
				t.Errorf("feedback = %+v, want relationship %s from %s", fb, tt.wantRel, req.Caller.ID)
			}
		})
	}
}

// Every per-SKP limit refuses the one past it with 422 naming it, and
// changes nothing (issue 9 §4: one employee added 11,216 RHK in 45 s).
func TestSKPLimits(t *testing.T) {
	f := newFixture(t, func(p *policy.Policy) {
		p.SKPLimits = policy.SKPLimits{RHK: 1, IndicatorsPerRHK: 1, Realisations: 1, Evidence: 1, Feedback: 1}
	})
	id, rhk, ind := f.draftedE()
	rev := f.view(id).Revision
	_, _, err := f.skps.AddRHK(f.ctx, f.req(nipE), skp.AddRHK{SKPID: id, RHKFields: skp.RHKFields{Text: "Kedua", Kind: "TAMBAHAN"}})
	expect(t, err, "validation", "rhk")
	_, _, err = f.skps.AddIndicator(f.ctx, f.req(nipE), skp.AddIndicator{SKPID: id, RHKID: rhk, IndicatorFields: skp.IndicatorFields{
		Aspect: "KUALITAS", Text: "Kedua", Target: skp.Target{Value: 1, Unit: "x"}}})
	expect(t, err, "validation", "indicators")
	if f.view(id).Revision != rev {
		t.Fatal("a refused addition was recorded")
	}
	f.ok(f.skps.Submit(f.ctx, f.req(nipE), skp.Submit{SKPID: id}))
	f.ok(f.skps.Establish(f.ctx, f.req(nipA), skp.Establish{SKPID: id}))
	real := skp.RecordRealisation{SKPID: id, Period: "2026-Q1", IndicatorID: ind, Value: 3}
	ev := skp.AttachEvidence{SKPID: id, IndicatorID: ind, URI: "https://files.example/a.pdf", SHA256: strings.Repeat("ab", 32),
		Filename: "a.pdf", MediaType: "application/pdf", Size: 10}
	fb := skp.GiveFeedback{SKPID: id, About: skp.FeedbackAbout{RHKID: rhk}, Text: "Bagus"}
	for i, want := range []string{"", "validation"} {
		_, _, err := f.skps.RecordRealisation(f.ctx, f.req(nipE), real)
		expect(t, err, want, map[bool]string{true: "realisations"}[i == 1])
		_, _, err = f.skps.AttachEvidence(f.ctx, f.req(nipE), ev)
		expect(t, err, want, map[bool]string{true: "evidence"}[i == 1])
		_, _, err = f.skps.GiveFeedback(f.ctx, f.req(nipA), fb)
		expect(t, err, want, map[bool]string{true: "feedback"}[i == 1])
	}
}

// A stored file's URI is RFC 6920's ni URI of its SHA-256.
func TestEvidenceURI(t *testing.T) {
	if got, want := skp.EvidenceURI(strings.Repeat("ab", 32)), "ni:///sha-256;q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s"; got != want {
		t.Errorf("EvidenceURI = %s, want %s", got, want)
	}
	if !(skp.Evidence{URI: skp.EvidenceURI(strings.Repeat("ab", 32))}).Stored() || (skp.Evidence{URI: "https://x.example/a.pdf"}).Stored() {
		t.Error("Stored does not tell a stored file from a link")
	}
}
