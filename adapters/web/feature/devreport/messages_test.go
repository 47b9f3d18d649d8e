package devreport

import (
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/web/page/pagetest"
)

// Every message key the feature's templates use has both languages.
func TestMessages(t *testing.T) { pagetest.CheckMessages(t, files, messages) }
