package eventcodec

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// agree checks the fast decoder's one promise on data: it answers only
// where json.Unmarshal (the registry's decoder) gives the same value
// without error. It returns whether the fast decoder answered.
func agree(t interface {
	Helper()
	Fatalf(string, ...any)
}, typ string, data []byte) bool {
	t.Helper()
	f, ok := fastFor(typ, fastDecoders[typ].version)
	if !ok {
		t.Fatalf("%s: no fast decoder at version %d (the registry's latest moved?)", typ, fastDecoders[typ].version)
	}
	got, ok := f(data)
	want, err := registry.Decode(typ, fastDecoders[typ].version, data)
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("%s: the fast decoder answered %#v for %q, which encoding/json refuses: %v", typ, got, data, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: for %q the fast decoder gives\n%#v\nencoding/json\n%#v", typ, data, got, want)
	}
	return true
}

// genEvent draws a value of one of the fast-decoded types, with strings
// that need escapes or hold any rune, times in any zone, the optional
// members present or not.
func genEvent(t *rapid.T) domain.Event {
	str := func(label string) string {
		return rapid.OneOf(rapid.String(), rapid.StringMatching(`[A-Za-z0-9 .,-]{0,40}`), rapid.SampledFrom([]string{"", "<&>", "a\"b\\c\n", "Capaian 100%"})).Draw(t, label)
	}
	num := func(label string) float64 {
		f := rapid.OneOf(rapid.Float64(), rapid.Float64Range(0, 1e6), rapid.SampledFrom([]float64{0, 1, 2.5, 1e21, 1e-7, 123456789})).Draw(t, label)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0 // json.Marshal refuses them: never stored
		}
		return f
	}
	at := func(label string) time.Time {
		sec := rapid.Int64Range(0, 4102444800).Draw(t, label+"_s")
		ns := rapid.SampledFrom([]int64{0, 0, 500_000_000, 123_456_789}).Draw(t, label+"_ns")
		zone := rapid.SampledFrom([]*time.Location{time.UTC, time.FixedZone("WIB", 7*3600), time.FixedZone("", -3*3600-1800)}).Draw(t, label+"_z")
		return time.Unix(sec, ns).In(zone)
	}
	scores := func() skp.Scores {
		r := rapid.SampledFrom([]rating.Rating{rating.MeetsExpectation, rating.AboveExpectation, rating.BelowExpectation})
		return skp.Scores{WorkResult: r.Draw(t, "wr"), Behaviour: r.Draw(t, "bh"), Predikat: rapid.SampledFrom([]rating.Predikat{rating.Baik, rating.SangatBaik}).Draw(t, "pk")}
	}
	switch rapid.IntRange(0, 6).Draw(t, "type") {
	case 0:
		return skp.RealisationRecorded{RealisationID: str("id"), Period: str("period"), IndicatorID: str("ind"), RHKID: str("rhk"),
			SKPVersion: rapid.IntRange(-1<<40, 1<<40).Draw(t, "v"), Value: num("value"), Narrative: str("narrative")}
	case 1:
		e := skp.EvaluationIssued{Period: str("period"), Scores: scores(), DeliveredAt: at("delivered"), AppraiserNIP: str("nip"), PolicyVersion: str("pv")}
		if rapid.Bool().Draw(t, "deadline") {
			d := at("deadline")
			e.ObjectionDeadline = &d
		}
		return e
	case 2:
		return skp.RatingAssigned{Period: str("period"), Scores: scores(), Rationale: str("rationale"), AppraiserNIP: str("nip"), PolicyVersion: str("pv")}
	case 3:
		return skp.IndicatorAdded{IndicatorID: str("ind"), RHKID: str("rhk"), Aspect: skp.Aspect(str("aspect")), Text: str("text"),
			Target: skp.Target{Value: num("target"), Unit: str("unit")}, Direction: skp.Direction(str("direction"))}
	case 4:
		return skp.FeedbackGiven{FeedbackID: str("id"), About: skp.FeedbackAbout{RHKID: str("rhk"), IndicatorID: str("ind"), Behaviour: berakhlak.Value(str("bh"))},
			Text: str("text"), GiverNIP: str("giver"), Relationship: skp.Relationship(str("rel"))}
	case 5:
		return skp.EvidenceAttached{EvidenceID: str("id"), IndicatorID: str("ind"), RHKID: str("rhk"), URI: str("uri"), SHA256: str("sha"),
			Filename: str("file"), MediaType: str("media"), Size: rapid.Int64().Draw(t, "size")}
	default:
		return skp.RHKAdded{RHKID: str("rhk"), Text: str("text"), Kind: skp.RHKKind(str("kind")), IntervenedRHKID: str("irhk"),
			IntervenedSKPID: str("iskp"), PKRef: str("pk")}
	}
}

