package eventcodec_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/bizdate"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/consequence"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/eventcodec"
	"github.com/kinerja-ledger/kinerja/domain/nip"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	nipE = "199001012015031001"
	nipA = "198502022010012002"
	nipS = "197503032000031003"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func ptr[T any](v T) *T { return &v }

var (
	sesuai = skp.Scores{WorkResult: rating.MeetsExpectation, Behaviour: rating.MeetsExpectation, Predikat: rating.Baik}
	atas   = skp.Scores{WorkResult: rating.AboveExpectation, Behaviour: rating.AboveExpectation, Predikat: rating.SangatBaik}
	filed  = skp.ObjectionFiled{ObjectionID: "0b4f6d8e-7a51-4c2e-9a77-5d2c1e0f9b10", Period: "2026", Reasons: "Bukti dukung triwulan IV belum dipertimbangkan",
		FiledAt: ts("2027-01-12T10:00:00+07:00"), RecordedByClerk: "clerk-1", AddressedTo: nipS, AppraiserNIP: nipA, Evaluation: sesuai,
		Deadline: ts("2027-01-22T23:59:59+07:00"), Backfill: &bizdate.Backfill{PaperRef: "Agenda keberatan 17/2027", RecordedBy: "clerk-1", OnBehalfOf: nipE}}
)

