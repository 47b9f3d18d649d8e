// Package feedback is the dashboard's 360° feedback rounds (issue 14;
// docs/feedback360.md): the rounds of an SKP with their summaries as the
// employee and the appraiser see them (aggregates only; an anonymous group
// below the threshold, or of an open round, says "not enough answers" and
// nothing else), the form that opens a round (the appraiser or HR_ADMIN),
// the closing button, and an invited giver's answer form (the seven
// BerAKHLAK values on the behaviour scale, with comments and examples).
//
// The answer form never reads the SKP: a giver from another unit may not.
// It reads the caller's own invitation (skp.Service.Invitation), which
// answers not-found to anyone not invited, as the API does.
//
// The package also holds the coaching and development pages
// (/skp/{id}/pengembangan; development.go): dialogues, coaching notes,
// competency gaps and development actions with their due dates and
// outcomes, and the appraiser's forms.
package feedback

import (
	"context"
	"embed"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/web/form"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

//go:embed *.html
var files embed.FS

// Feature is the 360° pages.
type Feature struct {
	site   *page.Site
	rounds *page.Template[*roundsPage]
	open   *page.Template[*openPage]
	answer *page.Template[*answerPage]
	// development is the coaching and development list; devForm its
	// four forms (development.go).
	development *page.Template[*developmentPage]
	devForm     *page.Template[*devFormPage]
}

// New returns the feature on site.
func New(site *page.Site) *Feature {
	return &Feature{site: site,
		rounds:      page.MustParse[*roundsPage](site, files, "rounds.html", messages),
		open:        page.MustParse[*openPage](site, files, "open.html", messages),
		answer:      page.MustParse[*answerPage](site, files, "answer.html", messages),
		development: page.MustParse[*developmentPage](site, files, "development.html", messages),
		devForm:     page.MustParse[*devFormPage](site, files, "devform.html", messages),
	}
}

// Routes registers the pages.
func (f *Feature) Routes(r *page.Router) {
	r.Page("GET /skp/{id}/umpan-balik-360", f.showRounds)
	r.Page("GET /skp/{id}/umpan-balik-360/buka", f.showOpen)
	r.Page("POST /skp/{id}/umpan-balik-360/buka", f.postOpen)
	r.Page("POST /skp/{id}/umpan-balik-360/{round}/tutup", f.postClose)
	r.Page("GET /skp/{id}/umpan-balik-360/{round}/jawab", f.showAnswer)
	r.Page("POST /skp/{id}/umpan-balik-360/{round}/jawab", f.postAnswer)
	f.developmentRoutes(r)
}

// RoundsPath is the rounds page of SKP id.
func RoundsPath(id string) string { return "/skp/" + id + "/umpan-balik-360" }

// roundsPage lists the rounds of an SKP with their summaries.
type roundsPage struct {
	page.Base
	ID     string
	Rounds []roundView
	// MayManage offers opening and closing.
	MayManage bool
	// Invited are the open rounds the caller is invited to.
	Invited []string
	Values  []berakhlak.Value
}

// roundView is a round with its closing form.
type roundView struct {
	skp.RoundSummary
	Close form.State
}

func (f *Feature) roundsPage(r *page.Request, id string) (*roundsPage, error) {
	ctx := r.Context()
	svc := r.App().Config().SKPs
	sums, err := svc.FeedbackRounds(ctx, r.User, id)
	if err != nil {
		return nil, err
	}
	d := &roundsPage{Base: r.Base("feedback", "feedback.title"), ID: id, Values: berakhlak.Values()}
	may, err := r.App().SKPActions(ctx, r.User, id, authz.ManageFeedbackRound)
	if err != nil {
		return nil, err
	}
	d.MayManage = may[authz.ManageFeedbackRound]
	var nips []string
	for _, s := range sums {
		rv := roundView{RoundSummary: s}
		if d.MayManage && !s.Closed {
			rv.Close = form.New(r, RoundsPath(id)+"/"+s.RoundID+"/tutup")
		}
		d.Rounds = append(d.Rounds, rv)
		for _, g := range s.Groups {
			nips = append(nips, g.Givers...)
		}
	}
	if sk, _, err := svc.Load(ctx, id); err == nil && sk != nil {
		d.Invited = sk.OpenInvitations(r.User.ID)
	}
	d.Names = f.site.Names(ctx, nips...)
	return d, nil
}

func (f *Feature) showRounds(w http.ResponseWriter, r *page.Request) error {
	d, err := f.roundsPage(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	return f.rounds.Render(w, http.StatusOK, d)
}

func (f *Feature) postClose(w http.ResponseWriter, r *page.Request) error {
	id, round := r.PathValue("id"), r.PathValue("round")
	var in struct{}
	st, ok, err := form.Decode(r, &in)
	if err != nil {
		return err
	}
	status := http.StatusUnprocessableEntity
	if ok {
		var done bool
		done, status, err = form.Submit(w, r, &st, RoundsPath(id), func(ctx context.Context, svc app.Services, req domain.Request) error {
			_, err := svc.SKPs.CloseFeedbackRound(ctx, req, id, round)
			return err
		})
		if err != nil || done {
			return err
		}
	}
	d, err := f.roundsPage(r, id)
	if err != nil {
		return err
	}
	for i := range d.Rounds {
		if d.Rounds[i].RoundID == round {
			d.Rounds[i].Close = st
		}
	}
	return f.rounds.Render(w, status, d)
}

// openPage is the form that opens a round.
type openPage struct {
	page.Base
	ID     string
	Form   form.State
	Groups []skp.FeedbackGroup
}

// openInput is what the open form posts: per group, NIPs separated by
// spaces, commas or lines.
type openInput struct {
	Period      string `form:"period"`
	Self        bool   `form:"self"`
	Peer        string `form:"peer"`
	Subordinate string `form:"subordinate"`
	TeamLead    string `form:"team_lead"`
	PP          string `form:"pemberi_pertimbangan"`
}

func (f *Feature) openPage(r *page.Request, st form.State) (*openPage, error) {
	id := r.PathValue("id")
	may, err := r.App().SKPActions(r.Context(), r.User, id, authz.ManageFeedbackRound)
	if err != nil {
		return nil, err
	}
	if !may[authz.ManageFeedbackRound] {
		return nil, &domain.NotFoundError{Kind: "page", ID: r.URL.Path}
	}
	return &openPage{Base: r.Base("feedback", "feedback.open.title"), ID: id, Form: st,
		Groups: []skp.FeedbackGroup{skp.GroupPeer, skp.GroupSubordinate, skp.GroupTeamLead, skp.GroupPemberiPertimbangan}}, nil
}

func (f *Feature) showOpen(w http.ResponseWriter, r *page.Request) error {
	d, err := f.openPage(r, form.New(r, r.URL.Path))
	if err != nil {
		return err
	}
	return f.open.Render(w, http.StatusOK, d)
}

// splitNIPs splits a list of NIPs typed in a box. An NIP printed with
// spaces ("19910606 201606 2 006") is kept whole when it is on a line of
// its own.
func splitNIPs(s string) []string {
	var out []string
	for _, line := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == ',' || r == ';' }) {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

func (f *Feature) postOpen(w http.ResponseWriter, r *page.Request) error {
	id := r.PathValue("id")
	var in openInput
	st, ok, err := form.Decode(r, &in)
	if err != nil {
		return err
	}
	status := http.StatusUnprocessableEntity
	if ok {
		var done bool
		done, status, err = form.Submit(w, r, &st, RoundsPath(id), func(ctx context.Context, svc app.Services, req domain.Request) error {
			cmd := skp.OpenFeedbackRound{SKPID: id, Period: in.Period}
			if in.Self {
				if sk, _, err := svc.SKPs.Load(ctx, id); err == nil && sk != nil {
					cmd.Invitees = append(cmd.Invitees, skp.RoundInvitee{NIP: sk.View(req.OccurredAt).NIP, Group: skp.GroupSelf})
				}
			}
			for _, g := range []struct {
				box   string
				group skp.FeedbackGroup
			}{{in.Peer, skp.GroupPeer}, {in.Subordinate, skp.GroupSubordinate}, {in.TeamLead, skp.GroupTeamLead}, {in.PP, skp.GroupPemberiPertimbangan}} {
				for _, n := range splitNIPs(g.box) {
					cmd.Invitees = append(cmd.Invitees, skp.RoundInvitee{NIP: n, Group: g.group})
				}
			}
			_, _, err := svc.SKPs.OpenFeedbackRound(ctx, req, cmd)
			return err
		})
		if err != nil || done {
			return err
		}
	}
	d, err := f.openPage(r, st)
	if err != nil {
		return err
	}
	return f.open.Render(w, status, d)
}

// answerPage is an invited giver's answer form.
type answerPage struct {
	page.Base
	ID         string
	Invitation skp.Invitation
	Form       form.State
	Values     []berakhlak.Value
	Ratings    []rating.Rating
}

// answerInput is what the answer form posts: the body of PUT
// …/feedback-rounds/{round}/answer (fields answers.0.value,
// answers.0.rating, …, one per value in the order of the acronym).
type answerInput struct {
	Answers []struct {
		Value    string `form:"value"`
		Rating   string `form:"rating"`
		Comment  string `form:"comment"`
		Examples string `form:"examples"`
	} `form:"answers"`
}

func (f *Feature) answerPage(r *page.Request, st form.State) (*answerPage, error) {
	id, round := r.PathValue("id"), r.PathValue("round")
	inv, err := r.App().Config().SKPs.Invitation(r.Context(), r.User, id, round)
	if err != nil {
		return nil, err
	}
	return &answerPage{Base: r.Base("feedback", "feedback.answer.title"), ID: id, Invitation: inv, Form: st,
		Values: berakhlak.Values(), Ratings: rating.Ratings()}, nil
}

func (f *Feature) showAnswer(w http.ResponseWriter, r *page.Request) error {
	d, err := f.answerPage(r, form.New(r, r.URL.Path))
	if err != nil {
		return err
	}
	// The form starts from the caller's answer in effect: sending it
	// changed revises it.
	d.Form.Values = map[string][]string{}
	for _, a := range d.Invitation.Answers {
		i := strconv.Itoa(slices.Index(d.Values, a.Value))
		d.Form.Values.Set("answers."+i+".rating", string(a.Rating))
		d.Form.Values.Set("answers."+i+".comment", a.Comment)
		d.Form.Values.Set("answers."+i+".examples", a.Examples)
	}
	return f.answer.Render(w, http.StatusOK, d)
}

func (f *Feature) postAnswer(w http.ResponseWriter, r *page.Request) error {
	id, round := r.PathValue("id"), r.PathValue("round")
	var in answerInput
	st, ok, err := form.Decode(r, &in)
	if err != nil {
		return err
	}
	status := http.StatusUnprocessableEntity
	if ok {
		var done bool
		done, status, err = form.Submit(w, r, &st, RoundsPath(id)+"/"+round+"/jawab?terkirim=1", func(ctx context.Context, svc app.Services, req domain.Request) error {
			cmd := skp.AnswerFeedbackRound{SKPID: id, RoundID: round}
			for _, a := range in.Answers {
				cmd.Answers = append(cmd.Answers, skp.ValueAnswer{Value: berakhlak.Value(a.Value), Rating: rating.Rating(a.Rating),
					Comment: a.Comment, Examples: a.Examples})
			}
			_, err := svc.SKPs.AnswerFeedbackRound(ctx, req, cmd)
			return err
		})
		if err != nil || done {
			return err
		}
	}
	d, err := f.answerPage(r, st)
	if err != nil {
		return err
	}
	return f.answer.Render(w, status, d)
}
