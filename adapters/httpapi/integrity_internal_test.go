package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// TestIntegrityViolationIsItsOwnProblem: a load that fails authentication
// is 500 integrity_violation, with a detail that says so but names nothing
// of the stored data.
func TestIntegrityViolationIsItsOwnProblem(t *testing.T) {
	err := fmt.Errorf("skp.read: eventlog: load skp-1: %w", &eventstore.IntegrityError{Stream: "skp-1", Revision: 3,
		Problem: "unsigned, and its append has no signed last event in the store", Err: eventstore.ErrUnsigned})
	p := problemOf(err)
	if p.Status != http.StatusInternalServerError || p.Code != "integrity_violation" || p.Type != problemTypeBase+"integrity_violation" {
		t.Fatalf("problemOf(IntegrityError) = %+v, want 500 integrity_violation", p)
	}
	if strings.Contains(p.Detail, "skp-1") || !strings.Contains(p.Detail, "signature") {
		t.Errorf("detail %q: want the kind explained, nothing of the stored data", p.Detail)
	}
}
