package imports_test

import (
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/app/imports"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
)

// Parse and Check take any bytes without panicking, and every problem they
// report has its code and both messages.
func FuzzParse(f *testing.F) {
	f.Add([]byte(units))
	f.Add([]byte(employees("")))
	f.Add([]byte("sep=,\nNIP,Nama,Jenis Jabatan,Nama Jabatan,ID Unit\n1.97E+17,=1+1,JF,x,BKD\n"))
	f.Add([]byte("\xff\xfeN\x00I\x00P\x00"))
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte("NIP;Nama\n\"a;b\n"))
	today := calendar.MustNew(2026, time.December, 6)
	f.Fuzz(func(t *testing.T, data []byte) {
		tables, probs := imports.Parse(data, imports.Limits{MaxBytes: 1 << 20, MaxRows: 1000})
		if len(probs) > 0 && len(tables) > 0 {
			t.Fatalf("tables and problems at once: %v", probs)
		}
		if len(probs) == 0 {
			probs = imports.Check(tables, today).Refused
		}
		for _, p := range probs {
			if p.Code == "" || p.ID == "" || p.EN == "" {
				t.Fatalf("incomplete problem %+v", p)
			}
		}
	})
}
