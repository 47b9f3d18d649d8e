package masterdata

import "github.com/kinerja-ledger/kinerja/adapters/web/i18n"

// messages are the feature's own words (i18n.Shared has the common ones).
var messages = i18n.Catalog{
	"masterdata.units.title":    {ID: "Data induk: unit", EN: "Master data: units"},
	"masterdata.units.none":     {ID: "Belum ada unit.", EN: "No units yet."},
	"masterdata.units.created":  {ID: "Unit telah didaftarkan:", EN: "The unit was registered:"},
	"masterdata.unit.new":       {ID: "Daftarkan unit baru", EN: "Register a new unit"},
	"masterdata.unit.new.title": {ID: "Unit baru", EN: "New unit"},
	"masterdata.unit.id":        {ID: "Kode unit", EN: "Unit code"},
	"masterdata.unit.id.hint":   {ID: "Kode tetap, misalnya DINKES. Tidak dapat diubah kemudian.", EN: "A permanent code, for example DINKES. It cannot be changed later."},
	"masterdata.unit.name":      {ID: "Nama unit", EN: "Unit name"},
	"masterdata.unit.parent":    {ID: "Unit induk", EN: "Parent unit"},
	"masterdata.unit.noparent":  {ID: "(tidak ada: unit teratas)", EN: "(none: a top unit)"},
	"masterdata.unit.submit":    {ID: "Daftarkan", EN: "Register"},
}