// samples holds one fully populated value of every event type; the golden
// file of each is its stored JSON.
var samples = []domain.Event{
	consequence.TablesAdopted{Version: "pergub-2024", FromYear: 2027, Digest: "9f2c", Tables: `{"version":"pergub-2024","angka_kredit_percent":{"BAIK":100}}`},
	orgunit.Registered{UnitID: "DINKES", Name: "Dinas Kesehatan", ParentID: "PEMKOT"},
	orgunit.PerformanceRated{UnitID: "DINKES", Period: "2026", Predikat: rating.Istimewa, Previous: rating.OrgBaik, Reason: "Koreksi capaian PK",
		Capacity: orgunit.CapacityBackfill, SetterUnitID: "PEMKOT", BasisRef: "800/12/PEMKOT/2027", PaperRef: "Arsip BKPSDM 2027/IV/17"},
	orgunit.HeadAssigned{UnitID: "DINKES", HeadNIP: nipA, EffectiveFrom: calendar.MustNew(2026, 1, 1),
		Backfill: &bizdate.Backfill{PaperRef: "SK Wali Kota 821.2/14/2026", RecordedBy: "hr-1", OnBehalfOf: nipS}},
	orgunit.Renamed{UnitID: "DINKES", Name: "Dinas Kesehatan Kota Sukamaju", Previous: "Dinas Kesehatan"},
	orgunit.ZoneSet{UnitID: "DINKES", Zone: "WITA", Previous: "WIB"},
	employee.Registered{NIP: nipE, ASNType: nip.PNS, BirthDate: calendar.MustNew(1990, 1, 1), Sex: nip.Male, AppointmentYear: 2015,
		AppointmentMonth: time.March, Name: "Budi Santoso", UnitID: "DINKES", Position: employee.Position{Kind: employee.Pelaksana, Title: "Pengadministrasi Umum"}},
	employee.OfficialRegistered{OfficialID: "MENKES", Kind: employee.Minister, Title: "Menteri Kesehatan", UnitID: "KEMENKES"},
	employee.TransferReleased{NIP: nipE, ToAgency: "PEMPROV", ExpiresOn: calendar.MustNew(2026, 3, 31), DecreeRef: "800/12/BKPSDM/2026"},
	employee.ReportingLineAssigned{NIP: nipE, AppraiserNIP: nipA, AppraiserSuperiorNIP: nipS, EffectiveFrom: calendar.MustNew(2026, 1, 1),
		Capacity: employee.Plt, DelegationRef: "SPT 800/12/2026", Backfill: &bizdate.Backfill{PaperRef: "SK 800/12/2026", RecordedBy: "hr-1", OnBehalfOf: nipS}},
	employee.PositionChanged{NIP: nipE, Position: employee.Position{Kind: employee.Pengawas, Title: "Kepala Subbagian Umum"}, UnitID: "BAPPEDA",
		EffectiveFrom: calendar.MustNew(2026, 7, 1), DecreeRef: "SK 821/2026", PreviousPosition: employee.Position{Kind: employee.Pelaksana, Title: "Pengadministrasi Umum"},
		PreviousUnitID: "DINKES", Backfill: &bizdate.Backfill{PaperRef: "SK 821/2026", RecordedBy: "hr-1", OnBehalfOf: nipS}},
	skp.Drafted{SKPID: nipE + "-2026", NIP: nipE, Year: 2026, Sequence: 1, Approach: skp.Kuantitatif, PeriodStart: calendar.MustNew(2026, 1, 1),
		PeriodEnd: calendar.MustNew(2026, 12, 31), Employee: skp.Snapshot{Name: "Budi Santoso", UnitID: "DINKES",
			Position: employee.Position{Kind: employee.Pelaksana, Title: "Pengadministrasi Umum"}},
		AppraiserNIP: nipA, AppraiserSuperiorNIP: nipS, DraftedOnBehalf: true, Cadence: "QUARTERLY", PolicyVersion: "PERMENPANRB_6_2022+SE_3_2023"},
	skp.RHKAdded{RHKID: "rhk-1", Text: "Terlaksananya imunisasi dasar lengkap", Kind: skp.Utama, IntervenedRHKID: "rhk-a-1",
		IntervenedSKPID: nipA + "-2026", PKRef: "PK-DINKES-2026-01"},
	skp.RHKChanged{RHKID: "rhk-1", Text: "Terlaksananya imunisasi dasar lengkap di 12 posyandu", Kind: skp.Utama, IntervenedRHKID: "rhk-a-1",
		IntervenedSKPID: nipA + "-2026", PKRef: "PK-DINKES-2026-01"},
	skp.RHKRemoved{RHKID: "rhk-2"},
	skp.IndicatorAdded{IndicatorID: "iki-1", RHKID: "rhk-1", Aspect: skp.Kuantitas, Text: "Jumlah balita diimunisasi", Target: skp.Target{Value: 120, Unit: "balita"}, Direction: skp.HigherIsBetter},
	skp.IndicatorChanged{IndicatorID: "iki-1", Aspect: skp.Kualitas, Text: "Cakupan imunisasi", Target: skp.Target{Value: 95.5, Unit: "%"}, Direction: skp.LowerIsBetter},
	skp.IndicatorRemoved{IndicatorID: "iki-2"},
	skp.BehaviourExpectationSet{Value: berakhlak.Akuntabel, Expectation: "Laporan keuangan posyandu tertib setiap bulan"},
	skp.Submitted{Version: 1},
	skp.Returned{Reason: "Indikator kualitas belum terukur"},
	skp.Established{Version: 1, Late: true, Deadline: calendar.MustNew(2026, 1, 31), AppraiserNIP: nipA, AppraiserSuperiorNIP: nipS,
		EmployeeSignedAt: ptr(ts("2026-02-02T08:00:00+07:00")), AppraiserSignedAt: ts("2026-02-03T10:30:00+07:00")},
	skp.AmendmentOpened{FromVersion: 1, Reason: "Reorganisasi bidang"},
	skp.PlanAcknowledged{ForVersion: 2, PlanDigest: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
	skp.Cancelled{Reason: "SKP ganda"},
	skp.ClosedForPositionChange{EffectiveFrom: calendar.MustNew(2026, 7, 1), Reason: "Mutasi ke Bappeda, SK 821/2026"},
	skp.RealisationRecorded{RealisationID: "real-1", Period: "2026-Q1", IndicatorID: "iki-1", RHKID: "rhk-1", SKPVersion: 1, Value: 31, Narrative: "Posyandu Melati dan Mawar"},
	skp.EvidenceAttached{EvidenceID: "ev-1", IndicatorID: "iki-1", RHKID: "rhk-1", URI: "https://files.example.go.id/ev/1.pdf",
		SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Filename: "laporan-q1.pdf", MediaType: "application/pdf", Size: 48213},
	skp.SelfAssessmentSubmitted{Period: "2026-Q1", Text: "Target triwulan tercapai", RHKNotes: []skp.RHKNote{{RHKID: "rhk-1", Note: "Dua posyandu baru"}}},
	skp.FeedbackRoundOpened{RoundID: "r1", Period: "2026-Q1", Invitees: []skp.RoundInvitee{{NIP: "199001012015031001", Group: skp.GroupSelf}, {NIP: "199106062016062006", Group: skp.GroupPeer}}},
	skp.FeedbackRoundAnswered{RoundID: "r1", Group: skp.GroupPeer, Answers: []skp.ValueAnswer{{Value: berakhlak.Akuntabel, Rating: rating.MeetsExpectation, Comment: "Tepat waktu", Examples: "Laporan bulanan selalu lengkap"}}},
	skp.FeedbackRoundClosed{RoundID: "r1"},
	skp.FeedbackAnswersDisclosed{RoundID: "r1", Answers: 4},
	skp.CoachingRecorded{EntryID: "c-1", Kind: skp.Dialogue, Period: "2026-Q2", HeldOn: "2026-05-12", Text: "Membahas capaian imunisasi triwulan II", Agreements: "Kunjungan posyandu tiap pekan"},
	skp.CompetencyGapIdentified{GapID: "g-1", Competency: "Analisis data", Description: "Belum dapat mengolah data cakupan per desa"},
	skp.DevelopmentActionPlanned{ActionID: "a-1", GapID: "g-1", Kind: skp.Training, Title: "Pelatihan analisis data kesehatan", DueDate: "2026-09-30"},
	skp.DevelopmentActionConcluded{ActionID: "a-1", Outcome: skp.OutcomeCompleted, Note: "Sertifikat pelatihan 2026-09-20"},
	skp.ImprovementPlanOpened{Period: "2026", Predikat: rating.ButuhPerbaikan, Goals: "Laporan tepat waktu", Actions: "Pendampingan mingguan",
		FollowUpOn: calendar.MustNew(2027, 8, 9), AppraiserNIP: "198502022010012002"},
	skp.ImprovementPlanResultRecorded{Period: "2026", Result: skp.Improved, Note: "Laporan kini tepat waktu", AppraiserNIP: "198502022010012002"},
	skp.FeedbackGiven{FeedbackID: "fb-1", About: skp.FeedbackAbout{RHKID: "rhk-1", IndicatorID: "iki-1", Behaviour: berakhlak.Kolaboratif},
		Text: "Koordinasi dengan kader sangat baik", GiverNIP: nipA, Relationship: skp.FromAppraiser},
	skp.FeedbackGiverAssigned{GiverNIP: nipS, Kind: skp.TeamLead, AssignmentRef: "SK Tim Kerja Stunting 800/7", Revoked: true},
	skp.RatingGroundsRecorded{Period: "2026", SKPVersion: 1, Grounds: skp.Grounds{
		WorkResults:    []skp.RHKRating{{RHKID: "rhk-1", Rating: rating.AboveExpectation, Rationale: "Cakupan imunisasi 98% dari target 95%"}},
		BehaviourNotes: []skp.ValueNote{{Value: berakhlak.Kolaboratif, Note: "Menggerakkan kader lintas puskesmas"}}}},
	skp.RatingAssigned{Period: "2026", Scores: sesuai, Rationale: "Target tercapai sesuai bukti dukung", AppraiserNIP: nipA,
		UnitHead: &skp.UnitHeadBasis{UnitID: "DINKES", OrgPredikat: rating.OrgBaik}, PolicyVersion: "PERMENPANRB_6_2022+SE_3_2023",
		Feedback360: &skp.Feedback360Basis{RoundID: "r1", Revision: 41, Hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}},
	skp.RatingRevised{Period: "2026", Previous: sesuai, Scores: atas, Source: skp.SourceObjection, Rationale: "Bukti triwulan IV", Reason: "Keberatan dikabulkan",
		ObjectionID: filed.ObjectionID, SupersedesEventID: "5f0c2f7e-1b2a-4c3d-8e9f-a0b1c2d3e4f5", AppraiserNIP: nipS,
		UnitHead: &skp.UnitHeadBasis{UnitID: "DINKES", OrgPredikat: rating.Istimewa}, PolicyVersion: "PERMENPANRB_6_2022+SE_3_2023"},
	skp.EvaluationIssued{Period: "2026", Scores: sesuai, DeliveredAt: ts("2027-01-08T10:00:00+07:00"), ObjectionDeadline: ptr(ts("2027-01-22T23:59:59+07:00")),
		AppraiserNIP: nipA, PolicyVersion: "PERMENPANRB_6_2022+SE_3_2023",
		Backfill: &bizdate.Backfill{PaperRef: "BA penyerahan 800/3/2027", RecordedBy: "clerk-1", OnBehalfOf: nipA}},
	skp.ReceiptAcknowledged{Period: "2026", ReceivedAt: ts("2027-01-09T09:00:00+07:00"), ObjectionDeadline: ptr(ts("2027-01-23T23:59:59+07:00")),
		Backfill: &bizdate.Backfill{PaperRef: "Tanda terima 12/2027", RecordedBy: "clerk-1", OnBehalfOf: nipE}},
	skp.EvaluationFinalised{Period: "2026", Reason: skp.WindowElapsed},
	filed,
	skp.ObjectionFiledLate{ObjectionFiled: filed, DaysLate: 3},
	skp.ExplanationRequested{ObjectionID: filed.ObjectionID, RequestID: "req-1", From: skp.PartyAppraiser, DueAt: ptr(ts("2027-01-19T16:00:00+07:00"))},
	skp.ExplanationSubmitted{ObjectionID: filed.ObjectionID, RequestID: "req-1", By: skp.PartyAppraiser, Text: "Bukti triwulan IV terlambat diunggah"},
	skp.ObjectionDecided{ObjectionID: filed.ObjectionID, Period: "2026", Outcome: skp.Changed, DecisionText: "Keberatan dikabulkan",
		Previous: sesuai, Result: atas, WaiverReason: "Pejabat penilai pensiun", Final: true},
	skp.ObjectionDeciderAssigned{ObjectionID: filed.ObjectionID, Period: "2026", DeciderNIP: nipS, Previous: nipA, Basis: skp.DeciderEscalation,
		Ref: "Atasan pejabat penilai adalah pejabat penilai semula"},
	skp.ObjectionWithdrawn{ObjectionID: filed.ObjectionID, Period: "2026", Reason: "Sudah dijelaskan"},
	distribution.DeviationJustified{UnitID: "DINKES", Period: "2026", OrgPredikat: rating.OrgBaik, Pattern: "SE_MENPANRB_3_2023",
		Counts:        map[rating.Predikat]int{rating.SangatBaik: 1, rating.Baik: 9, rating.ButuhPerbaikan: 0, rating.KurangMisconduct: 0, rating.SangatKurang: 0},
		Violations:    []distribution.Violation{{Rule: "BAIK.BAIK.max_70", Detail: "9 of 10 (90.0%) are BAIK; at most 7 allowed (70% of 10, rounded down)"}},
		Justification: "Unit kecil dengan capaian PK di atas target"},
}

// golden names the golden file of a type's schema version: <type>.json for
// version 1, <type>@<version>.json after. The files of older versions stay:
// they are what the store still holds, and TestOlderShapesUpcast reads them.
func golden(eventType string, version int) string {
	if version == 1 {
		return filepath.Join("testdata", eventType+".json")
	}
	return filepath.Join("testdata", fmt.Sprintf("%s@%d.json", eventType, version))
}

func TestEveryTypeHasASampleAndAGolden(t *testing.T) {
	var sampled []string
	for _, s := range samples {
		sampled = append(sampled, s.EventType())
	}
	slices.Sort(sampled)
	if diff := cmp.Diff(eventcodec.Types(), sampled); diff != "" {
		t.Errorf("registered types and samples differ (-registered +sampled):\n%s", diff)
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		typ := filepath.Base(f)
		typ = typ[:len(typ)-len(".json")]
		typ, _, _ = strings.Cut(typ, "@")
		if _, ok := eventcodec.Registry().Lookup(typ); !ok {
			t.Errorf("golden file %s names no registered type", f)
		}
	}
}

func TestGoldenJSON(t *testing.T) {
	for _, s := range samples {
		t.Run(s.EventType(), func(t *testing.T) {
			typ, ver, data, err := eventcodec.Encode(s)
			if err != nil {
				t.Fatal(err)
			}
			spec, _ := eventcodec.Registry().Lookup(typ)
			if typ != s.EventType() || ver != spec.Version || !domain.ValidEventType(typ) {
				t.Fatalf("Encode = %s schema %d", typ, ver)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, data, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			path := golden(typ, ver)
			if *update {
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), pretty.String()); diff != "" {
				t.Errorf("stored JSON of %s changed (-golden +now); a changed contract needs a new schema version and an upcaster:\n%s", typ, diff)
			}
			// The golden bytes decode to the same value.
			back, err := eventcodec.Decode(typ, ver, want)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(s, back); diff != "" {
				t.Errorf("decoded golden differs (-sample +decoded):\n%s", diff)
			}
		})
	}
}

// The stored JSON of every older schema version (its golden file, kept)
// still decodes through the upcasters, and keeps every value it had: a
// shape may only gain fields whose absence means what it meant before.
func TestOlderShapesUpcast(t *testing.T) {
	for _, s := range samples {
		spec, _ := eventcodec.Registry().Lookup(s.EventType())
		for ver := 1; ver < spec.Version; ver++ {
			old, err := os.ReadFile(golden(s.EventType(), ver))
			if err != nil {
				t.Errorf("%s schema %d: %v (keep the golden file of every stored version)", s.EventType(), ver, err)
				continue
			}
			e, err := eventcodec.Decode(s.EventType(), ver, old)
			if err != nil {
				t.Errorf("%s schema %d does not decode: %v", s.EventType(), ver, err)
				continue
			}
			_, _, now, err := eventcodec.Encode(e)
			if err != nil {
				t.Fatal(err)
			}
			var was, is map[string]any
			if err := json.Unmarshal(old, &was); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(now, &is); err != nil {
				t.Fatal(err)
			}
			for k, v := range was {
				if !cmp.Equal(v, is[k]) {
					t.Errorf("%s schema %d: %s was %v, upcast %v", s.EventType(), ver, k, v, is[k])
				}
			}
		}
	}
}

// Every field of every sample is set, so that a field the JSON drops (a
// missing tag, a bad omitempty) shows up as a decode difference above; this
// checks the JSON has no empty values either.
func TestGoldenHasNoEmptyValues(t *testing.T) {
	for _, s := range samples {
		_, _, data, err := eventcodec.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		walk(t, s.EventType(), m)
	}
}

func walk(t *testing.T, path string, v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			walk(t, path+"."+k, e)
		}
	case []any:
		for _, e := range x {
			walk(t, path+"[]", e)
		}
	case string:
		if x == "" {
			t.Errorf("%s is empty in the sample", path)
		}
	case nil:
		t.Errorf("%s is null in the sample", path)
	}
}

