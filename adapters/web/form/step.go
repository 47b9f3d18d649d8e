package form

import (
	"net/http"

	"github.com/kinerja-ledger/kinerja/adapters/web/page"
)

// Step is the POST half that every form of the dashboard repeats: decode,
// the feature's own checks, the command under the form's key, then either
// the redirect (post-redirect-get) or the same page again with the form's
// State. A handler fills a Step and calls [Post]; it writes only what is
// its own (the command, where success leads, how its page is rendered).
type Step struct {
	// Next is where a success (or a repeat of an applied form) redirects.
	Next string
	// NextOf, when set, gives Next from the decoded input (a path that
	// names what the form creates); it runs after decoding.
	NextOf func() string
	// Check, when set, looks at the decoded input (after decoding, with
	// or without problems, so that every problem is shown at once) and
	// adds the problems only the feature can find (State.AddProblem: a
	// time it parses itself, a choice of its own). The command runs only
	// if the State has no problem after it.
	Check func(st *State)
	// Preview, when set, reports whether the form was posted as a preview
	// (a second button, such as the rating form's "Pratinjau"): nothing
	// runs, and the page comes back through Again with 200 and the same
	// key and revision, so that the person confirms with the same form.
	Preview func() bool
	// Run is the command (see [Submit]); it reads the decoded input
	// through the variable the handler passed to Post.
	Run Command
	// Again renders the form's page again with st (what the person typed,
	// the problems, a stale form's flag) and status: 422 for a problem of
	// decoding or of Check, else the one Submit gave (422, 409, 412).
	Again func(st State, status int) error
}

// Post runs s for the form posted in r, decoding into dst (a pointer to
// the input struct that s.Run and s.Check read):
//
//	var in reasonInput
//	return form.Post(w, r, &in, form.Step{
//		Next: page.Link(planPath, "ok", "cancelled"),
//		Run: func(ctx context.Context, svc app.Services, req domain.Request) error {
//			_, err := svc.SKPs.Cancel(ctx, req, skp.Cancel{SKPID: id, Reason: in.Reason})
//			return err
//		},
//		Again: func(st form.State, status int) error { … render the page with st … },
//	})
//
// An error of reading the body, or one Submit does not turn into a
// problem for the person, is returned for the error page.
func Post(w http.ResponseWriter, r *page.Request, dst any, s Step) error {
	st, ok, err := Decode(r, dst)
	if err != nil {
		return err
	}
	if s.Check != nil {
		s.Check(&st)
		ok = ok && !st.HasProblems()
	}
	status := http.StatusUnprocessableEntity
	if ok && s.Preview != nil && s.Preview() {
		return s.Again(st, http.StatusOK)
	}
	if ok {
		next := s.Next
		if s.NextOf != nil {
			next = s.NextOf()
		}
		var done bool
		done, status, err = Submit(w, r, &st, next, s.Run)
		if err != nil || done {
			return err
		}
	}
	return s.Again(st, status)
}
