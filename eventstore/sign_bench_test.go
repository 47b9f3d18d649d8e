package eventstore_test

import (
	"testing"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// BenchmarkSignHash is the writer's cost per append.
func BenchmarkSignHash(b *testing.B) {
	k := key(1)
	h := eventstore.Hash{1}
	for b.Loop() {
		if _, err := eventstore.SignHash(k, h); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify is a reader's cost per append the first time it sees
// its signature; BenchmarkVerifyRemembered the cost for the other feeds of
// the process.
func BenchmarkVerify(b *testing.B) {
	k := key(1)
	keys := eventstore.NewKeyring(k.Public())
	const n = 1024 // distinct hashes: nothing is remembered across them
	sigs := make([]eventstore.WriterSignature, n)
	for i := range sigs {
		sigs[i], _ = eventstore.SignHash(k, eventstore.Hash{byte(i), byte(i >> 8)})
	}
	i := 0
	for b.Loop() {
		if i == n {
			b.StopTimer()
			keys = eventstore.NewKeyring(k.Public())
			i = 0
			b.StartTimer()
		}
		if err := keys.Verify(eventstore.Hash{byte(i), byte(i >> 8)}, sigs[i]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkVerifyRemembered(b *testing.B) {
	k := key(1)
	keys := eventstore.NewKeyring(k.Public())
	sig, _ := eventstore.SignHash(k, eventstore.Hash{1})
	keys.Verify(eventstore.Hash{1}, sig)
	for b.Loop() {
		if err := keys.Verify(eventstore.Hash{1}, sig); err != nil {
			b.Fatal(err)
		}
	}
}
