package timeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/bizdate"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// Policy is the projection's poison policy: a dashboard, so DeadLetter.
const Policy = projections.DeadLetter

// Filter selects the events the projection reads: every domain stream.
func Filter() eventstore.Filter {
	return eventstore.Filter{StreamPrefixes: []string{domain.UnitStreamPrefix, domain.EmployeeStreamPrefix, domain.SKPStreamPrefix, domain.DistributionStreamPrefix}}
}

// Store is what the projection needs from its backend. A Sink calls it
// inside the transaction that also stores the checkpoint.
type Store interface {
	// AddItem stores it; (it.NIP, it.Position) is its key.
	AddItem(ctx context.Context, it Item) error
}

// Roles of an employee in an event besides the recorded actor roles.
const (
	// RoleHead is the head a unit event names.
	RoleHead = "UNIT_HEAD"
)

// Projection adds an item to the timeline of everyone an event concerns:
// the owner of the stream (the employee of an SKP or of an employee
// stream), whoever acted, and every NIP the payload names (the appraiser
// and superior of a line or an establishment, the rater, the superior an
// objection is addressed to, the appraiser an objection concerns, the
// giver of feedback, the head of a unit). It keeps, per SKP, the appraiser
// of each objection (named at filing) for the later events of the
// objection. It is not safe for concurrent use: its Sink applies one batch
// at a time.
type Projection struct {
	cache *projections.Cache[objectionAppraisers]
}

// objectionAppraisers maps an SKP's objection IDs to the appraiser each
// concerns.
type objectionAppraisers map[string]string

// New returns the projection. h rebuilds what the cache does not hold;
// cacheSize bounds the cache (≤ 0: projections.DefaultCacheSize, growing only when
// a projections.BoundedHistory enables it, see projections.Cache).
func New(h projections.History, cacheSize int) *Projection {
	return &Projection{cache: projections.NewCache(h, cacheSize, fold)}
}

// Reset forgets every cached SKP (a Sink calls it when it resets).
func (p *Projection) Reset() { p.cache.Reset() }

func fold(m objectionAppraisers, ev projections.Event) objectionAppraisers {
	var f skp.ObjectionFiled
	switch e := ev.Payload.(type) {
	case skp.ObjectionFiled:
		f = e
	case skp.ObjectionFiledLate:
		f = e.ObjectionFiled
	default:
		return m
	}
	if m == nil {
		m = objectionAppraisers{}
	}
	m[f.ObjectionID] = f.AppraiserNIP
	return m
}

// Apply projects ev: one item per employee it concerns.
func (p *Projection) Apply(ctx context.Context, s Store, ev projections.Event) error {
	if ev.Payload == nil {
		return nil
	}
	if skp.RedactedEvent(ev.Type) {
		// A 360° answer is in no one's timeline: the giver's would tell an
		// auditor reading it who answered, the employee's when (which,
		// with the invitees, narrows down who). The answer is read only
		// through a recorded disclosure (skp.DiscloseFeedbackGivers).
		return nil
	}
	var objections objectionAppraisers
	if strings.HasPrefix(ev.Stream, domain.SKPStreamPrefix) {
		var err error
		if objections, err = p.cache.Advance(ctx, ev); err != nil {
			p.cache.Forget(ev.Stream)
			return err
		}
	}
	var c concerned
	switch {
	case strings.HasPrefix(ev.Stream, domain.SKPStreamPrefix):
		// An SKP's id starts with the employee's 18-digit NIP (skp.ID).
		if id := strings.TrimPrefix(ev.Stream, domain.SKPStreamPrefix); len(id) > 18 && id[18] == '-' && isNIP(id[:18]) {
			c.add(id[:18], string(domain.RoleEmployee))
		}
	case strings.HasPrefix(ev.Stream, domain.EmployeeStreamPrefix):
		c.add(strings.TrimPrefix(ev.Stream, domain.EmployeeStreamPrefix), string(domain.RoleEmployee))
	}
	if isNIP(ev.Actor.ID) {
		c.add(ev.Actor.ID, ev.Actor.Role)
	}
	switch e := ev.Payload.(type) {
	case employee.ReportingLineAssigned:
		c.add(e.AppraiserNIP, string(domain.RoleAppraiser))
		c.add(e.AppraiserSuperiorNIP, string(domain.RoleAppraiserSuperior))
	case orgunit.HeadAssigned:
		c.add(e.HeadNIP, RoleHead)
	case skp.Drafted:
		c.add(e.AppraiserNIP, string(domain.RoleAppraiser))
		c.add(e.AppraiserSuperiorNIP, string(domain.RoleAppraiserSuperior))
	case skp.Established:
		c.add(e.AppraiserNIP, string(domain.RoleAppraiser))
		c.add(e.AppraiserSuperiorNIP, string(domain.RoleAppraiserSuperior))
	case skp.RatingAssigned:
		c.add(e.AppraiserNIP, string(domain.RoleAppraiser))
	case skp.RatingRevised:
		if e.Source == skp.SourceObjection {
			c.add(e.AppraiserNIP, string(domain.RoleAppraiserSuperior))
		} else {
			c.add(e.AppraiserNIP, string(domain.RoleAppraiser))
		}
	case skp.EvaluationIssued:
		c.add(e.AppraiserNIP, string(domain.RoleAppraiser))
	case skp.ObjectionFiled:
		c.add(e.AppraiserNIP, string(domain.RoleAppraiser))
		c.add(e.AddressedTo, string(domain.RoleAppraiserSuperior))
	case skp.ObjectionFiledLate:
		c.add(e.AppraiserNIP, string(domain.RoleAppraiser))
		c.add(e.AddressedTo, string(domain.RoleAppraiserSuperior))
	case skp.ExplanationRequested:
		if e.From == skp.PartyAppraiser {
			c.add(objections[e.ObjectionID], string(domain.RoleAppraiser))
		}
	case skp.ObjectionDecided:
		c.add(objections[e.ObjectionID], string(domain.RoleAppraiser))
	case skp.FeedbackGiven:
		c.add(e.GiverNIP, string(e.Relationship))
	case skp.FeedbackGiverAssigned:
		c.add(e.GiverNIP, string(e.Kind))
	case skp.ObjectionDeciderAssigned:
		c.add(e.DeciderNIP, string(domain.RoleAppraiserSuperior))
	}
	summary := Summarize(ev.Payload)
	for _, x := range c {
		it := Item{NIP: x.nip, Position: ev.Position, Stream: ev.Stream, Revision: ev.Revision, Type: ev.Type, Role: x.role,
			Summary: summary, ActorID: ev.Actor.ID, ActorRole: ev.Actor.Role, Reason: ev.Reason,
			OccurredAt: ev.OccurredAt, RecordedAt: ev.RecordedAt}
		if err := s.AddItem(ctx, it); err != nil {
			return err
		}
	}
	return nil
}

