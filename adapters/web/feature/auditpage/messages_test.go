package auditpage

import (
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/web/page"
)

// Every message key the feature's templates use has both languages.
func TestMessages(t *testing.T) {
	missing, err := page.MissingMessages(files, messages)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range missing {
		t.Errorf("message %q is used but not defined in both languages", k)
	}
}
