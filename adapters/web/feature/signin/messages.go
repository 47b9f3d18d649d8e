package signin

import "github.com/kinerja-ledger/kinerja/adapters/web/i18n"

// messages are the feature's own words (i18n.Shared has the common ones).
var messages = i18n.Catalog{
	"signin.link.hint":    {ID: "Minta tautan masuk sekali pakai kepada administrator. Dalam mode tertanam, administrator membuatnya dengan", EN: "Ask your administrator for a one-time sign-in link. In embedded mode, the administrator makes one with"},
	"signin.link.confirm": {ID: "Tautan ini memasukkan Anda satu kali dan segera kedaluwarsa.", EN: "This link signs you in once and expires soon."},
	"signin.link.failed":  {ID: "Tautan masuk tidak dapat diterima: tidak dikenal, sudah dipakai, atau kedaluwarsa.", EN: "The sign-in link was not accepted: it is unknown, already used, or expired."},
	"signin.title":        {ID: "Masuk", EN: "Sign in"},
	"signin.submit":       {ID: "Masuk", EN: "Sign in"},
	"signin.expired":      {ID: "Sesi Anda telah berakhir. Silakan masuk kembali.", EN: "Your session has ended. Please sign in again."},
	"signin.oidc":         {ID: "Di lingkungan produksi, masuk melalui penyedia identitas (OIDC) instansi Anda.", EN: "In production, sign in through your agency's identity provider (OIDC)."},
	"signin.oidc.button":  {ID: "Masuk melalui penyedia identitas instansi", EN: "Sign in with your agency's identity provider"},
	"signin.continue":     {ID: "Berhasil masuk. Lanjutkan", EN: "Signed in. Continue"},
	"signin.oidc.failed":  {ID: "Masuk melalui penyedia identitas tidak berhasil. Silakan coba lagi.", EN: "Signing in through the identity provider did not succeed. Please try again."},
}