type party struct{ nip, role string }

// concerned lists the employees an event concerns, each once, with the
// first part found.
type concerned []party

func (c *concerned) add(nip, role string) {
	if nip == "" {
		return
	}
	for _, x := range *c {
		if x.nip == nip {
			return
		}
	}
	*c = append(*c, party{nip, role})
}

// isNIP reports whether id has the shape of a normalised NIP (18 digits);
// service accounts (HR administrators, the system) have no timeline.
func isNIP(id string) bool {
	if len(id) != 18 {
		return false
	}
	for i := range len(id) {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// backfilled is the flag a summary carries for an act entered from paper
// after its date (domain.md §10), "" for an ordinary one.
func backfilled(b *bizdate.Backfill) string {
	if b == nil {
		return ""
	}
	return " (entri susulan, ref " + b.PaperRef + ")"
}

// Summarize returns a short Indonesian description of a domain event.
func Summarize(e domain.Event) string {
	switch e := e.(type) {
	case orgunit.Registered:
		return "Unit kerja " + e.Name + " didaftarkan"
	case orgunit.PerformanceRated:
		return fmt.Sprintf("Predikat kinerja organisasi %s: %s", e.Period, e.Predikat)
	case orgunit.HeadAssigned:
		if e.HeadNIP == "" {
			return fmt.Sprintf("Jabatan kepala unit %s kosong mulai %s", e.UnitID, e.EffectiveFrom) + backfilled(e.Backfill)
		}
		return fmt.Sprintf("Kepala unit %s ditetapkan mulai %s", e.UnitID, e.EffectiveFrom) + backfilled(e.Backfill)
	case orgunit.Renamed:
		return fmt.Sprintf("Nama unit %s dikoreksi: %s → %s", e.UnitID, e.Previous, e.Name)
	case orgunit.ZoneSet:
		return fmt.Sprintf("Zona waktu unit %s: %s", e.UnitID, e.Zone)
	case employee.Registered:
		return "Pegawai didaftarkan pada unit " + e.UnitID
	case employee.ReportingLineAssigned:
		return "Pejabat penilai kinerja ditetapkan mulai " + e.EffectiveFrom.String() + backfilled(e.Backfill)
	case employee.PositionChanged:
		return fmt.Sprintf("Jabatan berubah menjadi %s (unit %s) mulai %s", e.Position.Title, e.UnitID, e.EffectiveFrom) + backfilled(e.Backfill)
	case distribution.DeviationJustified:
		return fmt.Sprintf("Penyimpangan pola distribusi unit %s periode %s dijustifikasi", e.UnitID, e.Period)
	case skp.Drafted:
		return fmt.Sprintf("SKP %d disusun", e.Year)
	case skp.RHKAdded:
		return "Rencana hasil kerja ditambahkan"
	case skp.RHKChanged:
		return "Rencana hasil kerja diubah"
	case skp.RHKRemoved:
		return "Rencana hasil kerja dihapus"
	case skp.IndicatorAdded:
		return "Indikator kinerja ditambahkan"
	case skp.IndicatorChanged:
		return "Indikator kinerja diubah"
	case skp.IndicatorRemoved:
		return "Indikator kinerja dihapus"
	case skp.BehaviourExpectationSet:
		return "Ekspektasi perilaku kerja ditetapkan"
	case skp.SelfAssessmentSubmitted:
		return "Penilaian diri periode " + e.Period + " disampaikan"
	case skp.FeedbackRoundOpened:
		return "Putaran umpan balik 360° periode " + e.Period + " dibuka"
	case skp.FeedbackRoundAnswered:
		return "Jawaban umpan balik 360° diterima"
	case skp.FeedbackRoundClosed:
		return "Putaran umpan balik 360° ditutup"
	case skp.FeedbackAnswersDisclosed:
		return "Pemberi jawaban umpan balik 360° dibaca auditor"
	case skp.CoachingRecorded:
		if e.Kind == skp.Dialogue {
			return "Dialog kinerja periode " + e.Period + " dicatat"
		}
		return "Catatan pembinaan periode " + e.Period + " dicatat"
	case skp.CompetencyGapIdentified:
		return "Kesenjangan kompetensi dicatat: " + e.Competency
	case skp.DevelopmentActionPlanned:
		return "Rencana pengembangan kompetensi: " + e.Title + " (tenggat " + e.DueDate + ")"
	case skp.DevelopmentActionConcluded:
		return "Pengembangan kompetensi selesai dicatat"
	case skp.ImprovementPlanOpened:
		return "Rencana perbaikan kinerja periode " + e.Period + " dibuka, tindak lanjut " + e.FollowUpOn.String()
	case skp.ImprovementPlanResultRecorded:
		return "Hasil rencana perbaikan kinerja periode " + e.Period + " dicatat: " + string(e.Result)
	case skp.Submitted:
		return "SKP diajukan"
	case skp.Returned:
		return "SKP dikembalikan untuk diperbaiki"
	case skp.Established:
		if e.Late {
			return fmt.Sprintf("SKP versi %d ditetapkan (terlambat)", e.Version)
		}
		return fmt.Sprintf("SKP versi %d ditetapkan", e.Version)
	case skp.AmendmentOpened:
		return "Perubahan SKP dibuka"
	case skp.Cancelled:
		return "SKP dibatalkan"
	case skp.ClosedForPositionChange:
		return "SKP ditutup karena perubahan jabatan"
	case skp.RealisationRecorded:
		return "Realisasi periode " + e.Period + " dicatat"
	case skp.EvidenceAttached:
		return "Bukti dukung dilampirkan"
	case skp.FeedbackGiven:
		return "Umpan balik diberikan"
	case skp.PlanAcknowledged:
		return fmt.Sprintf("Pegawai menandatangani rencana perubahan (versi %d)", e.ForVersion)
	case skp.ObjectionDeciderAssigned:
		return fmt.Sprintf("Keberatan periode %s diputus oleh %s (%s)", e.Period, e.DeciderNIP, e.Basis)
	case skp.RatingGroundsRecorded:
		return fmt.Sprintf("Dasar penilaian periode %s: %d RHK, %d nilai BerAKHLAK", e.Period, len(e.WorkResults), len(e.BehaviourNotes))
	case skp.FeedbackGiverAssigned:
		if e.Revoked {
			return fmt.Sprintf("Penugasan pemberi umpan balik %s (%s) dicabut", e.GiverNIP, e.Kind)
		}
		return fmt.Sprintf("Pemberi umpan balik %s ditugaskan (%s)", e.GiverNIP, e.Kind)
	case skp.RatingAssigned:
		return fmt.Sprintf("Penilaian periode %s: %s", e.Period, e.Predikat)
	case skp.RatingRevised:
		return fmt.Sprintf("Penilaian periode %s diubah: %s menjadi %s", e.Period, e.Previous.Predikat, e.Predikat)
	case skp.EvaluationIssued:
		return "Hasil evaluasi periode " + e.Period + " disampaikan"
	case skp.EvaluationFinalised:
		return "Hasil evaluasi periode " + e.Period + " final"
	case skp.ReceiptAcknowledged:
		if e.Backfill != nil {
			return "Penerimaan hasil evaluasi periode " + e.Period + " dikonfirmasi (entri susulan, ref " + e.Backfill.PaperRef + ")"
		}
		return "Penerimaan hasil evaluasi periode " + e.Period + " dikonfirmasi"
	case skp.ObjectionFiled:
		return "Keberatan atas evaluasi periode " + e.Period + " diajukan"
	case skp.ObjectionFiledLate:
		return "Keberatan atas evaluasi periode " + e.Period + " diajukan terlambat"
	case skp.ExplanationRequested:
		return "Penjelasan diminta"
	case skp.ExplanationSubmitted:
		return "Penjelasan disampaikan"
	case skp.ObjectionDecided:
		return fmt.Sprintf("Keberatan periode %s diputuskan: %s", e.Period, e.Outcome)
	case skp.ObjectionWithdrawn:
		return "Keberatan periode " + e.Period + " ditarik"
	}
	if e == nil {
		return ""
	}
	return e.EventType()
}

// DefaultLimit and MaxLimit bound a page of ForEmployee.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// PageLimit returns the page size ForEmployee uses for limit.
func PageLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultLimit
	case limit > MaxLimit:
		return MaxLimit
	}
	return limit
}
