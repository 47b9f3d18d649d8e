package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/audit"
)

// An appeal bundle carries whole events so that it verifies offline: the
// hash chain and the Merkle leaves cover the actor, so a bundle cannot
// leave out who gave a 360° answer and still verify (and with the leaf
// and event hashes in hand, the giver of an answer could be found among
// the round's few invitees by trying each). A bundle that holds 360°
// answers is therefore a disclosure of their givers, and is recorded as
// one: the auditor gives a reason, and skp.feedback_answers_disclosed.v1
// is appended for every round whose answers the bundle holds before the
// bundle leaves the service (docs/feedback360.md).

// BundleRound is a 360° round whose answers a bundle holds.
type BundleRound struct {
	// SKPID and RoundID name the round.
	SKPID   string `json:"skp_id"`
	RoundID string `json:"round_id"`
}

// AnsweredRounds returns the 360° rounds with answers in b, in the order
// of their first answer.
func AnsweredRounds(b audit.Bundle) ([]BundleRound, error) {
	var out []BundleRound
	seen := map[BundleRound]bool{}
	answered := skp.FeedbackRoundAnswered{}.EventType()
	for _, s := range b.Streams {
		if !strings.HasPrefix(s.Stream, domain.SKPStreamPrefix) {
			continue
		}
		for _, ev := range s.Events {
			if ev.Type != answered {
				continue
			}
			var d struct {
				RoundID string `json:"round_id"`
			}
			if err := json.Unmarshal(ev.Data, &d); err != nil || d.RoundID == "" {
				return nil, fmt.Errorf("app: the 360° answer %s of %s names no round: %v", ev.ID, s.Stream, err)
			}
			r := BundleRound{SKPID: strings.TrimPrefix(s.Stream, domain.SKPStreamPrefix), RoundID: d.RoundID}
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// DiscloseBundleGivers records, with svc (the request's SKP service) as
// req's caller, that bundle b discloses the givers of every 360° round
// whose answers it holds, for reason; it returns the rounds. A bundle
// without answers records nothing and needs no reason. Call it after
// building the bundle and before handing it over. Errors: a
// *ValidationError naming reason when the bundle holds answers and no
// reason is given (nothing is recorded then); a refusal when the caller
// may not disclose givers (authz.DiscloseFeedbackGivers: AUDITOR).
func DiscloseBundleGivers(ctx context.Context, svc *skp.Service, req domain.Request, b audit.Bundle, reason string) ([]BundleRound, error) {
	rounds, err := AnsweredRounds(b)
	if err != nil || len(rounds) == 0 {
		return rounds, err
	}
	if strings.TrimSpace(reason) == "" {
		var v domain.ValidationError
		v.Add("reason", "required: the bundle holds the answers of %d 360° round(s), and so names their givers; its export is recorded as a disclosure with this reason", len(rounds))
		return nil, v.Err()
	}
	for _, r := range rounds {
		if _, _, err := svc.DiscloseFeedbackGivers(ctx, req, r.SKPID, r.RoundID, reason); err != nil {
			return nil, fmt.Errorf("app: record the disclosure of %s/%s: %w", r.SKPID, r.RoundID, err)
		}
	}
	return rounds, nil
}
