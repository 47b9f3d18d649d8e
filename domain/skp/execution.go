package skp

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/period"
)

// inEffect refuses execution records on an SKP without a version in effect
// or that has ended.
func inEffect(sk *SKP, action string) error {
	if sk.version() == nil || !sk.status.Open() {
		return domain.InvalidState(action, string(sk.status), "the SKP must be established and not ended")
	}
	return nil
}

// checkPeriod parses a period of the SKP: its year, and annual or of the
// SKP's cadence.
func (sk *SKP) checkPeriod(v *domain.ValidationError, s string) period.Period {
	p, err := sk.cadence.Check(s, sk.year)
	if err != nil {
		v.Add("period", "%v", err)
	}
	return p
}

// RecordRealisation is the command to record a realisation.
type RecordRealisation struct {
	// SKPID is the SKP.
	SKPID string
	// Period is the period ("2026", or one of the SKP's cadence).
	Period string
	// IndicatorID names an indicator of the version in effect.
	IndicatorID string
	// Value is the achieved quantity.
	Value float64
	// Narrative explains it; optional.
	Narrative string
}

// RecordRealisation records a realisation on an indicator of the version in
// effect, for a period whose evaluation is not issued yet, and returns its
// id. Errors: not found, forbidden (not the employee), validation (period,
// indicator, value), invalid state (not established, or the period's
// evaluation already issued).
func (s *Service) RecordRealisation(ctx context.Context, req domain.Request, cmd RecordRealisation) (string, domain.Committed, error) {
	var id string
	c, err := s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.RecordRealisation, nil)
		if err != nil {
			return domain.Change{}, err
		}
		if err := inEffect(sk, "record a realisation"); err != nil {
			return domain.Change{}, err
		}
		if err := limit("realisations", "realisations", len(sk.realisations), s.Policy.SKPLimits.Realisations); err != nil {
			return domain.Change{}, err
		}
		var v domain.ValidationError
		p := sk.checkPeriod(&v, cmd.Period)
		r, _ := findIndicator(sk.version().RHK, cmd.IndicatorID)
		if r == nil {
			v.Add("indicator_id", "no indicator %q in version %d of the SKP", cmd.IndicatorID, sk.version().Version)
		}
		if math.IsNaN(cmd.Value) || math.IsInf(cmd.Value, 0) || cmd.Value < 0 {
			v.Add("value", "must be a finite number, not negative")
		}
		narrative := text(&v, "narrative", cmd.Narrative, MaxLongTextLen, false)
		if err := v.Err(); err != nil {
			return domain.Change{}, err
		}
		if ev := sk.evals[p.String()]; ev != nil && ev.issued {
			return domain.Change{}, domain.InvalidState("record a realisation", string(sk.status), "the evaluation of "+p.String()+" is issued")
		}
		id = s.Handler.NewID().String()
		return one(role, RealisationRecorded{RealisationID: id, Period: p.String(), IndicatorID: cmd.IndicatorID, RHKID: r.ID,
			SKPVersion: sk.version().Version, Value: cmd.Value, Narrative: narrative})
	})
	return id, c, err
}

