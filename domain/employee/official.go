package employee

import (
	"context"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
)

// Officials without a NIP (issue 11; domain.md §2.1, senior posts): a
// minister, coordinating minister, head of agency, governor, regent or
// mayor appraises (and is the appraiser's superior of) senior staff but is
// no civil servant and holds no NIP. Such an official is a role with an
// identity: registered in the stream official-{id} and named in reporting
// lines and as a principal as "official:{id}".
//
// The §2.1 table names the same official as appraiser and appraiser's
// superior (a JPT Madya in a ministry: the minister for both), against the
// separation-of-duty rule "the Appraiser's Superior ≠ the Appraiser". The
// ledger resolves it so (docs/domain-model.md): a line may name the same
// person in both roles only when that person is an official without a NIP
// — nobody above them in the agency exists to record — and the rule that
// matters for the employee, "the decider of an objection ≠ the original
// appraiser", still holds: such an objection is stuck by construction
// until the decision is delegated (skp.objection_decider_assigned.v1, by
// HR_ADMIN citing the official's decree naming a decider), never decided
// by the official who rated.

// OfficialPrefix starts the identity of an official in reporting lines and
// principals.
const OfficialPrefix = "official:"

var officialIDRE = regexp.MustCompile(`^[A-Z0-9][A-Z0-9_-]{0,63}$`)

// ValidOfficialID reports whether id (without the prefix) may name an
// official: 1 to 64 of A-Z, 0-9, _ and -.
func ValidOfficialID(id string) bool { return officialIDRE.MatchString(id) }

// IsOfficial reports whether party names an official ("official:{id}").
func IsOfficial(party string) bool { return strings.HasPrefix(party, OfficialPrefix) }

// OfficialKind is the office of an official without a NIP.
type OfficialKind string

// Official kinds.
const (
	Minister             OfficialKind = "MINISTER"
	CoordinatingMinister OfficialKind = "COORDINATING_MINISTER"
	HeadOfAgency         OfficialKind = "HEAD_OF_AGENCY"
	Governor             OfficialKind = "GOVERNOR"
	Regent               OfficialKind = "REGENT"
	Mayor                OfficialKind = "MAYOR"
)

// Valid reports whether k is a known office.
func (k OfficialKind) Valid() bool {
	switch k {
	case Minister, CoordinatingMinister, HeadOfAgency, Governor, Regent, Mayor:
		return true
	}
	return false
}

// OfficialRegistered records an official without a NIP. Stream
// official-{id}.
type OfficialRegistered struct {
	// OfficialID is the identity (without the prefix).
	OfficialID string `json:"official_id"`
	// Kind is the office.
	Kind OfficialKind `json:"kind"`
	// Title is the office's full title ("Menteri Kesehatan").
	Title string `json:"title"`
	// UnitID is the unit the official leads, if registered.
	UnitID string `json:"unit_id,omitempty"`
}

// EventType implements [domain.Event].
func (OfficialRegistered) EventType() string { return "official.registered.v1" }

// OfficialStream returns the stream of official id (without the prefix).
func OfficialStream(id string) string { return "official-" + id }

// RegisterOfficial is the command to register an official without a NIP.
type RegisterOfficial struct {
	// ID is the identity, without the prefix ("MENKES").
	ID string
	// Kind is the office.
	Kind string
	// Title is the office's title.
	Title string
	// UnitID is the unit led, optional.
	UnitID string
}

// RegisterOfficial registers an official. Errors: validation (id, kind,
// title, a unit_id that is unknown or of another agency), conflict (the
// id is taken), forbidden (not HR_ADMIN).
func (s *Service) RegisterOfficial(ctx context.Context, req domain.Request, cmd RegisterOfficial) (domain.Committed, error) {
	var v domain.ValidationError
	if !ValidOfficialID(cmd.ID) {
		v.Add("id", "must be 1-64 of A-Z, 0-9, _ and -")
	}
	if !OfficialKind(cmd.Kind).Valid() {
		v.Add("kind", "must be MINISTER, COORDINATING_MINISTER, HEAD_OF_AGENCY, GOVERNOR, REGENT or MAYOR")
	}
	title := strings.TrimSpace(cmd.Title)
	if title == "" || utf8.RuneCountInString(title) > MaxNameLen {
		v.Add("title", "required, at most %d characters", MaxNameLen)
	} else if p := domain.NameProblem(title); p != "" {
		v.Add("title", "%s", p)
	}
	if err := v.Err(); err != nil {
		return domain.Committed{}, err
	}
	return s.Handler.Execute(ctx, OfficialStream(cmd.ID), req, func(ctx context.Context, req domain.Request, st domain.Stream) (domain.Change, error) {
		role, err := authz.Decide(req.Caller, authz.ManageMasterData, authz.Subject{}, authz.Options{})
		if err != nil {
			return domain.Change{}, err
		}
		if st.Exists {
			return domain.Change{}, &domain.ConflictError{Kind: "official", ID: cmd.ID}
		}
		if cmd.UnitID != "" {
			// The unit places the official in an agency (and its audit
			// log): it must exist and be of the caller's agency; another
			// agency's unit answers as an unknown one.
			if err := s.requireUnitOf(ctx, req.Caller, cmd.UnitID); err != nil {
				return domain.Change{}, err
			}
		}
		return domain.Change{Role: role, Events: []domain.Event{OfficialRegistered{OfficialID: cmd.ID, Kind: OfficialKind(cmd.Kind), Title: title, UnitID: cmd.UnitID}}}, nil
	})
}

// officialExists reports whether party ("official:{id}") is registered.
func (l *lookup) officialExists(party string) (bool, error) {
	st, err := l.h.Load(l.ctx, OfficialStream(strings.TrimPrefix(party, OfficialPrefix)))
	if err != nil {
		return false, err
	}
	return st.Exists, nil
}

// parseParty returns an appraiser or superior: a NIP, or an official
// ("official:{id}").
func parseParty(v *domain.ValidationError, field, s string) string {
	if IsOfficial(s) {
		if !ValidOfficialID(strings.TrimPrefix(s, OfficialPrefix)) {
			v.Add(field, "official identity %q: want official:{ID}, ID of A-Z, 0-9, _ and -", s)
			return ""
		}
		return s
	}
	return parseNIP(v, field, s)
}
