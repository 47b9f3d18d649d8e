package readmodeltest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/nip"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/projections/directory"
)

// searchPeople are the employees testSearch registers: accents, case,
// white space, a control character, names that fold alike (ordered by
// NIP), in a unit tree ROOT > DINKES > PUSK and ROOT > BAPPEDA.
var searchPeople = []struct{ nip, name, unit, kind string }{
	{"198001012005011001", "José Ramírez", "DINKES", "PELAKSANA"},
	{"198101012006012002", "JOSEPHINE   Sitorus", "PUSK", "JF"},
	{"199001012015011003", "Andi Pratama", "BAPPEDA", "PELAKSANA"},
	{"198501012010011004", "andi pratama", "DINKES", "ADMINISTRATOR"},
	{"198601012011012005", "Ándí Wijaya", "PUSK", "PELAKSANA"},
	{"198701012012011006", "Budi\x00Santoso\uffff", "ROOT", "JPT_PRATAMA"},
	{"199101012016012007", "Siti Nurhaliza", "PUSK", "JF"},
	{"199201012017011008", "Çahya Ülfa", "BAPPEDA", "JF"},
	{"198001022005011009", "Dewi Lestari", "DINKES", "PELAKSANA"},
}

// testSearch holds both backends' directory.Searcher to the reference
// (directory.SearchQuery.Matches and directory.SearchLess), page by page.
func testSearch(t *testing.T, cfg Config) {
	g := &synth{revs: map[string]uint64{}, at: time.Date(2026, 1, 2, 1, 0, 0, 0, time.UTC)}
	for _, u := range [][2]string{{"ROOT", ""}, {"DINKES", "ROOT"}, {"BAPPEDA", "ROOT"}, {"PUSK", "DINKES"}} {
		g.ev(domain.UnitStream(u[0]), hrAdmin, "HR_ADMIN", orgunit.Registered{UnitID: u[0], Name: "Unit " + u[0], ParentID: u[1]})
	}
	var all []directory.Employee
	for _, p := range searchPeople {
		g.ev(domain.EmployeeStream(p.nip), hrAdmin, "HR_ADMIN", employee.Registered{NIP: p.nip, ASNType: nip.PNS, Name: p.name,
			UnitID: p.unit, Position: employee.Position{Kind: employee.PositionKind(p.kind), Title: p.kind}})
		all = append(all, directory.Employee{NIP: p.nip, Name: p.name, UnitID: p.unit, PositionKind: p.kind})
	}
	b := cfg.Open(t, NewSyntheticHistory(g.out))
	ProjectInto(t, b.Sink(t, directory.Name), g.out, 4)
	s, ok := b.Directory.(directory.Searcher)
	if !ok {
		t.Fatalf("%T is no directory.Searcher", b.Directory)
	}
	nips := func(es []directory.Employee) []string {
		return ids(es, func(e directory.Employee) string { return e.NIP })
	}
	cases := []struct {
		name string
		q    directory.SearchQuery
		want []string // nil: no hand-written expectation
	}{
		{"everyone, by folded name then NIP", directory.SearchQuery{},
			[]string{"198501012010011004", "199001012015011003", "198601012011012005", "198701012012011006", "199201012017011008",
				"198001022005011009", "198001012005011001", "198101012006012002", "199101012016012007"}},
		{"accent- and case-insensitive substring", directory.SearchQuery{Name: "JOSE"}, []string{"198001012005011001", "198101012006012002"}},
		{"accents in the query fold too", directory.SearchQuery{Name: "rámirez"}, []string{"198001012005011001"}},
		{"white space folds", directory.SearchQuery{Name: "josephine sito"}, []string{"198101012006012002"}},
		{"prefix", directory.SearchQuery{Name: "andi", NamePrefix: true}, []string{"198501012010011004", "199001012015011003", "198601012011012005"}},
		{"prefix is not substring", directory.SearchQuery{Name: "pratama", NamePrefix: true}, []string{}},
		{"substring", directory.SearchQuery{Name: "pratama"}, []string{"198501012010011004", "199001012015011003"}},
		{"controls do not count", directory.SearchQuery{Name: "budisantoso"}, []string{"198701012012011006"}},
		{"NIP prefix", directory.SearchQuery{NIPPrefix: "1980"}, []string{"198001022005011009", "198001012005011001"}},
		{"units", directory.SearchQuery{Units: []string{"DINKES", "PUSK"}, Kind: "JF"}, []string{"198101012006012002", "199101012016012007"}},
		{"no units", directory.SearchQuery{Units: []string{}}, []string{}},
		{"kind", directory.SearchQuery{Kind: "PELAKSANA", Name: "a"}, nil},
		{"nothing", directory.SearchQuery{Name: "zzz"}, []string{}},
		{"LIKE metacharacters are literal", directory.SearchQuery{Name: "%"}, []string{}},
		{"LIKE metacharacters in a prefix", directory.SearchQuery{Name: "_", NamePrefix: true}, []string{}},
		// The holders of SKPs of a status (app.SKPFilter) are passed as NIPs;
		// those without one left out as NotNIPs.
		{"NIPs", directory.SearchQuery{NIPs: []string{"199101012016012007", "198001012005011001", "100000000000000000"}},
			[]string{"198001012005011001", "199101012016012007"}},
		{"no NIPs", directory.SearchQuery{NIPs: []string{}}, []string{}},
		{"NIPs and units", directory.SearchQuery{NIPs: []string{"199101012016012007", "198001012005011001"}, Units: []string{"PUSK"}},
			[]string{"199101012016012007"}},
		{"not NIPs", directory.SearchQuery{Name: "andi", NotNIPs: []string{"198501012010011004", "198601012011012005"}},
			[]string{"199001012015011003"}},
		{"NIPs and not NIPs", directory.SearchQuery{NIPs: []string{"198001012005011001", "198001022005011009"}, NotNIPs: []string{"198001012005011001"}},
			[]string{"198001022005011009"}},
	}
	for _, c := range cases {
		var ref []directory.Employee
		for _, e := range all {
			if c.q.Matches(e) {
				ref = append(ref, e)
			}
		}
		slices.SortFunc(ref, directory.SearchLess)
		if c.want != nil {
			diff(t, c.name+": reference", c.want, append([]string{}, nips(ref)...))
		}
		for _, limit := range []int{1, 2, 50} {
			q := c.q
			q.Limit = limit
			var got []directory.Employee
			for pages := 0; ; pages++ {
				if pages > len(all) {
					t.Fatalf("%s (limit %d): the cursor never ends", c.name, limit)
				}
				page, next, err := s.Search(bg, q)
				if err != nil {
					t.Fatalf("%s (limit %d): %v", c.name, limit, err)
				}
				if len(page) > limit || page == nil {
					t.Fatalf("%s (limit %d): page of %d (nil %v)", c.name, limit, len(page), page == nil)
				}
				got = append(got, page...)
				if next == "" {
					break
				}
				q.Cursor = next
			}
			diff(t, c.name+": pages", append([]string{}, nips(ref)...), append([]string{}, nips(got)...))
		}
	}
	full, _, err := s.Search(bg, directory.SearchQuery{NIPPrefix: "198001012005011001"})
	if err != nil || len(full) != 1 {
		t.Fatalf("Search(one NIP) = %v, %v", full, err)
	}
	if want, _ := b.Directory.Employee(bg, "198001012005011001"); !slices.Equal([]directory.Employee{want}, full) {
		t.Errorf("Search returns %+v, Employee %+v", full[0], want)
	}
	if _, _, err := s.Search(bg, directory.SearchQuery{Cursor: "no separator"}); !errors.Is(err, directory.ErrBadCursor) {
		t.Errorf("Search(bad cursor) error = %v, want ErrBadCursor", err)
	}
}

