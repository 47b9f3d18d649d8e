package eventlog_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

func newEvent(e domain.Event) domain.NewEvent {
	return domain.NewEvent{ID: uuid.New(), Event: e, Meta: domain.Meta{
		Actor: domain.Actor{ID: "hr-1", Role: domain.RoleHRAdmin}, CorrelationID: "c", CausationID: "k", Reason: "why",
		OccurredAt: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC),
	}}
}

// Every string an event carries, in its payload (however deep) or its
// envelope, is checked before the event is encoded: the problem names the
// JSON field.
func TestEncodeRefusesUnfitText(t *testing.T) {
	withMeta := func(e domain.NewEvent, change func(*domain.Meta)) domain.NewEvent {
		change(&e.Meta)
		return e
	}
	drafted := func(name, title string) domain.Event {
		return skp.Drafted{SKPID: "199001012015031001-2026", NIP: "199001012015031001", Year: 2026, Sequence: 1, Approach: skp.Kuantitatif,
			Employee: skp.Snapshot{Name: name, UnitID: "DINKES", Position: employee.Position{Kind: employee.Pelaksana, Title: title}}}
	}
	justified := func(key rating.Predikat, detail string) domain.Event {
		return distribution.DeviationJustified{UnitID: "DINKES", Period: "2026", Counts: map[rating.Predikat]int{key: 3},
			Violations: []distribution.Violation{{Rule: "r", Detail: "ok"}, {Rule: "r", Detail: detail}}, Justification: "j"}
	}
	for _, tc := range []struct {
		name   string
		event  domain.NewEvent
		fields []string // nil: accepted
	}{
		{"plain", newEvent(orgunit.Registered{UnitID: "X", Name: "Biro X"}), nil},
		{"tab, LF and CR are text", newEvent(orgunit.Registered{UnitID: "X", Name: "Biro\tX\r\nBaris dua"}), nil},
		{"U+FFFD sent as such is text", newEvent(orgunit.Registered{UnitID: "X", Name: "Biro \ufffd"}), nil},
		{"NUL", newEvent(orgunit.Registered{UnitID: "X", Name: "Biro\x00X"}), []string{"name"}},
		{"ESC", newEvent(orgunit.Registered{UnitID: "X", Name: "\x1b[31mBiro"}), []string{"name"}},
		{"backspace", newEvent(orgunit.Registered{UnitID: "X", Name: "Biro\bX"}), []string{"name"}},
		{"invalid UTF-8", newEvent(orgunit.Registered{UnitID: "X", Name: "Biro \xff"}), []string{"name"}},
		{"UTF-8 of a surrogate", newEvent(orgunit.Registered{UnitID: "X", Name: "\xed\xa0\x80"}), []string{"name"}},
		{"two fields", newEvent(orgunit.Registered{UnitID: "X\x00", Name: "Biro", ParentID: "\x01"}), []string{"unit_id", "parent_id"}},
		{"nested", newEvent(drafted("Nama\x00", "Staf")), []string{"employee.name"}},
		{"nested twice", newEvent(drafted("Nama", "Staf\xc0")), []string{"employee.position.title"}},
		{"in a slice", newEvent(justified(rating.Baik, "bad\x07")), []string{"violations[1].detail"}},
		{"a map key", newEvent(justified("BAIK\x00", "ok")), []string{"counts"}},
		{"reason with NUL", withMeta(newEvent(orgunit.Registered{UnitID: "X", Name: "Biro"}), func(m *domain.Meta) { m.Reason = "a\x00b" }), []string{"reason"}},
		{"reason over the store's limit", withMeta(newEvent(orgunit.Registered{UnitID: "X", Name: "Biro"}), func(m *domain.Meta) {
			m.Reason = strings.Repeat("é", eventstore.MaxReasonLen/2+1)
		}), []string{"reason"}},
		{"reason at the store's limit", withMeta(newEvent(orgunit.Registered{UnitID: "X", Name: "Biro"}), func(m *domain.Meta) {
			m.Reason = strings.Repeat("é", eventstore.MaxReasonLen/2)
		}), nil},
		{"actor", withMeta(newEvent(orgunit.Registered{UnitID: "X", Name: "Biro"}), func(m *domain.Meta) { m.Actor.ID = "hr\x00" }), []string{"actor"}},
		{"correlation over the limit", withMeta(newEvent(orgunit.Registered{UnitID: "X", Name: "Biro"}), func(m *domain.Meta) {
			m.CorrelationID = strings.Repeat("c", eventstore.MaxIDFieldLen+1)
		}), []string{"correlation_id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := eventlog.Encode(tc.event)
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("Encode = %v, want accepted", err)
				}
				return
			}
			var v *domain.ValidationError
			if !errors.As(err, &v) {
				t.Fatalf("Encode = %v, want a *domain.ValidationError", err)
			}
			var got []string
			for _, f := range v.Fields {
				got = append(got, f.Field)
			}
			if diff := cmp.Diff(tc.fields, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

// An append with an unfit event writes nothing, whichever event of the
// append it is; and a stream name no store accepts is a stream without
// events, not an error.
func TestAppendOfUnfitTextWritesNothing(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	log := eventlog.New(s)
	good, bad := newEvent(orgunit.Registered{UnitID: "X", Name: "Biro X"}), newEvent(orgunit.HeadAssigned{UnitID: "X", HeadNIP: "1990\x00"})
	if _, err := log.Append(ctx, "unit-X", domain.NoStream, []domain.NewEvent{good, bad}); !errors.Is(err, domain.ErrValidation) {
		t.Fatalf("Append = %v, want a validation error", err)
	}
	if head, err := s.Head(ctx); err != nil || head != 0 {
		t.Errorf("store head = %d, %v after a refused append; want 0", head, err)
	}
	for _, l := range []domain.EventLog{log, eventlog.NewCached(s, 10)} {
		for _, name := range []string{"unit-\x00", "unit-" + strings.Repeat("a", 300), "unit-a b"} {
			if _, _, ok, err := l.Load(ctx, name); ok || err != nil {
				t.Errorf("%T.Load(%q) = exists %v, %v; want a stream without events", l, name, ok, err)
			}
		}
	}
}
