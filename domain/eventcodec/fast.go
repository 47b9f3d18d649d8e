package eventcodec

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// Decoding without reflection. encoding/json's reflection was 14 % of a
// PostgreSQL projection rebuild's client CPU (docs/benchmarks.md §41), and
// seven SKP event types are about four events in five of a seeded
// agency's log (realisations, evaluations and ratings, indicators,
// feedback, evidence, RHKs). For those, Decode first tries a decoder
// written for the JSON that Encode (json.Marshal) produces: the exact
// field names, each at most once, strings without escapes, numbers in
// JSON's grammar, times as time.Time's own UnmarshalJSON reads them. On
// anything else (another spelling or case of a name, a repeated or
// unknown name, null, an optional member it does not decode, an escape
// it leaves to encoding/json, malformed JSON) it declines, and the
// registry's reflection decoder decodes the event, as before: the fast
// decoder only ever answers where it gives what json.Unmarshal gives
// (TestFastDecodeAgreesWithReflection, FuzzFastDecode).

// fastDecoder decodes one event type's JSON at one schema version, or
// declines (ok false).
type fastDecoder struct {
	version int
	decode  func(data []byte) (domain.Event, bool)
}

// fastDecoders are the event types decoded without reflection, at the
// schema version their decoder was written for. Decode uses one only while
// that version is the type's latest (fastFor): a new version of the shape
// goes through the registry until its decoder is written.
var fastDecoders = map[string]fastDecoder{
	skp.RealisationRecorded{}.EventType(): {1, decodeRealisationRecorded},
	skp.EvaluationIssued{}.EventType():    {2, decodeEvaluationIssued},
	skp.RatingAssigned{}.EventType():      {2, decodeRatingAssigned},
	skp.IndicatorAdded{}.EventType():      {2, decodeIndicatorAdded},
	skp.FeedbackGiven{}.EventType():       {1, decodeFeedbackGiven},
	skp.EvidenceAttached{}.EventType():    {1, decodeEvidenceAttached},
	skp.RHKAdded{}.EventType():            {1, decodeRHKAdded},
}

// fastFor returns the fast decoder of (eventType, schemaVersion), if any.
func fastFor(eventType string, schemaVersion int) (func([]byte) (domain.Event, bool), bool) {
	f, ok := fastDecoders[eventType]
	if !ok || f.version != schemaVersion {
		return nil, false
	}
	if s, ok := registry.Lookup(eventType); !ok || s.Version != f.version {
		return nil, false
	}
	return f.decode, true
}

func decodeRealisationRecorded(data []byte) (domain.Event, bool) {
	var e skp.RealisationRecorded
	var seen fieldSet
	s := scanner{b: data}
	ok := s.object(func(k []byte) bool {
		switch string(k) {
		case "realisation_id":
			return seen.once(0) && s.str(&e.RealisationID)
		case "period":
			return seen.once(1) && s.str(&e.Period)
		case "indicator_id":
			return seen.once(2) && s.str(&e.IndicatorID)
		case "rhk_id":
			return seen.once(3) && s.str(&e.RHKID)
		case "skp_version":
			return seen.once(4) && s.int(&e.SKPVersion)
		case "value":
			return seen.once(5) && s.float(&e.Value)
		case "narrative":
			return seen.once(6) && s.str(&e.Narrative)
		}
		return false
	}) && s.end()
	return e, ok
}

// scores decodes the members of the embedded skp.Scores.
func (s *scanner) scores(k []byte, sc *skp.Scores, seen *fieldSet, first int) (known, ok bool) {
	switch string(k) {
	case "work_result":
		return true, seen.once(first) && s.str((*string)(&sc.WorkResult))
	case "behaviour":
		return true, seen.once(first+1) && s.str((*string)(&sc.Behaviour))
	case "predikat":
		return true, seen.once(first+2) && s.str((*string)(&sc.Predikat))
	}
	return false, false
}

func decodeEvaluationIssued(data []byte) (domain.Event, bool) {
	var e skp.EvaluationIssued
	var seen fieldSet
	s := scanner{b: data}
	ok := s.object(func(k []byte) bool {
		if known, ok := s.scores(k, &e.Scores, &seen, 10); known {
			return ok
		}
		switch string(k) {
		case "period":
			return seen.once(0) && s.str(&e.Period)
		case "delivered_at":
			return seen.once(1) && s.time(&e.DeliveredAt)
		case "objection_deadline":
			e.ObjectionDeadline = new(time.Time)
			return seen.once(2) && s.time(e.ObjectionDeadline)
		case "appraiser_nip":
			return seen.once(3) && s.str(&e.AppraiserNIP)
		case "policy_version":
			return seen.once(4) && s.str(&e.PolicyVersion)
		}
		return false // backfill among them: left to encoding/json
	}) && s.end()
	return e, ok
}

