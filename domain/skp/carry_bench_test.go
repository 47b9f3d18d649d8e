package skp_test

import (
	"testing"

	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// BenchmarkGiveFeedback is one mutation's domain path (load, decide,
// append, on the in-memory log): the appraiser's feedback on an
// established SKP of 10 to 42 events (a seeded SKP has about 35), with
// and without a Carry (kinerjad carries since issue 15, branch mutcpu2).
// Every 32 commands start on a fresh fixture (untimed), so the stream
// stays that short.
func BenchmarkGiveFeedback(b *testing.B) {
	for _, c := range []struct {
		name  string
		carry bool
	}{{"replay", false}, {"carry", true}} {
		b.Run(c.name, func(b *testing.B) {
			var f *fixture
			b.ReportAllocs()
			for i := range b.N {
				if i%32 == 0 {
					b.StopTimer()
					f = newFixture(b)
					if c.carry {
						f.skps.Carry = skp.NewCarry(0)
					}
					b.StartTimer()
				}
				if _, _, err := f.skps.GiveFeedback(f.ctx, f.req(nipS), skp.GiveFeedback{SKPID: f.skpA, Text: "Laporan triwulan tepat waktu dan lengkap"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
