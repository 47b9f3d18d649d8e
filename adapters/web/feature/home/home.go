// Package home is the dashboard's start page: the caller's SKPs (or every
// SKP, for the roles that see them all) of a year, paginated and sortable
// (page.Paginate), the unit tree for the report roles (collapsible, with
// each unit's counts of employees and of SKPs by status), and links to the
// registers the caller may open. (The inbox of what waits for the caller
// is feature inbox, in the navigation.)
//
// The year defaults to the latest year with an SKP the caller may see
// (app.LatestYear), not the calendar's: an agency whose data ends last
// year opens on it. A switch (a GET form) chooses another.
package home

import (
	"cmp"
	"embed"
	"net/http"
	"strconv"
	"strings"
	"unsafe"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/web/page"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/reports"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

//go:embed *.html
var files embed.FS

// Feature is the start page.
type Feature struct {
	site *page.Site
	home *page.Template[*Home]
}

// keptList is a caller's SKP list of a year as the start page lists it
// (at most maxListed, Cut when there were more), with what it was read
// at (keptAt), and its sort orders. The lists are kept in the site's
// page.Kept (bounded by bytes with the unit pages', least recently used
// evicted) by caller (ID, roles, agency) and year while keptAt stands:
// an HR caller's list at a province is 20,000 SKPs (maxListed), 40
// queries and a sort on every view before.
type keptList struct {
	at     keptAt
	all    []skps.Summary
	cut    bool
	orders page.Orders
}

// keptAt is what a kept list was read at: the directory's and the SKPs'
// read-model versions (page.Site.Version, which move with any agency
// group) and the business date (who may see which SKP follows the
// directory, and a move into the caller's agency counts from its
// effective date: app.App's moved-in SKPs).
type keptAt struct {
	dir, skps int64
	today     string
}

// summaryBytes estimates a kept skps.Summary: the struct and its strings
// (IDs, a NIP, a name, a unit, a status, two NIPs).
const summaryBytes = int64(unsafe.Sizeof(skps.Summary{})) + 200

// New returns the feature on site.
func New(site *page.Site) *Feature {
	return &Feature{site: site, home: page.MustParse[*Home](site, files, "home.html", messages)}
}

// Routes registers the start page.
func (f *Feature) Routes(r *page.Router) {
	r.Page("GET /{$}", f.show)
}

// pageSize is the number of SKPs a page of the list shows.
const pageSize = 50

// maxListed bounds the SKPs of a year the list sorts (a page of the
// read model at a time); beyond it the list says it is cut.
const maxListed = 20000

// skpList is the SKP list of the start page.
var skpList = page.ListSpec{Name: "skp", Size: pageSize, Sorts: []string{"id", "name", "unit", "status", "late"}}

var skpOrder = map[string]func(a, b skps.Summary) int{
	"id": func(a, b skps.Summary) int { return strings.Compare(a.ID, b.ID) },
	"name": func(a, b skps.Summary) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	},
	"unit": func(a, b skps.Summary) int {
		return cmp.Or(strings.Compare(a.UnitID, b.UnitID), strings.Compare(a.ID, b.ID))
	},
	"status": func(a, b skps.Summary) int {
		return cmp.Or(strings.Compare(a.Status, b.Status), strings.Compare(a.ID, b.ID))
	},
	"late": func(a, b skps.Summary) int {
		return cmp.Or(cmp.Compare(b2i(a.Late), b2i(b.Late)), strings.Compare(a.ID, b.ID))
	},
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Home is the start page's model.
type Home struct {
	page.Base
	// Tree is the unit tree, the roots first, for the report roles.
	Tree []*UnitNode
	// SKPs are the page of the year's SKPs the caller may see.
	SKPs []skps.Summary
	// SKPNav is the SKP list's navigation.
	SKPNav page.ListNav
	// Cut is true when the year has more SKPs than the list holds.
	Cut bool
	// SeesAll is true when SKPs are every SKP, not only the caller's.
	SeesAll bool
	// Reports, Register and Audit say which links the caller is offered.
	Reports, Register, Audit bool
	// Year is the year shown; Years those the switch offers.
	Year  int
	Years []int
	// MasterData: the caller manages master data (HR): the page links to
	// the master data and to the "register an official" form.
	MasterData bool
	// Waiting and Overdue count the caller's inbox (feature inbox).
	Waiting, Overdue int
	// Employee is true when the caller is a registered employee: the page
	// links to their history and to drafting an SKP.
	Employee bool
}

// UnitNode is a unit of the tree with its counts for the year (of the unit
// and every unit below it) and its sub-units.
type UnitNode struct {
	ID, Name string
	Depth    int
	// Counts are the unit's subtree's (reports.Progress).
	Counts reports.ProgressCounts
	// Statuses are the non-zero SKP counts by status, in the order of
	// reports.Statuses.
	Statuses []StatusCount
	Children []*UnitNode
	// Hidden counts the units below this one that the tree leaves out
	// (maxTreeUnits): the node links to its unit page instead.
	Hidden int
}

// maxTreeUnits bounds the units the home page's tree draws. An agency of
// a few hundred units shows whole; a province (10,449 units in the seeded
// one) drew every unit, 3–4 MB of HTML, over the 300 KB page budget. The
// tree is cut at the deepest level at which it still holds at most this
// many units (the root's level and the next are always shown); a unit
// with units below the cut says how many, with a link to its unit page,
// whose progress table pages through its sub-units.
const maxTreeUnits = 400

// StatusCount is the number of SKPs of a status.
type StatusCount struct {
	Status string
	Count  int
}

func (f *Feature) show(w http.ResponseWriter, r *page.Request) error {
	ctx := r.Context()
	a := r.App()
	d := &Home{Base: r.Base("home", "home.title"), SeesAll: r.Can(authz.ListAllSKPs), Reports: r.Can(authz.ReadReports),
		Register: r.Can(authz.ReadObjectionRegister), Audit: r.Can(authz.ReadAudit),
		MasterData: r.Can(authz.ManageMasterData)}
	year, err := page.YearParam(r)
	if err != nil {
		return err
	}
	if year == 0 {
		if year, err = a.LatestYear(ctx, r.User); err != nil {
			return err
		}
	}
	d.Year = year
	d.Years = page.YearOptions(a.Today().Year(), year)
	if d.Reports {
		if d.Tree, err = f.tree(r, year); err != nil {
			return err
		}
	}
	list, err := f.list(r, year)
	if err != nil {
		return err
	}
	d.Cut = list.cut
	if d.SKPs, d.SKPNav, err = page.PaginateKept(r, skpList, list.all, skpOrder, &list.orders, strconv.Itoa(year)); err != nil {
		return err
	}
	waiting, err := a.Inbox(ctx, r.User, "")
	if err != nil {
		return err
	}
	for _, it := range waiting {
		d.Waiting++
		if it.Overdue {
			d.Overdue++
		}
	}
	d.Names = f.site.Names(ctx, r.User.ID)
	d.Employee = d.Names[r.User.ID] != ""
	return f.home.Render(w, http.StatusOK, d)
}

// list returns the caller's SKPs of year (at most maxListed), kept while
// the directory's and the SKPs' positions stand (who may see which SKP
// follows the directory: agencies, reporting lines).
func (f *Feature) list(r *page.Request, year int) (*keptList, error) {
	ctx := r.Context()
	a := r.App()
	at := keptAt{f.site.Version(ctx, directory.Name), f.site.Version(ctx, skps.Name), a.Today().String()}
	key := ""
	if at.dir >= 0 && at.skps >= 0 {
		roles := make([]string, len(r.User.Roles))
		for i, x := range r.User.Roles {
			roles[i] = string(x)
		}
		key = strings.Join([]string{"home", r.User.ID, strings.Join(roles, ","), r.User.Agency, strconv.Itoa(year)}, "\x00")
		if v, ok := f.site.Kept().Get(key); ok {
			if l, ok := v.(*keptList); ok && l.at == at {
				return l, nil
			}
		}
	}
	l := &keptList{at: at}
	for q := (skps.Query{Year: year, Limit: 500}); ; {
		got, next, err := a.ListSKPs(ctx, r.User, q)
		if err != nil {
			return nil, err
		}
		l.all = append(l.all, got...)
		if next == "" {
			break
		}
		if len(l.all) >= maxListed {
			l.cut = true
			break
		}
		q.Cursor = next
	}
	if key != "" {
		f.site.Kept().Put(key, l, page.KeptSize(len(l.all), summaryBytes, len(skpList.Sorts)))
	}
	return l, nil
}

// tree builds the unit tree with each unit's progress counts for year
// from the progress report of each root unit (the application layer's,
// cached).
func (f *Feature) tree(r *page.Request, year int) ([]*UnitNode, error) {
	ctx := r.Context()
	a := r.App()
	// The caller's roots are the agencies they reach (every root for the
	// national roles): reading, sorting and nesting every unit to find
	// them was most of the page's CPU at a province (10,449 units).
	agencies, err := a.Agencies(ctx)
	if err != nil {
		return nil, err
	}
	reach := app.ReachOf(r.User)
	var roots []*UnitNode
	for _, id := range agencies {
		if !reach.All && id != reach.Agency {
			continue
		}
		rep, err := a.Progress(ctx, r.User, id, year)
		if err != nil {
			return nil, err
		}
		roots = append(roots, buildTree(rep.Data.Units, maxTreeUnits)...)
	}
	return roots, nil
}

// buildTree nests the units of a progress report (depth first, with
// their depths; one root at depth 0) into the tree the page draws, cut
// at treeDepth(units, limit): the units below the cut are left out and
// counted on their ancestor at the cut (Hidden).
func buildTree(units []reports.UnitProgress, limit int) []*UnitNode {
	var roots []*UnitNode
	cut := treeDepth(units, limit)
	var stack []*UnitNode
	for _, u := range units {
		if u.Depth > cut {
			// Below the cut: counted on the nearest shown ancestor (the
			// last shown unit at the cut's depth, depth first).
			for i := len(stack) - 1; i >= 0; i-- {
				if stack[i].Depth == cut {
					stack[i].Hidden++
					break
				}
			}
			continue
		}
		n := &UnitNode{ID: u.UnitID, Name: u.Name, Depth: u.Depth, Counts: u.Subtree}
		for _, s := range reports.Statuses() {
			if c := u.Subtree.ByStatus[s]; c > 0 {
				n.Statuses = append(n.Statuses, StatusCount{s, c})
			}
		}
		for len(stack) > 0 && stack[len(stack)-1].Depth >= n.Depth {
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 {
			roots = append(roots, n)
		} else {
			p := stack[len(stack)-1]
			p.Children = append(p.Children, n)
		}
		stack = append(stack, n)
	}
	return roots
}

// treeDepth is the deepest depth at which the units of a progress report
// (depth first, with their depths) number at most limit, counting every
// shallower one; never less than 1.
func treeDepth(units []reports.UnitProgress, limit int) int {
	per := map[int]int{}
	deepest := 0
	for _, u := range units {
		per[u.Depth]++
		deepest = max(deepest, u.Depth)
	}
	cut, total := 0, 0
	for d := 0; d <= deepest; d++ {
		total += per[d]
		if total > limit {
			break
		}
		cut = d
	}
	return max(cut, 1)
}

// NodeArg is what the recursive "unit-node" template gets: the page (for
// its words and year) and a node.
type NodeArg struct {
	Home *Home
	Node *UnitNode
}

// NodeArg pairs the page with n for the "unit-node" template.
func (h *Home) NodeArg(n *UnitNode) NodeArg { return NodeArg{h, n} }