func decodeRatingAssigned(data []byte) (domain.Event, bool) {
	var e skp.RatingAssigned
	var seen fieldSet
	s := scanner{b: data}
	ok := s.object(func(k []byte) bool {
		if known, ok := s.scores(k, &e.Scores, &seen, 10); known {
			return ok
		}
		switch string(k) {
		case "period":
			return seen.once(0) && s.str(&e.Period)
		case "rationale":
			return seen.once(1) && s.str(&e.Rationale)
		case "appraiser_nip":
			return seen.once(2) && s.str(&e.AppraiserNIP)
		case "policy_version":
			return seen.once(3) && s.str(&e.PolicyVersion)
		}
		return false // unit_head and feedback360 among them: left to encoding/json
	}) && s.end()
	return e, ok
}

func decodeIndicatorAdded(data []byte) (domain.Event, bool) {
	var e skp.IndicatorAdded
	var seen fieldSet
	s := scanner{b: data}
	ok := s.object(func(k []byte) bool {
		switch string(k) {
		case "indicator_id":
			return seen.once(0) && s.str(&e.IndicatorID)
		case "rhk_id":
			return seen.once(1) && s.str(&e.RHKID)
		case "aspect":
			return seen.once(2) && s.str((*string)(&e.Aspect))
		case "text":
			return seen.once(3) && s.str(&e.Text)
		case "target":
			var tseen fieldSet
			return seen.once(4) && s.object(func(k []byte) bool {
				switch string(k) {
				case "value":
					return tseen.once(0) && s.float(&e.Target.Value)
				case "unit":
					return tseen.once(1) && s.str(&e.Target.Unit)
				}
				return false
			})
		case "direction":
			return seen.once(5) && s.str((*string)(&e.Direction))
		}
		return false
	}) && s.end()
	return e, ok
}

func decodeFeedbackGiven(data []byte) (domain.Event, bool) {
	var e skp.FeedbackGiven
	var seen fieldSet
	s := scanner{b: data}
	ok := s.object(func(k []byte) bool {
		switch string(k) {
		case "feedback_id":
			return seen.once(0) && s.str(&e.FeedbackID)
		case "about":
			var aseen fieldSet
			return seen.once(1) && s.object(func(k []byte) bool {
				switch string(k) {
				case "rhk_id":
					return aseen.once(0) && s.str(&e.About.RHKID)
				case "indicator_id":
					return aseen.once(1) && s.str(&e.About.IndicatorID)
				case "behaviour":
					return aseen.once(2) && s.str((*string)(&e.About.Behaviour))
				}
				return false
			})
		case "text":
			return seen.once(2) && s.str(&e.Text)
		case "giver_nip":
			return seen.once(3) && s.str(&e.GiverNIP)
		case "relationship":
			return seen.once(4) && s.str((*string)(&e.Relationship))
		}
		return false
	}) && s.end()
	return e, ok
}

func decodeEvidenceAttached(data []byte) (domain.Event, bool) {
	var e skp.EvidenceAttached
	var seen fieldSet
	s := scanner{b: data}
	ok := s.object(func(k []byte) bool {
		switch string(k) {
		case "evidence_id":
			return seen.once(0) && s.str(&e.EvidenceID)
		case "indicator_id":
			return seen.once(1) && s.str(&e.IndicatorID)
		case "rhk_id":
			return seen.once(2) && s.str(&e.RHKID)
		case "uri":
			return seen.once(3) && s.str(&e.URI)
		case "sha256":
			return seen.once(4) && s.str(&e.SHA256)
		case "filename":
			return seen.once(5) && s.str(&e.Filename)
		case "media_type":
			return seen.once(6) && s.str(&e.MediaType)
		case "size":
			return seen.once(7) && s.int64(&e.Size)
		}
		return false
	}) && s.end()
	return e, ok
}

func decodeRHKAdded(data []byte) (domain.Event, bool) {
	var e skp.RHKAdded
	var seen fieldSet
	s := scanner{b: data}
	ok := s.object(func(k []byte) bool {
		switch string(k) {
		case "rhk_id":
			return seen.once(0) && s.str(&e.RHKID)
		case "text":
			return seen.once(1) && s.str(&e.Text)
		case "kind":
			return seen.once(2) && s.str((*string)(&e.Kind))
		case "intervened_rhk_id":
			return seen.once(3) && s.str(&e.IntervenedRHKID)
		case "intervened_skp_id":
			return seen.once(4) && s.str(&e.IntervenedSKPID)
		case "pk_ref":
			return seen.once(5) && s.str(&e.PKRef)
		}
		return false
	}) && s.end()
	return e, ok
}

