package app

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	nipcode "github.com/kinerja-ledger/kinerja/domain/nip"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

// InboxReader serves the items that wait for a person
// (deadlines.Backend.ForRecipient).
type InboxReader interface {
	// ForRecipient returns the items waiting for nip, by deadline.
	ForRecipient(ctx context.Context, nip string) ([]deadlines.Item, error)
}

// InboxItem is an item of an inbox as the edges show it: what waits, and
// how its deadline stands today.
type InboxItem struct {
	deadlines.Item
	// DaysLeft counts the days from today to the deadline's day, in the
	// policy's zone (negative once it has passed).
	DaysLeft int `json:"days_left"`
	// Overdue is true once the deadline has passed.
	Overdue bool `json:"overdue"`
}

// Inbox returns what waits for the person nip ("" is the caller; a NIP in
// any printed form): SKPs to
// submit, establish or return, periods to rate, evaluations to issue,
// objections to decide (the Plt/Plh or escalated decider's too),
// explanations asked, an amended plan to sign, a distribution to justify
// (BLOCK mode; see justifyItems), and an open objection window,
// each with its deadline, the nearest first. An inbox is its owner's
// alone (authz.ReadInbox): another person's answers forbidden. Items that
// do not wait yet (a period not ended) and objection windows that have
// closed are left out.
func (a *App) Inbox(ctx context.Context, caller domain.Principal, nip string) ([]InboxItem, error) {
	if nip == "" {
		nip = caller.ID
	} else if info, err := nipcode.Parse(nip); err == nil {
		nip = string(info.NIP) // any printed form of a NIP
	}
	if _, err := authz.Decide(caller, authz.ReadInbox, authz.Subject{Employee: nip}, authz.Options{}); err != nil {
		return nil, err
	}
	out := []InboxItem{}
	if a.cfg.Inbox == nil {
		return out, nil
	}
	items, err := a.cfg.Inbox.ForRecipient(ctx, nip)
	if err != nil {
		return nil, err
	}
	now := a.cfg.Now()
	today := a.cfg.Policy.Date(now)
	for _, it := range items {
		if it.Recipient != nip || it.From.After(now) || (it.Kind == deadlines.ObjectionWindow && now.After(it.Due)) {
			continue
		}
		out = append(out, InboxItem{Item: it, DaysLeft: today.DaysUntil(a.cfg.Policy.Date(it.Due)), Overdue: now.After(it.Due)})
	}
	just, err := a.justifyItems(ctx, caller, nip)
	if err != nil {
		return nil, err
	}
	for _, it := range just {
		out = append(out, InboxItem{Item: it, DaysLeft: today.DaysUntil(a.cfg.Policy.Date(it.Due)), Overdue: now.After(it.Due)})
	}
	slices.SortStableFunc(out, func(x, y InboxItem) int { return x.Due.Compare(y.Due) })
	return out, nil
}

// justifyItems returns the distributions that wait for nip's justification
// (deadlines.JustifyDistribution), in BLOCK mode only (caller is nip, as
// authz.ReadInbox decided): for every unit whose leader one level up is nip (the head of the parent unit in the
// directory; for a root unit, its own head), every period with an
// organisation predikat whose distribution has violations no
// justification covers while an evaluation of its population is rated and
// not issued (BLOCK mode refuses, or would refuse, its issue). The item
// waits from the earliest such rating and is due when its issue is
// (the rating day plus the process manager's default RatingDays). The
// process manager cannot derive these (they count across SKPs), so they
// are computed at each read and never fire a reminder; the justification
// form asks the domain again who may justify.
func (a *App) justifyItems(ctx context.Context, caller domain.Principal, nip string) ([]deadlines.Item, error) {
	if a.cfg.Policy.DistributionMode != policy.Block || a.cfg.Evaluations == nil || a.cfg.Directory == nil {
		return nil, nil
	}
	units, err := a.cfg.Directory.Units(ctx)
	if err != nil {
		return nil, err
	}
	heads := make(map[string]string, len(units))
	for _, u := range units {
		heads[u.ID] = u.HeadNIP
	}
	ratingDays := deadlines.DefaultSettings(a.cfg.Policy).RatingDays
	in := a.distributionInput()
	var out []deadlines.Item
	for _, u := range units {
		leader := u.HeadNIP
		if u.ParentID != "" {
			leader = heads[u.ParentID]
		}
		if leader != nip {
			continue
		}
		// Who justifies is authz's decision (the role with it).
		role, err := authz.Decide(caller, authz.JustifyDeviation, authz.Subject{UnitLeader: leader}, authz.Options{})
		if err != nil {
			continue
		}
		pers := slices.Sorted(maps.Keys(u.Performance))
		for _, per := range pers {
			p, err := period.Parse(per)
			if err != nil {
				continue
			}
			// The cached report first: most distributions need no
			// justification, and then nothing more is counted.
			rep, err := a.distribution(ctx, u.ID, per)
			if err != nil {
				return nil, err
			}
			if len(rep.Data.Unjustified) == 0 {
				continue
			}
			_, perNIP, err := reports.Population(ctx, in, u.ID, p)
			if err != nil {
				return nil, err
			}
			var from time.Time
			for _, e := range perNIP {
				if e.Status == string(skp.EvalDraft) && (from.IsZero() || e.RatedAt.Before(from)) {
					from = e.RatedAt
				}
			}
			if from.IsZero() {
				continue // nothing waits to be issued
			}
			due := a.cfg.Policy.Date(from).AddDays(ratingDays).End(a.cfg.Policy.Location).UTC()
			out = append(out, deadlines.Item{Key: strings.Join([]string{string(deadlines.JustifyDistribution), u.ID, per}, "/"),
				Kind: deadlines.JustifyDistribution, Name: u.Name, UnitID: u.ID, Year: p.Year(), Period: per,
				Recipient: nip, RecipientRole: role, From: from, Due: due, FireAt: due})
		}
	}
	return out, nil
}

// FinaliseAsSystem records the finality of the evaluation of item it (a
// deadlines.FinaliseEvaluation item whose window has passed) as the
// deadline process manager (authz.SystemDeadlines). It runs keyed by the
// item's FireID, so its event ID is derived from the item: fired again
// after a crash, it appends nothing more. An evaluation already final
// changes nothing (the domain's Finalise).
func (a *App) FinaliseAsSystem(ctx context.Context, it deadlines.Item) error {
	if it.Kind != deadlines.FinaliseEvaluation {
		return domain.Invalid("kind", "only a finality item is finalised, not %s", it.Kind)
	}
	sys := authz.SystemDeadlines()
	var cmdErr error
	_, _, err := a.Keyed(ctx, Key{Caller: sys.ID, Key: "deadlines/finalise/" + it.FireID(), Fingerprint: Fingerprint("deadlines/finalise", it.SKPID, it.Period)},
		func(ctx context.Context) (Answer, bool) {
			_, cmdErr = a.Services(ctx).SKPs.Finalise(ctx, deadlines.FinaliseRequest(it, a.cfg.Policy.Location), skp.Finalise{SKPID: it.SKPID, Period: it.Period})
			if errors.Is(cmdErr, ErrApplied) {
				cmdErr = nil
			}
			return Answer{Status: 200}, cmdErr == nil
		})
	if err != nil {
		return err
	}
	return cmdErr
}
