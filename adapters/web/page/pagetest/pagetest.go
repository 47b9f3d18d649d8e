// Package pagetest holds what the tests of every dashboard feature check
// alike.
package pagetest

import (
	"io/fs"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/web/i18n"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
)

// CheckMessages fails tb for every message key the templates in files use
// that neither catalog nor i18n.Shared holds in both languages.
func CheckMessages(tb testing.TB, files fs.FS, catalog i18n.Catalog) {
	tb.Helper()
	missing, err := page.MissingMessages(files, catalog)
	if err != nil {
		tb.Fatal(err)
	}
	for _, k := range missing {
		tb.Errorf("message %q is used but not defined in both languages", k)
	}
}