var (
	sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// uriRE accepts an http or https URL with a host and no credentials,
	// without spaces or control characters: evidence is a file on a web
	// server, and any other scheme (javascript:, data:, file:) is a link a
	// reader of the dashboard should never be handed (issue 9 §4). (The
	// domain does not import net/... at all, so it checks the shape itself.)
	uriRE       = regexp.MustCompile(`^(?i:https?)://[^/?#@\s\x00-\x1f\x7f]+(?:[/?#][^\s\x00-\x1f\x7f]*)?$`)
	mediaTypeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$`)
)

// niPrefix starts the URI of an evidence file stored by the ledger itself
// (uploaded, content-addressed by its SHA-256): RFC 6920's "ni" scheme.
const niPrefix = "ni:///sha-256;"

// EvidenceURI is the URI of a stored evidence file with the SHA-256 sum
// (64 hexadecimal digits): ni:///sha-256;<the digest in base64url, without
// padding> (RFC 6920). The ledger's blob store serves it; no reader of the
// dashboard is ever handed it as a link (the download is the dashboard's
// own route, which checks the hash).
func EvidenceURI(sum string) string {
	b, err := hex.DecodeString(sum)
	if err != nil || len(b) != 32 {
		return niPrefix + sum
	}
	return niPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// Stored reports whether e is a file stored by the ledger (uploaded), not
// a link to a web server.
func (e Evidence) Stored() bool { return strings.HasPrefix(e.URI, niPrefix) }

// MaxFilenameLen and MaxURILen bound evidence metadata.
const (
	MaxFilenameLen = 255
	MaxURILen      = 2048
)

// AttachEvidence is the command to attach evidence metadata.
type AttachEvidence struct {
	// SKPID is the SKP.
	SKPID string
	// IndicatorID names an indicator of the version in effect.
	IndicatorID string
	// URI locates the file: an http or https URL, or EvidenceURI(SHA256)
	// for a file stored by the ledger (uploaded through the dashboard or
	// POST /v1/skps/{id}/evidence/files).
	URI string
	// SHA256 is the file's hash, 64 hex digits (stored in lower case).
	SHA256 string
	// Filename is the file's name (no path).
	Filename string
	// MediaType is "type/subtype".
	MediaType string
	// Size is the file's size in bytes, > 0.
	Size int64
}

// AttachEvidence records evidence for an indicator of the version in effect
// and returns its id. Errors: not found, forbidden (not the employee),
// validation (each field), invalid state (not established).
func (s *Service) AttachEvidence(ctx context.Context, req domain.Request, cmd AttachEvidence) (string, domain.Committed, error) {
	var v domain.ValidationError
	uri := strings.TrimSpace(cmd.URI)
	sum := strings.ToLower(strings.TrimSpace(cmd.SHA256))
	stored := strings.HasPrefix(uri, niPrefix)
	switch {
	case stored && (!sha256RE.MatchString(sum) || uri != EvidenceURI(sum)):
		v.Add("uri", "a stored file's URI must be %s of the file's sha256", EvidenceURI("<sha256>"))
	case !stored && (!uriRE.MatchString(uri) || len(uri) > MaxURILen):
		v.Add("uri", "must be an http or https URL of at most %d characters, without credentials, or the ni: URI of a stored file", MaxURILen)
	}
	if !sha256RE.MatchString(sum) {
		v.Add("sha256", "must be 64 hexadecimal digits")
	}
	name := strings.TrimSpace(cmd.Filename)
	if name == "" || utf8.RuneCountInString(name) > MaxFilenameLen || strings.ContainsAny(name, "/\\\x00") || name == "." || name == ".." {
		v.Add("filename", "required, a file name without a path, at most %d characters", MaxFilenameLen)
	}
	mt := strings.ToLower(strings.TrimSpace(cmd.MediaType))
	if !mediaTypeRE.MatchString(mt) {
		v.Add("media_type", "must be a media type such as application/pdf")
	}
	if cmd.Size <= 0 {
		v.Add("size", "must be greater than 0")
	}
	var id string
	c, err := s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.AttachEvidence, nil)
		if err != nil {
			return domain.Change{}, err
		}
		if err := inEffect(sk, "attach evidence"); err != nil {
			return domain.Change{}, err
		}
		if err := limit("evidence", "evidence attachments", len(sk.evidence), s.Policy.SKPLimits.Evidence); err != nil {
			return domain.Change{}, err
		}
		r, _ := findIndicator(sk.version().RHK, cmd.IndicatorID)
		vv := domain.ValidationError{Fields: slices.Clone(v.Fields)} // decide may run again
		if r == nil {
			vv.Add("indicator_id", "no indicator %q in version %d of the SKP", cmd.IndicatorID, sk.version().Version)
		}
		if err := vv.Err(); err != nil {
			return domain.Change{}, err
		}
		id = s.Handler.NewID().String()
		return one(role, EvidenceAttached{EvidenceID: id, IndicatorID: cmd.IndicatorID, RHKID: r.ID, URI: uri, SHA256: sum,
			Filename: name, MediaType: mt, Size: cmd.Size})
	})
	return id, c, err
}

// GiveFeedback is the command to give feedback.
type GiveFeedback struct {
	// SKPID is the SKP.
	SKPID string
	// About says what it concerns (all empty: general feedback).
	About FeedbackAbout
	// Text is the feedback.
	Text string
}

// GiveFeedback records feedback from the appraiser in effect, a colleague
// of the employee's unit (on the date), a feedback giver assigned to the SKP
// (TEAM_LEAD, PEMBERI_PERTIMBANGAN; givers.go), or the employee, with the
// giver's relationship, and returns its id. Errors: not found, forbidden,
// validation (text, unknown RHK or indicator, behaviour value), invalid
// state (the SKP has ended).
func (s *Service) GiveFeedback(ctx context.Context, req domain.Request, cmd GiveFeedback) (string, domain.Committed, error) {
	var v domain.ValidationError
	body := text(&v, "text", cmd.Text, MaxLongTextLen, true)
	if b := cmd.About.Behaviour; b != "" && !berakhlak.Value(b).Valid() {
		v.Add("about.behaviour", "must be one of the seven BerAKHLAK values")
	}
	var id string
	c, err := s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.GiveFeedback, nil)
		if err != nil {
			return domain.Change{}, err
		}
		if err := limit("feedback", "feedback entries", len(sk.feedback), s.Policy.SKPLimits.Feedback); err != nil {
			return domain.Change{}, err
		}
		vv := domain.ValidationError{Fields: slices.Clone(v.Fields)} // decide may run again
		a := cmd.About
		if a.RHKID != "" && !sk.knowsRHK(a.RHKID) {
			vv.Add("about.rhk_id", "no RHK %q in the SKP", a.RHKID)
		}
		if a.IndicatorID != "" {
			r := sk.indicatorRHK(a.IndicatorID)
			switch {
			case r == "":
				vv.Add("about.indicator_id", "no indicator %q in the SKP", a.IndicatorID)
			case a.RHKID != "" && r != a.RHKID:
				vv.Add("about.indicator_id", "indicator %q does not belong to RHK %q", a.IndicatorID, a.RHKID)
			}
		}
		if err := vv.Err(); err != nil {
			return domain.Change{}, err
		}
		if !sk.status.Open() {
			return domain.Change{}, domain.InvalidState("give feedback", string(sk.status), "")
		}
		rel := map[domain.Role]Relationship{domain.RoleEmployee: FromSelf, domain.RoleAppraiser: FromAppraiser, domain.RolePeer: FromPeer}[role]
		if role == domain.RoleFeedbackGiver {
			rel = Relationship(sk.giverKind(req.Caller.ID))
		}
		id = s.Handler.NewID().String()
		return one(role, FeedbackGiven{FeedbackID: id, About: a, Text: body, GiverNIP: req.Caller.ID, Relationship: rel})
	})
	return id, c, err
}

// knowsRHK reports whether id is an RHK of the working plan or of any
// established version.
func (s *SKP) knowsRHK(id string) bool {
	if s.rhk(id) != nil {
		return true
	}
	for _, v := range s.versions {
		for _, r := range v.RHK {
			if r.ID == id {
				return true
			}
		}
	}
	return false
}

// indicatorRHK returns the RHK of indicator id in the working plan or any
// established version, or "".
func (s *SKP) indicatorRHK(id string) string {
	if r, _ := findIndicator(s.plan, id); r != nil {
		return r.ID
	}
	for _, v := range s.versions {
		if r, _ := findIndicator(v.RHK, id); r != nil {
			return r.ID
		}
	}
	return ""
}
