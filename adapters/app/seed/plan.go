package seed

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/rating"
)

// Unit levels. The agency is a non-ministerial agency: its head (JPT Utama)
// and the heads of its deputies (JPT Madya) are appraised by the President
// and the head of the agency, and the domain needs a registered appraiser
// and a different registered superior for every reporting line, so the
// first SKPs of the ledger are those of the JPT Pratama one level further
// down; their RHK cite the Perjanjian Kinerja (pk_ref), and every other
// UTAMA RHK cascades from the RHK of the appraiser's established SKP.
const (
	levelRoot      = 0 // Badan: Kepala (JPT_UTAMA)
	levelDeputy    = 1 // Sekretariat Utama, Deputi: JPT_MADYA
	levelDirectory = 2 // Biro, Direktorat: JPT_PRATAMA
	levelDivision  = 3 // Bagian, Subdirektorat: ADMINISTRATOR
	levelSection   = 4 // Subbagian, Seksi: PENGAWAS
	levels         = 5
)

// Planning tiers: an SKP of tier k cascades from one of tier k-1, so each
// tier is planned after the one above is established.
const (
	tierDirectory = iota // JPT Pratama (pk_ref)
	tierDivision         // Administrator
	tierSection          // Pengawas
	tierStaff            // PELAKSANA and JF
	tiers
)

type unit struct {
	idx      int
	id, name string
	topic    string // what the unit works on, for plans
	level    int
	parent   int // -1 for the root
	children []int
	head     int // person index
	staff    []int
	// predikat is the organisation predikat per period index (the
	// periodic periods, then the year); initial, when not empty, is a
	// first value that a corrected one (predikat) replaced.
	predikat []rating.OrgPredikat
	initial  []rating.OrgPredikat
}

// objectionKind is how an objection to an annual evaluation goes.
type objectionKind int

const (
	noObjection       objectionKind = iota
	objUpheld                       // filed by the employee, decided UPHELD
	objChangedByClerk               // a paper filing recorded by the clerk, decided CHANGED
	objWithdrawn                    // withdrawn after the explanations were requested
	objChanged                      // filed by the employee, decided CHANGED
	objUpheldByClerk                // recorded by the clerk, decided UPHELD
	objOpen                         // explanations given, not decided yet
)

// objectionCycle is the order in which objection kinds are handed out, so
// that a handful of objections already shows every kind.
var objectionCycle = []objectionKind{objUpheld, objChangedByClerk, objWithdrawn, objChanged, objUpheldByClerk, objOpen}

func (k objectionKind) byClerk() bool { return k == objChangedByClerk || k == objUpheldByClerk }

type person struct {
	idx       int
	nip       string
	name      string
	female    bool
	pppk      bool
	unit      int
	pos       employee.Position
	head      bool
	appraiser int // -1 when the appraiser is outside the ledger
	superior  int
	tier      int // -1: no SKP in the ledger
	roles     []string

	// Choices about the SKP, made for the whole population at once.
	late        bool   // established after the deadline
	returned    bool   // returned once for revision
	pendingLink bool   // drafted before the appraiser's SKP was established
	onBehalf    bool   // drafted by HR_ADMIN
	incomplete  string // "DRAFT" or "SUBMITTED": never established
	revise      bool   // annual rating revised before issue
	perf        float64
	behaviour   rating.Rating
	objection   objectionKind // chosen after the annual ratings
	finalise    bool          // finality recorded after the window
	bias        int           // as an appraiser: +1 lenient, -1 severe (Config.BiasedAppraisers)
}

// agency is the generated organisation.
type agency struct {
	name, code string
	units      []*unit
	people     []*person
	hr, clerk  int // person indices
	byTier     [tiers][]int
	byLevel    [levels][]int // unit indices
}

