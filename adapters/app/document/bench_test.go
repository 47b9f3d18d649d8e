package document

import (
	"context"
	"os/exec"
	"testing"
)

// BenchmarkRender prints the SKP and an evaluation (two layout passes,
// signing, the QR code); docs/benchmarks.md has the figures.
func BenchmarkRender(b *testing.B) {
	key := testKey(&testing.T{}, 1)
	for _, per := range []string{"", "2026-Q1"} {
		in := testInput()
		in.Period = per
		name := "skp"
		if per != "" {
			name = "evaluation"
		}
		b.Run(name, func(b *testing.B) {
			var size int
			for b.Loop() {
				d, err := Render(in, key)
				if err != nil {
					b.Fatal(err)
				}
				size = len(d.PDF)
			}
			b.ReportMetric(float64(size), "bytes/pdf")
		})
	}
}

// BenchmarkVerify is the offline check: pdftotext and the hash.
func BenchmarkVerify(b *testing.B) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		b.Skip("pdftotext not installed")
	}
	key := testKey(&testing.T{}, 1)
	d, err := Render(testInput(), key)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		text, err := ExtractText(context.Background(), d.PDF)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Check(text, d.Code, key.Verifier()); err != nil {
			b.Fatal(err)
		}
	}
}