// fieldSet records the members an object has given, so that a repeated
// one declines (encoding/json would take the last, or merge objects).
type fieldSet uint32

func (f *fieldSet) once(i int) bool {
	bit := fieldSet(1) << i
	if *f&bit != 0 {
		return false
	}
	*f |= bit
	return true
}

// scanner reads the JSON of b from i on. Each method reads one value (or
// token) after optional white space and reports whether it could; false
// means decline, never an error of its own.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// end reports whether nothing but white space follows.
func (s *scanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// object reads an object, calling member for each member with its name,
// the scanner at the member's value; member reads the value and reports
// whether it could. Names must be plain (no escapes).
func (s *scanner) object(member func(name []byte) bool) bool {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return false
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true
	}
	for {
		s.ws()
		name, ok := s.plain()
		if !ok {
			return false
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		if !member(name) {
			return false
		}
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

// plain reads a string without escapes, control characters or invalid
// UTF-8 and returns its bytes (unquoted), aliasing b.
func (s *scanner) plain() ([]byte, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	start := s.i + 1
	ascii := true
	for j := start; j < len(s.b); j++ {
		c := s.b[j]
		switch {
		case c == '"':
			v := s.b[start:j]
			if !ascii && !utf8.Valid(v) {
				return nil, false
			}
			s.i = j + 1
			return v, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// str reads a string into dst. A string with escapes (or invalid UTF-8,
// which encoding/json replaces) is unquoted by encoding/json itself.
func (s *scanner) str(dst *string) bool {
	s.ws()
	if v, ok := s.plain(); ok {
		*dst = string(v)
		return true
	}
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return false // null, a number…: declined
	}
	// Find the closing quote past escapes, then let encoding/json unquote.
	for j := s.i + 1; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			j++
		case '"':
			if json.Unmarshal(s.b[s.i:j+1], dst) != nil {
				return false
			}
			s.i = j + 1
			return true
		}
	}
	return false
}

// number reads a number in JSON's grammar and returns its text; integer
// reports whether it has neither fraction nor exponent.
func (s *scanner) number() (text []byte, integer, ok bool) {
	s.ws()
	start, j := s.i, s.i
	digits := func() bool {
		k := j
		for j < len(s.b) && s.b[j] >= '0' && s.b[j] <= '9' {
			j++
		}
		return j > k
	}
	if j < len(s.b) && s.b[j] == '-' {
		j++
	}
	switch {
	case j < len(s.b) && s.b[j] == '0':
		j++
	case !digits():
		return nil, false, false
	}
	integer = true
	if j < len(s.b) && s.b[j] == '.' {
		j++
		if !digits() {
			return nil, false, false
		}
		integer = false
	}
	if j < len(s.b) && (s.b[j] == 'e' || s.b[j] == 'E') {
		j++
		if j < len(s.b) && (s.b[j] == '+' || s.b[j] == '-') {
			j++
		}
		if !digits() {
			return nil, false, false
		}
		integer = false
	}
	s.i = j
	return s.b[start:j], integer, true
}

// int64 reads an integer literal (no fraction, no exponent, as
// encoding/json requires of an integer field) within int64's range.
func (s *scanner) int64(dst *int64) bool {
	text, integer, ok := s.number()
	if !ok || !integer {
		return false
	}
	if len(text) > 18 { // may overflow: as encoding/json parses it
		n, err := strconv.ParseInt(string(text), 10, 64)
		if err != nil {
			return false
		}
		*dst = n
		return true
	}
	neg := text[0] == '-'
	if neg {
		text = text[1:]
	}
	var n int64
	for _, c := range text {
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	*dst = n
	return true
}

func (s *scanner) int(dst *int) bool {
	var n int64
	if !s.int64(&n) || int64(int(n)) != n {
		return false
	}
	*dst = int(n)
	return true
}

// float reads a number as encoding/json reads it into a float64.
func (s *scanner) float(dst *float64) bool {
	text, _, ok := s.number()
	if !ok {
		return false
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil {
		return false
	}
	*dst = f
	return true
}

// time reads a time as encoding/json does: by time.Time's UnmarshalJSON
// of the quoted text. null is declined.
func (s *scanner) time(dst *time.Time) bool {
	s.ws()
	start := s.i
	if _, ok := s.plain(); !ok {
		return false
	}
	return dst.UnmarshalJSON(s.b[start:s.i]) == nil
}
