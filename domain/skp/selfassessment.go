package skp

import (
	"context"
	"slices"
	"strconv"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
)

// SubmitSelfAssessment is the command to submit the employee's
// self-assessment of a period.
type SubmitSelfAssessment struct {
	// SKPID is the SKP.
	SKPID string
	// Period is the period ("2026", or one of the SKP's cadence).
	Period string
	// Text is the assessment (required).
	Text string
	// RHKNotes are optional notes on RHK of the version in effect; notes
	// left empty are dropped.
	RHKNotes []RHKNote
}

// SubmitSelfAssessment records the employee's self-assessment of a period
// of an SKP in effect, before that period's evaluation is issued (it is
// what the appraiser reads when rating). Submitting again supersedes the
// earlier one; the same text and notes again change nothing. Errors: not
// found, forbidden (not the employee), validation (period, text, an RHK not
// in the version in effect, a note on an RHK twice, lengths), invalid state
// (not established, ended, or the period's evaluation issued).
func (s *Service) SubmitSelfAssessment(ctx context.Context, req domain.Request, cmd SubmitSelfAssessment) (domain.Committed, error) {
	var v domain.ValidationError
	body := text(&v, "text", cmd.Text, MaxLongTextLen, true)
	var notes []RHKNote
	for i, n := range cmd.RHKNotes {
		field := "rhk_notes[" + strconv.Itoa(i) + "]"
		note := text(&v, field+".note", n.Note, MaxLongTextLen, false)
		if note == "" {
			continue
		}
		notes = append(notes, RHKNote{RHKID: text(&v, field+".rhk_id", n.RHKID, MaxRefLen, true), Note: note})
	}
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.SelfAssess, nil)
		if err != nil {
			return domain.Change{}, err
		}
		if err := inEffect(sk, "submit a self-assessment"); err != nil {
			return domain.Change{}, err
		}
		vv := domain.ValidationError{Fields: slices.Clone(v.Fields)} // decide may run again
		p := sk.checkPeriod(&vv, cmd.Period)
		seen := map[string]bool{}
		for i, n := range notes {
			if n.RHKID == "" {
				continue
			}
			field := "rhk_notes[" + strconv.Itoa(i) + "]" + ".rhk_id"
			switch {
			case !slices.ContainsFunc(sk.version().RHK, func(r RHK) bool { return r.ID == n.RHKID }):
				vv.Add(field, "no RHK %q in version %d of the SKP", n.RHKID, sk.version().Version)
			case seen[n.RHKID]:
				vv.Add(field, "RHK %q has a note already", n.RHKID)
			}
			seen[n.RHKID] = true
		}
		if err := vv.Err(); err != nil {
			return domain.Change{}, err
		}
		if ev := sk.evals[p.String()]; ev != nil && ev.issued {
			return domain.Change{}, domain.InvalidState("submit a self-assessment", string(sk.status), "the evaluation of "+p.String()+" is issued")
		}
		for i := len(sk.selfAssessments) - 1; i >= 0; i-- {
			if prev := sk.selfAssessments[i]; prev.Period == p.String() {
				if prev.Text == body && slices.Equal(prev.RHKNotes, notes) {
					return domain.Change{}, nil
				}
				break
			}
		}
		return one(role, SelfAssessmentSubmitted{Period: p.String(), Text: body, RHKNotes: notes})
	})
}