// TestFastDecodeAgreesWithReflection: what Encode writes of the fast types
// decodes without reflection to exactly what encoding/json decodes (and
// the fast decoder does answer: it is used); and for JSON not as Encode
// writes it (other spellings, repeats, unknown members, null, escapes,
// other numbers, malformed), it answers only with encoding/json's value.
func TestFastDecodeAgreesWithReflection(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := genEvent(t)
		typ, ver, data, err := Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		if ver != fastDecoders[typ].version {
			t.Fatalf("%s is encoded at version %d, its fast decoder reads %d", typ, ver, fastDecoders[typ].version)
		}
		if !agree(t, typ, data) {
			t.Fatalf("%s: the fast decoder declined what Encode wrote: %s", typ, data)
		}
		// Variants of the same JSON (of one value in four: they are many).
		if rapid.IntRange(0, 3).Draw(t, "variants") > 0 {
			return
		}
		for _, v := range variants(data) {
			agree(t, typ, v)
		}
	})
	// The golden files of the fast types' versions (and the older
	// versions' files, which are not read by the fast path: fastFor).
	for typ, f := range fastDecoders {
		for v := 1; v <= f.version; v++ {
			path := filepath.Join("testdata", typ+".json")
			if v > 1 {
				path = filepath.Join("testdata", typ+"@"+string(rune('0'+v))+".json")
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if v == f.version {
				agree(t, typ, data)
			} else if _, ok := fastFor(typ, v); ok {
				t.Errorf("%s: a fast decoder for the older version %d", typ, v)
			}
			for _, x := range variants(data) {
				agree(t, typ, x)
			}
		}
	}
}

// variants returns JSON derived from data: each member's name in other
// case, repeated, unknown, null, in white space, escaped, other numbers,
// truncated, with garbage after.
func variants(data []byte) [][]byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return nil
	}
	keys := slices.Sorted(maps.Keys(m))
	build := func(f func(k string, v json.RawMessage) string) []byte {
		var b bytes.Buffer
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(f(k, m[k]))
		}
		b.WriteByte('}')
		return b.Bytes()
	}
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	out := [][]byte{
		append(slices.Clone(data), ' ', '\n'),
		append(slices.Clone(data), '}'),
		append(slices.Clone(data), 'x'),
		data[:len(data)/2],
		[]byte("null"), []byte("{}"), []byte("[]"), []byte(""), []byte(" { } "),
		build(func(k string, v json.RawMessage) string { return " " + q(k) + " :\t" + string(v) + " " }),
	}
	for _, k := range keys {
		v := string(m[k])
		for _, x := range []func(kk string, vv json.RawMessage) string{
			func(kk string, vv json.RawMessage) string { // another case
				if kk == k {
					return q(string(bytes.ToUpper([]byte(kk)))) + ":" + string(vv)
				}
				return q(kk) + ":" + string(vv)
			},
			func(kk string, vv json.RawMessage) string { // repeated
				if kk == k {
					return q(kk) + ":" + string(vv) + "," + q(kk) + ":" + string(vv)
				}
				return q(kk) + ":" + string(vv)
			},
			func(kk string, vv json.RawMessage) string { // null
				if kk == k {
					return q(kk) + ":null"
				}
				return q(kk) + ":" + string(vv)
			},
			func(kk string, vv json.RawMessage) string { // an unknown member beside it
				if kk == k {
					return q(kk) + ":" + string(vv) + `,"zz_unknown":1`
				}
				return q(kk) + ":" + string(vv)
			},
			func(kk string, vv json.RawMessage) string { // the name escaped
				if kk == k {
					return `"\u00` + string("0123456789abcdef"[kk[0]>>4]) + string("0123456789abcdef"[kk[0]&15]) + kk[1:] + `":` + string(vv)
				}
				return q(kk) + ":" + string(vv)
			},
		} {
			out = append(out, build(x))
		}
		// Other values in the member's place.
		for _, nv := range []string{`"\u0041\n\"x\"\u00e9\ud83d\ude00"`, "\"\xff\xfe\"", `"` + "\t" + `"`, `1e2`, `1.0`, `-0`, `01`, `1.`, `-`, `12345678901234567890`,
			`1e400`, `true`, `[]`, `{}`, `{"value":1,"unit":"x"}`, `{"value":1,"value":2}`, `{"behaviour":"JUJUR"}`, `"2027-01-08T03:00:00Z"`,
			`"2027-01-08T03:00:00.5+07:00"`, `"2027-13-08T03:00:00Z"`, `"2027-01-08"`, `"2027-01-08T03:00:00\u005a"`, `""`, strings2(v)} {
			out = append(out, build(func(kk string, vv json.RawMessage) string {
				if kk == k {
					return q(kk) + ":" + nv
				}
				return q(kk) + ":" + string(vv)
			}))
		}
	}
	return out
}

