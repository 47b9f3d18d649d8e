package skp

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"slices"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/rating"
)

// RoundSummary is a 360° round as the employee and the appraiser see it:
// aggregates only, never an answer of an anonymous group on its own.
type RoundSummary struct {
	// RoundID and Period name the round.
	RoundID string `json:"round_id"`
	// Period is the period the feedback is about.
	Period string `json:"period"`
	// OpenedBy opened the round at OpenedAt (business time).
	OpenedBy domain.Actor `json:"opened_by"`
	// OpenedAt is when the round was opened.
	OpenedAt time.Time `json:"opened_at"`
	// Closed reports whether the round takes no more answers.
	Closed bool `json:"closed"`
	// ClosedAt is when it was closed, if it was.
	ClosedAt *time.Time `json:"closed_at,omitempty"`
	// Revision is the SKP revision of the round's last opening, answer or
	// closing: the summary's version.
	Revision uint64 `json:"revision"`
	// Threshold is K: an anonymous group is shown from K answers on.
	Threshold int `json:"threshold"`
	// Groups are the invited groups, in the order of FeedbackGroups.
	Groups []GroupSummary `json:"groups"`
	// Overall aggregates the answers of the groups shown other than SELF,
	// and only those (a suppressed group never contributes, so nothing can
	// be deduced from the difference).
	Overall []ValueSummary `json:"overall"`
	// Hash identifies this summary (SHA-256 of its JSON with Hash empty):
	// a rating records the hash of the summary it was given beside.
	Hash string `json:"hash"`
}

// GroupSummary is one group of a round.
type GroupSummary struct {
	// Group is the group.
	Group FeedbackGroup `json:"group"`
	// Invited is how many givers of the group were invited.
	Invited int `json:"invited"`
	// Anonymous reports whether the group is shown only as an aggregate
	// at or above the threshold, once the round is closed.
	Anonymous bool `json:"anonymous"`
	// Shown reports whether the figures below are given. When false the
	// dashboard says "not enough answers" and nothing else of the group is
	// given, not even how many answered.
	Shown bool `json:"shown"`
	// Answered is how many answered (0 when not shown).
	Answered int `json:"answered"`
	// Givers are the NIPs of a named group's givers who answered (never of
	// an anonymous group).
	Givers []string `json:"givers,omitempty"`
	// Values aggregate the ratings per value.
	Values []ValueSummary `json:"values,omitempty"`
	// Comments are the comments and examples given, sorted (not in the
	// order given, which would tell who wrote them).
	Comments []string `json:"comments,omitempty"`
}

// ValueSummary aggregates the ratings of one value.
type ValueSummary struct {
	// Value is the BerAKHLAK value.
	Value berakhlak.Value `json:"value"`
	// Count is the number of ratings.
	Count int `json:"count"`
	// Above, Meets and Below count the ratings per level of the scale.
	Above int `json:"above"`
	Meets int `json:"meets"`
	Below int `json:"below"`
	// Mean is the mean on the scale 1 (below) to 3 (above), rounded to two
	// decimals.
	Mean float64 `json:"mean"`
}

// shown reports whether a group with n answers is shown in a round that is
// closed or not, at threshold k.
func shown(g FeedbackGroup, n, k int, closed bool) bool {
	if !g.Anonymous() {
		return n > 0
	}
	return closed && n >= k
}

// Summarize returns the summary of round id at threshold k (k < 2 counts
// as DefaultAnonymityThreshold), or false when there is no such round.
func (s *SKP) Summarize(id string, k int) (RoundSummary, bool) {
	r := s.round(id)
	if r == nil {
		return RoundSummary{}, false
	}
	return r.summary(k), true
}

// FeedbackRounds returns the summaries of every round at threshold k, in
// the order opened.
func (s *SKP) FeedbackRounds(k int) []RoundSummary {
	out := make([]RoundSummary, 0, len(s.rounds))
	for i := range s.rounds {
		out = append(out, s.rounds[i].summary(k))
	}
	return out
}

func (r *feedbackRound) summary(k int) RoundSummary {
	if k < 2 {
		k = DefaultAnonymityThreshold
	}
	out := RoundSummary{RoundID: r.id, Period: r.period, OpenedBy: r.openedBy, OpenedAt: r.openedAt, Closed: r.closed,
		Revision: r.revision, Threshold: k, Groups: []GroupSummary{}}
	if r.closed {
		at := r.closedAt
		out.ClosedAt = &at
	}
	var overall []feedbackAnswer
	for _, g := range FeedbackGroups() {
		invited := 0
		for _, in := range r.invitees {
			if in.Group == g {
				invited++
			}
		}
		if invited == 0 {
			continue
		}
		var ans []feedbackAnswer
		for _, a := range r.answers {
			if a.group == g {
				ans = append(ans, a)
			}
		}
		gs := GroupSummary{Group: g, Invited: invited, Anonymous: g.Anonymous()}
		if shown(g, len(ans), k, r.closed) {
			gs.Shown, gs.Answered = true, len(ans)
			gs.Values = aggregate(ans)
			gs.Comments = comments(ans)
			if !g.Anonymous() {
				for _, a := range ans {
					gs.Givers = append(gs.Givers, a.giver)
				}
				slices.Sort(gs.Givers)
			}
			if g != GroupSelf { // the self-assessment is not feedback of others
				overall = append(overall, ans...)
			}
		}
		out.Groups = append(out.Groups, gs)
	}
	out.Overall = aggregate(overall)
	out.Hash = summaryHash(out)
	return out
}

// aggregate returns the per-value figures of answers (nil for none).
func aggregate(answers []feedbackAnswer) []ValueSummary {
	if len(answers) == 0 {
		return nil
	}
	out := make([]ValueSummary, 0, 7)
	for _, v := range berakhlak.Values() {
		vs := ValueSummary{Value: v}
		sum := 0
		for _, a := range answers {
			for _, x := range a.answers {
				if x.Value != v {
					continue
				}
				switch x.Rating {
				case rating.AboveExpectation:
					vs.Above++
					sum += 3
				case rating.MeetsExpectation:
					vs.Meets++
					sum += 2
				case rating.BelowExpectation:
					vs.Below++
					sum++
				default:
					continue
				}
				vs.Count++
			}
		}
		if vs.Count > 0 {
			vs.Mean = math.Round(float64(sum)*100/float64(vs.Count)) / 100
		}
		out = append(out, vs)
	}
	return out
}

// comments returns the comments and examples of answers, sorted.
func comments(answers []feedbackAnswer) []string {
	var out []string
	for _, a := range answers {
		for _, x := range a.answers {
			if x.Comment != "" {
				out = append(out, string(x.Value)+": "+x.Comment)
			}
			if x.Examples != "" {
				out = append(out, string(x.Value)+": "+x.Examples)
			}
		}
	}
	slices.Sort(out)
	return out
}

func summaryHash(s RoundSummary) string {
	s.Hash = ""
	b, err := json.Marshal(s)
	if err != nil { // a summary of plain values always marshals
		panic("skp: summary hash: " + err.Error())
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
