package imports

import (
	"strings"
	"unicode"
)

// Field is a column of the import layout, by its canonical (English,
// snake_case) name.
type Field string

// The fields of the layout (docs/imports.md). Each has an Indonesian
// header, the one printed in the sample, and English aliases.
const (
	FieldUnitID        Field = "unit_id"
	FieldUnitName      Field = "unit_name"
	FieldParentID      Field = "parent_id"
	FieldNIP           Field = "nip"
	FieldName          Field = "name"
	FieldPositionKind  Field = "position_kind"
	FieldPositionTitle Field = "position_title"
	FieldAppraiserNIP  Field = "appraiser_nip"
	FieldSuperiorNIP   Field = "appraiser_superior_nip"
	FieldEffectiveFrom Field = "effective_from"
)

// Header is the Indonesian header of a field, as the sample file and the
// row-level errors print it.
func (f Field) Header() string {
	switch f {
	case FieldUnitID:
		return "ID Unit"
	case FieldUnitName:
		return "Nama Unit"
	case FieldParentID:
		return "ID Unit Induk"
	case FieldNIP:
		return "NIP"
	case FieldName:
		return "Nama"
	case FieldPositionKind:
		return "Jenis Jabatan"
	case FieldPositionTitle:
		return "Nama Jabatan"
	case FieldAppraiserNIP:
		return "NIP Pejabat Penilai"
	case FieldSuperiorNIP:
		return "NIP Atasan Pejabat Penilai"
	case FieldEffectiveFrom:
		return "TMT"
	}
	return string(f)
}

// aliases maps a normalised header (lower case, every run of other than
// letters and digits one underscore) to its field. SIASN's exports spell
// some columns in their own way ("unor_id", "tmt_jabatan"); those are
// accepted too.
var aliases = map[string]Field{
	"id_unit": FieldUnitID, "unit_id": FieldUnitID, "kode_unit": FieldUnitID, "unor_id": FieldUnitID, "id_unor": FieldUnitID,
	"unit_kerja": FieldUnitID, "unit": FieldUnitID,
	"nama_unit": FieldUnitName, "unit_name": FieldUnitName, "nama_unor": FieldUnitName,
	"id_unit_induk": FieldParentID, "parent_id": FieldParentID, "unit_induk": FieldParentID, "parent": FieldParentID,
	"diatasan_id": FieldParentID, "id_unor_induk": FieldParentID,
	"nip": FieldNIP, "nip_baru": FieldNIP, "ni_pppk": FieldNIP, "nip_ni_pppk": FieldNIP,
	"nama": FieldName, "name": FieldName, "nama_pegawai": FieldName, "nama_lengkap": FieldName,
	"jenis_jabatan": FieldPositionKind, "position_kind": FieldPositionKind, "kind": FieldPositionKind,
	"nama_jabatan": FieldPositionTitle, "jabatan": FieldPositionTitle, "position_title": FieldPositionTitle, "title": FieldPositionTitle,
	"nip_pejabat_penilai": FieldAppraiserNIP, "nip_atasan": FieldAppraiserNIP, "appraiser_nip": FieldAppraiserNIP, "nip_penilai": FieldAppraiserNIP,
	"nip_atasan_pejabat_penilai": FieldSuperiorNIP, "appraiser_superior_nip": FieldSuperiorNIP, "superior_nip": FieldSuperiorNIP,
	"tmt": FieldEffectiveFrom, "tmt_jabatan": FieldEffectiveFrom, "effective_from": FieldEffectiveFrom, "effective_date": FieldEffectiveFrom,
	"tanggal_berlaku": FieldEffectiveFrom,
}

// normHeader lower-cases h and turns every run of characters other than
// letters and digits into one underscore.
func normHeader(h string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			under = false
			b.WriteRune(r)
			continue
		}
		under = true
	}
	return b.String()
}

// Kind of a table: which rows it holds.
type Kind string

// Table kinds, told apart by their headers: a table with an NIP column
// holds employees, one without holds units.
const (
	KindUnits     Kind = "UNITS"
	KindEmployees Kind = "EMPLOYEES"
)

// required lists the columns a table of each kind must have.
var required = map[Kind][]Field{
	KindUnits:     {FieldUnitID, FieldUnitName},
	KindEmployees: {FieldNIP, FieldName, FieldPositionKind, FieldPositionTitle, FieldUnitID},
}

// positionKinds maps the spellings of a position kind people write
// ("Jabatan Fungsional", "JPT Pratama") to its code.
var positionKinds = map[string]string{
	"jpt_utama": "JPT_UTAMA", "jabatan_pimpinan_tinggi_utama": "JPT_UTAMA",
	"jpt_madya": "JPT_MADYA", "jabatan_pimpinan_tinggi_madya": "JPT_MADYA",
	"jpt_pratama": "JPT_PRATAMA", "jabatan_pimpinan_tinggi_pratama": "JPT_PRATAMA",
	"administrator": "ADMINISTRATOR", "jabatan_administrator": "ADMINISTRATOR",
	"pengawas": "PENGAWAS", "jabatan_pengawas": "PENGAWAS",
	"pelaksana": "PELAKSANA", "jabatan_pelaksana": "PELAKSANA", "jfu": "PELAKSANA",
	"jf": "JF", "fungsional": "JF", "jabatan_fungsional": "JF", "jft": "JF",
}