func TestDecodeUnknown(t *testing.T) {
	if _, err := eventcodec.Decode("skp.exploded.v1", 1, []byte(`{}`)); !errors.Is(err, domain.ErrUnknownEventType) {
		t.Errorf("Decode(unknown type) error = %v, want ErrUnknownEventType", err)
	}
	if _, err := eventcodec.Decode("skp.drafted.v1", 2, []byte(`{}`)); !errors.Is(err, domain.ErrUnknownEventType) {
		t.Errorf("Decode(unknown schema version) error = %v, want ErrUnknownEventType", err)
	}
}

func TestTypeNamesAreExplicit(t *testing.T) {
	for _, typ := range eventcodec.Types() {
		if !domain.ValidEventType(typ) {
			t.Errorf("%q is not a stable versioned name", typ)
		}
	}
}

// TestUpcast reads each older shape kept in testdata/upcast/ through the
// upcaster chain: what it meant then, it means now.
func TestUpcast(t *testing.T) {
	want := map[string]domain.Event{
		"unit.performance_rated.v1": orgunit.PerformanceRated{UnitID: "DINKES", Period: "2026", Predikat: rating.Istimewa, Previous: rating.OrgBaik,
			Reason: "Koreksi capaian PK", Capacity: orgunit.CapacityLegacy},
	}
	files, err := filepath.Glob(filepath.Join("testdata", "upcast", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(want) {
		t.Errorf("upcast goldens %v, want one per entry of %v", files, slices.Sorted(maps.Keys(want)))
	}
	for _, f := range files {
		typ := strings.TrimSuffix(filepath.Base(f), ".json")
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := eventcodec.Decode(typ, 1, data)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if diff := cmp.Diff(want[typ], got); diff != "" {
			t.Errorf("%s upcast (-want +got):\n%s", typ, diff)
		}
	}
}