// unitCounts returns how many units each level has for n employees: about
// thirteen people per section, three and a half sections per division, four
// divisions per directorate, six directorates per deputy (at most eight
// deputies).
func unitCounts(n int) [levels]int {
	var c [levels]int
	c[levelSection] = max(1, int(math.Round(float64(n)/13)))
	c[levelDivision] = max(1, ceilDiv(c[levelSection]*2, 7))
	c[levelDirectory] = max(1, ceilDiv(c[levelDivision], 4))
	c[levelDeputy] = min(8, max(1, ceilDiv(c[levelDirectory], 6)))
	c[levelRoot] = 1
	return c
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// newAgency builds the organisation: units, people with their NIPs and
// posts, reporting lines and the choices that shape each SKP.
func newAgency(cfg Config, rng *rand.Rand, periods int) *agency {
	a := &agency{}
	ag := agencies[rng.IntN(len(agencies))]
	a.name, a.code = ag.name, ag.code
	if cfg.AgencyCode != "" {
		a.name, a.code = ag.name+" "+cfg.AgencyCode, cfg.AgencyCode
	}
	a.buildUnits(rng, unitCounts(cfg.Employees), periods)
	a.buildPeople(cfg, rng)
	a.choose(cfg, rng)
	return a
}

func (a *agency) buildUnits(rng *rand.Rand, counts [levels]int, periods int) {
	root := &unit{idx: 0, id: a.code, name: a.name, topic: "layanan " + strings.ToLower(a.name), level: levelRoot, parent: -1}
	a.units = append(a.units, root)
	a.byLevel[levelRoot] = []int{0}
	for lv := levelDeputy; lv < levels; lv++ {
		parents := a.byLevel[lv-1]
		// One child for every parent in order (so the first units form the
		// Sekretariat Utama → Biro SDM → Bagian → Subbagian chain), the rest
		// anywhere.
		owner := make([]int, counts[lv])
		for i := range owner {
			if i < len(parents) {
				owner[i] = parents[i]
			} else {
				owner[i] = parents[rng.IntN(len(parents))]
			}
		}
		slices.Sort(owner) // children numbered in their parent's order
		for _, p := range owner {
			u := &unit{idx: len(a.units), level: lv, parent: p}
			a.units[p].children = append(a.units[p].children, u.idx)
			a.units = append(a.units, u)
			a.byLevel[lv] = append(a.byLevel[lv], u.idx)
		}
	}
	for _, lv := range []int{levelDeputy, levelDirectory, levelDivision, levelSection} {
		for _, p := range a.byLevel[lv-1] {
			a.nameChildren(rng, a.units[p])
		}
	}
	for _, u := range a.units {
		u.predikat = make([]rating.OrgPredikat, periods+1)
		u.initial = make([]rating.OrgPredikat, periods+1)
		base := orgPredikat(rng)
		for i := range u.predikat {
			if rng.IntN(3) == 0 {
				u.predikat[i] = orgPredikat(rng)
			} else {
				u.predikat[i] = base
			}
			if first := orgPredikat(rng); rng.IntN(40) == 0 && first != u.predikat[i] {
				u.initial[i] = first
			}
		}
	}
}

// orgPredikat draws an organisation predikat: mostly BAIK.
func orgPredikat(rng *rand.Rand) rating.OrgPredikat {
	switch r := rng.IntN(100); {
	case r < 18:
		return rating.Istimewa
	case r < 80:
		return rating.OrgBaik
	case r < 94:
		return rating.OrgButuhPerbaikan
	case r < 99:
		return rating.OrgKurang
	default:
		return rating.OrgSangatKurang
	}
}

// nameChildren names the children of p and gives them their ids
// ({parent id}.{nn}).
func (a *agency) nameChildren(rng *rand.Rand, p *unit) {
	var names []string
	secretariat := a.inSecretariat(p)
	switch {
	case p.level == levelRoot:
		names = append([]string{"Sekretariat Utama"}, shuffled(rng, deputyFields)...)
	case p.level == levelDeputy && secretariat:
		names = append([]string{bureaus[0]}, shuffled(rng, bureaus[1:])...)
	default:
		names = shuffled(rng, topics)
		if t, ok := firstTopics[p.level+1]; ok && a.firstChain(p) {
			names = append([]string{t}, names...)
		}
	}
	for i, c := range p.children {
		u := a.units[c]
		u.id = fmt.Sprintf("%s.%02d", p.id, i+1)
		base := names[i%len(names)]
		if n := i / len(names); n > 0 {
			base += " " + roman(n+1)
		}
		u.topic = strings.ToLower(base)
		switch {
		case u.level == levelDeputy && i == 0:
			u.name, u.topic = base, "administrasi dan dukungan manajemen"
		case u.level == levelDeputy:
			u.name = "Deputi Bidang " + base
		case u.level == levelDirectory && secretariat:
			u.name = "Biro " + base
		case u.level == levelDirectory:
			u.name = "Direktorat " + base
		case u.level == levelDivision && secretariat:
			u.name = "Bagian " + base
		case u.level == levelDivision:
			u.name = "Subdirektorat " + base
		case u.level == levelSection && secretariat:
			u.name = "Subbagian " + base
		default:
			u.name = "Seksi " + base
		}
	}
}

// inSecretariat reports whether u is the Sekretariat Utama or below it.
func (a *agency) inSecretariat(u *unit) bool {
	for u.level > levelDeputy {
		u = a.units[u.parent]
	}
	return u.level == levelDeputy && a.units[0].children[0] == u.idx
}

// firstChain reports whether u is on the chain of first children from the
// root (Sekretariat Utama → Biro SDM → …).
func (a *agency) firstChain(u *unit) bool {
	for u.parent >= 0 {
		if a.units[u.parent].children[0] != u.idx {
			return false
		}
		u = a.units[u.parent]
	}
	return true
}

func shuffled(rng *rand.Rand, list []string) []string {
	out := slices.Clone(list)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// buildPeople creates the heads of every unit and the staff, in unit order
// (head first), with unique NIPs.
func (a *agency) buildPeople(cfg Config, rng *rand.Rand) {
	heads := len(a.units)
	staff := cfg.Employees - heads
	sections, divisions := a.byLevel[levelSection], a.byLevel[levelDivision]
	home := make([]int, staff) // unit index of each staff member
	for i := range home {
		switch {
		case i < 2: // the HR administrator and the clerk, in Subbagian Administrasi Kepegawaian
			home[i] = sections[0]
		case i-1 < len(sections): // at least one in every section
			home[i] = sections[i-1]
		case rng.IntN(10) == 0: // functional staff directly under a division
			home[i] = pick(rng, divisions)
		default:
			home[i] = pick(rng, sections)
		}
	}
	slices.SortStableFunc(home, func(x, y int) int { return x - y })
	for i, u := range home {
		a.units[u].staff = append(a.units[u].staff, i) // staff number, replaced below
	}
	used := map[string]bool{}
	if cfg.TakenNIPs != nil {
		used = cfg.TakenNIPs // shared with the other runs on the store
	}
	for _, u := range a.units {
		u.head = a.newPerson(cfg, rng, u, true, used)
		for i := range u.staff {
			u.staff[i] = a.newPerson(cfg, rng, u, false, used)
		}
	}
	a.hr, a.clerk = a.units[sections[0]].staff[0], a.units[sections[0]].staff[1]
	a.people[a.hr].roles = []string{"HR_ADMIN"}
	a.people[a.clerk].roles = []string{"GRIEVANCE_CLERK"}
	a.people[a.hr].pos = employee.Position{Kind: employee.JF, Title: "Analis Sumber Daya Manusia Aparatur Ahli Muda"}
	a.people[a.clerk].pos = employee.Position{Kind: employee.Pelaksana, Title: "Pengolah Data Kepegawaian"}
	// Reporting lines: the appraiser is the head of the unit (of the unit
	// above, for a head), the superior the head one level further up.
	for _, p := range a.people {
		u := a.units[p.unit]
		p.appraiser, p.superior, p.tier = -1, -1, -1
		switch {
		case !p.head:
			p.appraiser, p.superior = u.head, a.units[u.parent].head
			p.tier = tierStaff
		case u.level >= levelDirectory:
			up := a.units[u.parent]
			p.appraiser, p.superior = up.head, a.units[up.parent].head
			p.tier = u.level - levelDirectory
		}
		if p.tier >= 0 {
			a.byTier[p.tier] = append(a.byTier[p.tier], p.idx)
		}
	}
}

// seniority of posts for ages, names and degrees.
var seniority = [levels]int{4, 3, 3, 2, 1}

// newPerson creates one person in unit u and returns its index.
func (a *agency) newPerson(cfg Config, rng *rand.Rand, u *unit, head bool, used map[string]bool) int {
	p := &person{idx: len(a.people), unit: u.idx, head: head, female: rng.IntN(100) < 47}
	year := cfg.Year
	var born, youngest, oldest int
	level := 0
	if head {
		level = seniority[u.level]
		// Heads are 40–57 years old; seniors older.
		youngest, oldest = 36+3*level, 44+3*level
	} else {
		youngest, oldest = 23, 56
		p.pppk = rng.IntN(100) < 15
	}
	born = year - youngest - rng.IntN(oldest-youngest+1)
	birth := time.Date(born, time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
	sex := 1
	if p.female {
		sex = 2
	}
	for {
		var digits string
		if p.pppk {
			// NI PPPK: birth, first appointment year (PPPK since 2019), 2,
			// number of contracts, sex, serial.
			first := max(2019, born+21) + rng.IntN(3)
			first = min(first, year-1)
			contracts := 1
			if r := rng.IntN(100); r < 25 {
				contracts = 2
			} else if r < 30 {
				contracts = 3
			}
			digits = fmt.Sprintf("%s%04d2%d%d%03d", birth.Format("20060102"), first, contracts, sex, 1+rng.IntN(999))
		} else {
			// NIP: birth, TMT CPNS (year and month, aged 21–33, not after
			// the year before the SKP year), sex, serial.
			tmtYear := min(born+21+rng.IntN(13), year-1)
			tmtMonth := 1 + rng.IntN(12)
			if tmtYear == born+21 {
				tmtMonth = max(tmtMonth, int(birth.Month())) // at least 21 full years
			}
			digits = fmt.Sprintf("%s%04d%02d%d%03d", birth.Format("20060102"), tmtYear, tmtMonth, sex, 1+rng.IntN(999))
		}
		if !used[digits] {
			used[digits] = true
			p.nip = digits
			break
		}
	}
	p.name = personName(rng, p.female, level)
	p.pos = a.post(rng, u, head)
	a.people = append(a.people, p)
	return p.idx
}

// post returns the post of a head of u, or of a staff member of u.
func (a *agency) post(rng *rand.Rand, u *unit, head bool) employee.Position {
	if !head {
		if rng.IntN(100) < 45 {
			return employee.Position{Kind: employee.JF, Title: pick(rng, jfPosts) + " " + pick(rng, jfTiers)}
		}
		return employee.Position{Kind: employee.Pelaksana, Title: pick(rng, pelaksanaPosts)}
	}
	switch u.level {
	case levelRoot:
		return employee.Position{Kind: employee.JPTUtama, Title: "Kepala " + u.name}
	case levelDeputy:
		if u.name == "Sekretariat Utama" {
			return employee.Position{Kind: employee.JPTMadya, Title: "Sekretaris Utama"}
		}
		return employee.Position{Kind: employee.JPTMadya, Title: u.name}
	case levelDirectory:
		if strings.HasPrefix(u.name, "Direktorat ") {
			return employee.Position{Kind: employee.JPTPratama, Title: "Direktur " + strings.TrimPrefix(u.name, "Direktorat ")}
		}
		return employee.Position{Kind: employee.JPTPratama, Title: "Kepala " + u.name}
	case levelDivision:
		return employee.Position{Kind: employee.Administrator, Title: "Kepala " + u.name}
	default:
		return employee.Position{Kind: employee.Pengawas, Title: "Kepala " + u.name}
	}
}

// choose makes the choices that shape each SKP, for the whole population,
// so that every kind appears even in a small agency.
func (a *agency) choose(cfg Config, rng *rand.Rand) {
	for _, p := range a.people {
		p.perf = 1 + 0.085*rng.NormFloat64()
		above := 8 // behaviour above expectation goes with good results
		if p.perf > 1.05 {
			above = 55
		}
		switch r := rng.IntN(100); {
		case r < above:
			p.behaviour = rating.AboveExpectation
		case r < 97:
			p.behaviour = rating.MeetsExpectation
		default:
			p.behaviour = rating.BelowExpectation
		}
	}
	staff := slices.Clone(a.byTier[tierStaff])
	rng.Shuffle(len(staff), func(i, j int) { staff[i], staff[j] = staff[j], staff[i] })
	// Take disjoint slices of the shuffled staff for the exclusive choices.
	take := func(share float64, least int) []int {
		n := count(share, len(a.byTier[tierStaff]), least)
		n = min(n, len(staff))
		out := staff[:n]
		staff = staff[n:]
		return out
	}
	for i, x := range take(cfg.Incomplete, 2) {
		if x == a.hr || x == a.clerk {
			continue
		}
		a.people[x].incomplete = []string{"DRAFT", "SUBMITTED"}[i%2]
	}
	for _, x := range take(cfg.Late, 1) {
		a.people[x].late = true
	}
	for _, x := range take(cfg.Returned, 1) {
		a.people[x].returned = true
	}
	for _, x := range take(0.1, 1) {
		a.people[x].pendingLink = true
	}
	for _, x := range take(0.03, 1) {
		a.people[x].onBehalf = true
	}
	// A few sections are late as a whole: their head establishes after the
	// deadline, and the staff, who cascade from the head, follow.
	if cfg.Late > 0 {
		for _, x := range a.byTier[tierSection] {
			if rng.Float64() < cfg.Late/3 {
				a.people[x].late = true
			}
		}
	}
	all := slices.Concat(a.byTier[:]...)
	for _, x := range all {
		if a.people[x].incomplete == "" && rng.Float64() < cfg.Revisions {
			a.people[x].revise = true
		}
	}
	if cfg.Revisions > 0 && len(all) > 0 {
		a.people[all[rng.IntN(len(all))]].revise = true
		a.people[a.byTier[tierStaff][0]].revise = true
	}
}

// count is share of n, rounded, and at least least when share > 0.
func count(share float64, n, least int) int {
	if share <= 0 || n == 0 {
		return 0
	}
	return min(n, max(least, int(math.Round(share*float64(n)))))
}

// byNIP returns the person indices xs (all people when nil) in NIP order.
func (a *agency) byNIP(xs []int) []int {
	if xs == nil {
		xs = make([]int, len(a.people))
		for i := range xs {
			xs[i] = i
		}
	}
	out := slices.Clone(xs)
	slices.SortFunc(out, func(x, y int) int { return strings.Compare(a.people[x].nip, a.people[y].nip) })
	return out
}