// BenchSearch measures directory.Searcher over an agency of 2,000
// employees (40 units under one root, names from a list of Indonesian
// first and family names, some accented) on the backend open returns.
func BenchSearch(b *testing.B, open OpenFunc) {
	g := &synth{revs: map[string]uint64{}, at: time.Date(2026, 1, 2, 1, 0, 0, 0, time.UTC)}
	g.ev(domain.UnitStream("ROOT"), hrAdmin, "HR_ADMIN", orgunit.Registered{UnitID: "ROOT", Name: "Pemerintah Daerah"})
	for u := range 40 {
		id := fmt.Sprintf("U%02d", u)
		g.ev(domain.UnitStream(id), hrAdmin, "HR_ADMIN", orgunit.Registered{UnitID: id, Name: "Unit " + id, ParentID: "ROOT"})
	}
	first := []string{"Andi", "Budi", "Citra", "Dewi", "Eko", "Fitri", "Gita", "Hendra", "Indah", "José", "Kartika", "Lestari", "Made", "Nyoman", "Putri", "Rina", "Siti", "Tri", "Wayan", "Yuni"}
	family := []string{"Santoso", "Wibowo", "Gunawan", "Hartono", "Marlina", "Rahmawati", "Saputra", "Hidayat", "Nugroho", "Pratama", "Ramírez", "Siregar", "Nasution", "Lubis", "Sitorus", "Simanjuntak", "Halim", "Kusuma", "Wijaya", "Setiawan"}
	kinds := employee.PositionKinds()
	for i := range 2000 {
		n := fmt.Sprintf("19%02d%02d%02d2010%02d%d%03d", 70+i%25, 1+i%12, 1+i%28, 1+i%12, 1+i%2, i%1000)
		name := first[i%len(first)] + " " + family[(i/len(first))%len(family)]
		if i >= 400 {
			name += fmt.Sprintf(" %d", i)
		}
		k := kinds[i%len(kinds)]
		g.ev(domain.EmployeeStream(n), hrAdmin, "HR_ADMIN", employee.Registered{NIP: n, ASNType: nip.PNS, Name: name,
			UnitID: fmt.Sprintf("U%02d", i%40), Position: employee.Position{Kind: k, Title: string(k)}})
	}
	be := open(b, NewSyntheticHistory(g.out))
	ProjectInto(b, be.Sink(b, directory.Name), g.out, 500)
	s := be.Directory.(directory.Searcher)
	units := []string{"U01", "U02", "U03", "U04", "U05"}
	for _, c := range []struct {
		name string
		q    directory.SearchQuery
	}{
		{"first_page_all", directory.SearchQuery{}},
		{"name_prefix", directory.SearchQuery{Name: "siti", NamePrefix: true}},
		{"name_substring", directory.SearchQuery{Name: "ramirez"}},
		{"nip_prefix", directory.SearchQuery{NIPPrefix: "1975"}},
		{"units_and_kind", directory.SearchQuery{Units: units, Kind: "JF"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := s.Search(bg, c.q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
