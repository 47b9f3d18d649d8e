package directory

import (
	"context"
	"errors"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// MaxSearchLimit is the largest page Search returns.
const MaxSearchLimit = 500

// ErrBadCursor is returned by Search for a cursor it did not issue.
var ErrBadCursor = errors.New("directory: bad search cursor")

// SearchQuery selects employees. Empty fields do not filter.
type SearchQuery struct {
	// Name matches employees whose folded name (FoldName) contains the
	// folded Name; with NamePrefix, whose folded name starts with it.
	Name       string
	NamePrefix bool
	// NIPPrefix matches employees whose NIP starts with it.
	NIPPrefix string
	// Units, when not nil, keeps employees of these units only (an empty,
	// non-nil slice matches nobody). Callers pass a unit's subtree.
	Units []string
	// Kind is a position kind (employee.PositionKind).
	Kind string
	// NIPs, when not nil, keeps these employees only (an empty, non-nil
	// slice matches nobody); NotNIPs leaves these out. The application
	// layer passes the holders of SKPs of a status (app.SKPFilter).
	NIPs, NotNIPs []string
	// Cursor is the cursor of a previous page ("" for the first).
	Cursor string
	// Limit is the page size: 1..MaxSearchLimit, 50 when 0.
	Limit int
}

// Searcher finds employees. Both backends order results by folded name,
// then NIP (bytewise), so that pages are stable and they agree.
type Searcher interface {
	// Search returns a page of employees matching q and the cursor of the
	// next page ("" at the end).
	Search(ctx context.Context, q SearchQuery) ([]Employee, string, error)
}

// FoldName is the search key of a name: Unicode-decomposed with its
// combining marks removed (é → e), lower-cased, runs of white space made
// one space, trimmed. Matching and ordering use it, so that "jose" finds
// "José" and "ANDI" finds "Andi".
func FoldName(s string) string {
	var b strings.Builder
	space := false
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r), unicode.IsControl(r), unicode.Is(unicode.Noncharacter_Code_Point, r):
			// Marks go; so do controls and noncharacters (NUL, U+FFFF),
			// which keeps the key storable as it is in PostgreSQL.
			continue
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// SearchLimit returns q's page size (50 by default, at most
// MaxSearchLimit).
func (q SearchQuery) SearchLimit() int {
	switch {
	case q.Limit <= 0:
		return 50
	case q.Limit > MaxSearchLimit:
		return MaxSearchLimit
	}
	return q.Limit
}

// SearchCursor is the cursor of the page after e.
func SearchCursor(e Employee) string { return e.NIP + "|" + FoldName(e.Name) }

// ParseSearchCursor returns the folded name and NIP a cursor names (both
// "" for ""), or ErrBadCursor.
func ParseSearchCursor(c string) (key, nip string, err error) {
	if c == "" {
		return "", "", nil
	}
	nip, key, ok := strings.Cut(c, "|")
	if !ok || nip == "" {
		return "", "", ErrBadCursor
	}
	return key, nip, nil
}

// Matches reports whether e matches q's filters (not its cursor): the
// reference the backends' queries are held to.
func (q SearchQuery) Matches(e Employee) bool { return q.Matcher()(e, FoldName(e.Name)) }

// Matcher returns Matches for employees whose folded name is known (key),
// with q's name folded once.
func (q SearchQuery) Matcher() func(e Employee, key string) bool {
	want := FoldName(q.Name)
	set := func(xs []string) map[string]bool {
		m := make(map[string]bool, len(xs))
		for _, x := range xs {
			m[x] = true
		}
		return m
	}
	only, not := set(q.NIPs), set(q.NotNIPs)
	return func(e Employee, key string) bool {
		if q.NIPs != nil && !only[e.NIP] || not[e.NIP] {
			return false
		}
		if want != "" {
			if q.NamePrefix && !strings.HasPrefix(key, want) || !strings.Contains(key, want) {
				return false
			}
		}
		if q.NIPPrefix != "" && !strings.HasPrefix(e.NIP, q.NIPPrefix) {
			return false
		}
		if q.Kind != "" && e.PositionKind != q.Kind {
			return false
		}
		if q.Units != nil {
			return slices.Contains(q.Units, e.UnitID)
		}
		return true
	}
}

// SearchLess orders employees as Search does: folded name, then NIP.
func SearchLess(a, b Employee) int {
	if c := strings.Compare(FoldName(a.Name), FoldName(b.Name)); c != 0 {
		return c
	}
	return strings.Compare(a.NIP, b.NIP)
}
