package planning

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

// giversPath is the form that assigns (or revokes) a feedback giver from
// beyond the unit: a team lead or a pemberi pertimbangan
// (skp.feedback_giver_assigned.v1; POST /v1/skps/{id}/feedback-givers).
const giversPath = "/skp/{id}/rencana/pemberi-umpan-balik"

// giversPage lists the SKP's assigned feedback givers, each with its
// revoke button, and the form that assigns one.
type giversPage struct {
	page.Base
	skpState
	// Form is the assignment form.
	Form form.State
	// Givers are the givers assigned now, each with its revoke form.
	Givers []giverRow
	// Kinds are the choices of kind.
	Kinds []string
}

// giverRow is an assigned giver with the form that revokes it.
type giverRow struct {
	skp.FeedbackGiver
	Revoke form.State
}

// giverInput is what the forms post: the body of POST
// /v1/skps/{id}/feedback-givers.
type giverInput struct {
	GiverNIP      string `form:"giver_nip"`
	Kind          string `form:"kind"`
	AssignmentRef string `form:"assignment_ref"`
	Revoke        bool   `form:"revoke"`
}

// giversPage reads the SKP for the page; failed is the state of the form
// that came back (the assignment, or a revoke button's: its problems are
// shown above the assignment form, which then starts afresh).
func (f *Feature) giversPage(r *page.Request, failed form.State, revoke bool, after uint64) (*giversPage, error) {
	d := &giversPage{Base: r.Base("planning", "planning.givers.title"), Kinds: []string{string(skp.TeamLead), string(skp.PemberiPertimbangan)}}
	id := r.PathValue("id")
	st, err := load(r, &d.Base, id, after)
	if err != nil {
		return nil, err
	}
	if !st.May[authz.AssignFeedbackGiver] {
		return nil, &domain.NotFoundError{Kind: "page", ID: r.URL.Path}
	}
	d.skpState = st
	action := "/skp/" + id + "/rencana/pemberi-umpan-balik"
	d.Form = failed
	if failed.Key == "" || revoke {
		d.Form = form.New(r, action).WithRevision(st.View.Revision)
		if revoke {
			d.Form.General, d.Form.Problems, d.Form.Stale = failed.General, failed.Problems, failed.Stale
		}
	}
	nips := []string{}
	for _, g := range st.View.FeedbackGivers {
		d.Givers = append(d.Givers, giverRow{FeedbackGiver: g, Revoke: form.New(r, action).WithRevision(st.View.Revision)})
		nips = append(nips, g.NIP)
	}
	f.names(r, &d.Base, st, nips...)
	return d, nil
}

func (f *Feature) showGivers(w http.ResponseWriter, r *page.Request) error {
	d, err := f.giversPage(r, form.State{}, false, 0)
	if err != nil {
		return err
	}
	return f.givers.Render(w, http.StatusOK, d)
}

func (f *Feature) postGivers(w http.ResponseWriter, r *page.Request) error {
	id := r.PathValue("id")
	var in giverInput
	return form.Post(w, r, &in, form.Step{
		Next: page.Link("/skp/"+id+"/rencana/pemberi-umpan-balik", "ok", "1"),
		Run: func(ctx context.Context, svc app.Services, req domain.Request) error {
			_, err := svc.SKPs.AssignFeedbackGiver(ctx, req, skp.AssignFeedbackGiver{SKPID: id, GiverNIP: in.GiverNIP, Kind: in.Kind,
				AssignmentRef: in.AssignmentRef, Revoke: in.Revoke})
			return err
		},
		Again: func(st form.State, status int) error {
			d, err := f.giversPage(r, st, in.Revoke, since(st))
			if err != nil {
				return err
			}
			refresh(&d.Form, d.View)
			return f.givers.Render(w, status, d)
		},
	})
}
