package officials

import "github.com/kinerja-ledger/kinerja/adapters/web/i18n"

// messages are the feature's own words (i18n.Shared has the common ones).
var messages = i18n.Catalog{
	"officials.new.title":                  {ID: "Daftarkan pejabat tanpa NIP", EN: "Register an official without a NIP"},
	"officials.new.hint":                   {ID: "Menteri, kepala daerah, dan pejabat lain tanpa NIP dapat disebut dalam garis pelaporan sebagai official:{kode}.", EN: "Ministers, regional heads and other officials without a NIP can be named in reporting lines as official:{id}."},
	"officials.created":                    {ID: "Pejabat terdaftar:", EN: "Official registered:"},
	"officials.id":                         {ID: "Kode pejabat", EN: "Official's code"},
	"officials.id.hint":                    {ID: "1–64 huruf besar A–Z, angka, _ atau -, misalnya WALIKOTA-SUKAMAJU.", EN: "1–64 of A–Z, 0–9, _ and -, for example WALIKOTA-SUKAMAJU."},
	"officials.kind":                       {ID: "Jabatan", EN: "Office"},
	"officials.kind.MINISTER":              {ID: "Menteri", EN: "Minister"},
	"officials.kind.COORDINATING_MINISTER": {ID: "Menteri koordinator", EN: "Coordinating minister"},
	"officials.kind.HEAD_OF_AGENCY":        {ID: "Kepala lembaga", EN: "Head of agency"},
	"officials.kind.GOVERNOR":              {ID: "Gubernur", EN: "Governor"},
	"officials.kind.REGENT":                {ID: "Bupati", EN: "Regent"},
	"officials.kind.MAYOR":                 {ID: "Wali kota", EN: "Mayor"},
	"officials.title":                      {ID: "Sebutan jabatan", EN: "Title of the office"},
	"officials.unit":                       {ID: "Unit yang dipimpin (boleh kosong)", EN: "Unit led (optional)"},
	"officials.unit.none":                  {ID: "Kosongkan bila pejabat tidak memimpin unit.", EN: "Leave empty when the official leads no unit."},
	"officials.submit":                     {ID: "Daftarkan", EN: "Register"},
}