// strings2 returns v with its first character repeated (a string one
// longer, a number ten times more): the value changed, the shape kept.
func strings2(v string) string {
	if len(v) < 2 {
		return v
	}
	return v[:2] + v[1:]
}

// FuzzFastDecode: for any bytes, the fast decoder of any type answers only
// with encoding/json's value. go test -fuzz FuzzFastDecode ./domain/eventcodec
func FuzzFastDecode(f *testing.F) {
	for typ := range fastDecoders {
		data, err := os.ReadFile(filepath.Join("testdata", typ+".json"))
		if err == nil {
			f.Add(typ, data)
		}
	}
	types := slices.Sorted(maps.Keys(fastDecoders))
	f.Fuzz(func(t *testing.T, typ string, data []byte) {
		if _, ok := fastDecoders[typ]; !ok {
			typ = types[len(typ)%len(types)]
		}
		agree(t, typ, data)
	})
}

// BenchmarkDecodeSeeded decodes JSON as the seeder stores it, each fast
// type once per op: fast (Decode) against reflection (the registry).
// go test -run '^$' -bench DecodeSeeded -benchmem ./domain/eventcodec
func BenchmarkDecodeSeeded(b *testing.B) {
	seeded := map[string]string{
		"skp.realisation_recorded.v1": `{"realisation_id":"0d0007c9-0002-85a9-8f00-2ccef5bf3cb6","period":"2025","indicator_id":"0c0006f8-0000-88a9-8f00-2ccef5bf3cb6","rhk_id":"0c0006f8-0000-86a9-8f00-2ccef5bf3cb6","skp_version":1,"value":2,"narrative":"Capaian kuantitas s.d. periode 2025 sesuai bukti dukung."}`,
		"skp.evaluation_issued.v1":    `{"period":"2025","work_result":"SESUAI_EKSPEKTASI","behaviour":"DI_ATAS_EKSPEKTASI","predikat":"BAIK","delivered_at":"2026-01-28T07:49:00Z","objection_deadline":"2026-02-11T16:59:59Z","appraiser_nip":"198109072008041659","policy_version":"PERMENPANRB_6_2022+SE_3_2023"}`,
		"skp.rating_assigned.v1":      `{"period":"2025","work_result":"SESUAI_EKSPEKTASI","behaviour":"SESUAI_EKSPEKTASI","predikat":"BAIK","rationale":"Capaian sesuai target yang disepakati dengan bukti dukung memadai.","appraiser_nip":"198510172010012595","policy_version":"PERMENPANRB_6_2022+SE_3_2023"}`,
		"skp.indicator_added.v1":      `{"indicator_id":"0c0006ca-0001-80a9-8f00-2ccef5bf3cb6","rhk_id":"0c0006ca-0000-8ea9-8f00-2ccef5bf3cb6","aspect":"KUANTITAS","text":"Jumlah kegiatan yang diselesaikan","target":{"value":9,"unit":"kegiatan"}}`,
		"skp.feedback_given.v1":       `{"feedback_id":"0d0007b7-0002-8ba9-8f00-2ccef5bf3cb6","about":{"behaviour":"HARMONIS"},"text":"Responsif dan teliti ketika menyiapkan bahan rapat.","giver_nip":"199307222020212398","relationship":"PEER"}`,
		"skp.evidence_attached.v1":    `{"evidence_id":"0d0007b9-0002-87a9-8f00-2ccef5bf3cb6","indicator_id":"0c0006e8-0000-8ca9-8f00-2ccef5bf3cb6","rhk_id":"0c0006e8-0000-88a9-8f00-2ccef5bf3cb6","uri":"https://arsip.brpkp.go.id/eviden/200209122024111193-2025/2025-f5bf3cb6.pdf","sha256":"64af601058672a079dcb06ab7fcdafd92fd36d8a28eac8a6e784083f7676d4f9","filename":"laporan-2025.pdf","media_type":"application/pdf","size":2085270}`,
		"skp.rhk_added.v1":            `{"rhk_id":"0c0006ca-0000-8ea9-8f00-2ccef5bf3cb6","text":"Terlaksananya tugas sebagai anggota tim reformasi birokrasi","kind":"TAMBAHAN"}`,
	}
	types := slices.Sorted(maps.Keys(seeded))
	for _, c := range []struct {
		name   string
		decode func(string, int, []byte) (domain.Event, error)
	}{{"fast", Decode}, {"reflection", registry.Decode}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				for _, typ := range types {
					if _, err := c.decode(typ, fastDecoders[typ].version, []byte(seeded[typ])); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
