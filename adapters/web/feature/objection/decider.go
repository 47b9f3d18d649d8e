package objection

import (
	"context"
	"net/http"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/web/form"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// DeciderPath is the form that hands an open objection's decision to a
// Plt/Plh (a delegation, by the decider in effect or HR) or sends a stuck
// one to the next level up (an escalation, by HR or a grievance clerk):
// skp.objection_decider_assigned (POST …/objection/decider).
const DeciderPath = ObjectionPath + "/pemutus"

// deciderInput is what the form posts: the body of POST
// /v1/skps/{id}/evaluations/{period}/objection/decider.
type deciderInput struct {
	Basis      string `form:"basis"`
	DeciderNIP string `form:"decider_nip"`
	Ref        string `form:"ref"`
}

// bases are the bases the caller may record: a delegation when they may
// delegate, an escalation when they may escalate.
func bases(s *subject) []string {
	var out []string
	if s.May[authz.DelegateDecision] {
		out = append(out, string(skp.DeciderPlt), string(skp.DeciderPlh))
	}
	if s.May[authz.EscalateDecision] {
		out = append(out, string(skp.DeciderEscalation))
	}
	return out
}

// deciderPage is the form's page, for a caller who may delegate or
// escalate the decision of the objection.
func (f *Feature) deciderPage(r *page.Request, st form.State) (*formPage, error) {
	d, err := f.newPage(r, "objection.decider.title", "", st)
	if err != nil {
		return nil, err
	}
	if d.Bases = bases(&d.subject); len(d.Bases) == 0 {
		if err := need(r, &d.subject, authz.DelegateDecision); err != nil {
			return nil, err
		}
		return nil, &domain.NotFoundError{Kind: "page", ID: r.URL.Path}
	}
	return d, nil
}

func (f *Feature) showDecider(w http.ResponseWriter, r *page.Request) error {
	d, err := f.deciderPage(r, form.State{})
	if err != nil {
		return err
	}
	d.Form = fresh(r, d.View.Revision)
	d.Form.Values = map[string][]string{"basis": {d.Bases[0]}}
	return f.decider.Render(w, http.StatusOK, d)
}

func (f *Feature) postDecider(w http.ResponseWriter, r *page.Request) error {
	var in deciderInput
	id, per := r.PathValue("id"), r.PathValue("period")
	return form.Post(w, r, &in, form.Step{
		Next: page.Link(path(ObjectionPath, id, per), "selesai", "pemutus"),
		Run: func(ctx context.Context, svc app.Services, req domain.Request) error {
			_, err := svc.SKPs.AssignObjectionDecider(ctx, req, skp.AssignObjectionDecider{SKPID: id, Period: per,
				Basis: in.Basis, DeciderNIP: in.DeciderNIP, Ref: in.Ref})
			return err
		},
		Again: func(st form.State, status int) error {
			d, err := f.deciderPage(r, st)
			if err != nil {
				return err
			}
			again(r, d)
			return f.decider.Render(w, status, d)
		},
	})
}
