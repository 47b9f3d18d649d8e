package page

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"slices"
	"strconv"
	"sync"

	"github.com/kinerja-ledger/kinerja/adapters/app"
)

// Lists of a page (the SKPs of the start page, the tables of a unit page)
// are paginated and sortable without JavaScript: the column headers are
// links that sort by the column (again: the other way), and "previous" and
// "next" are links to the neighbouring pages. A list's state is in three
// query parameters named after it: NAME_sort (a column key), NAME_dir
// ("desc" or nothing) and NAME_at, a sealed cursor that holds where the
// page starts. The cursor is sealed as the API's are (adapters/httpapi):
// a checksum over the position, the list, its sort, the caller and the
// page's filters, so that an edited cursor, or one of another list, sort,
// filter or caller, is refused (400) instead of starting anywhere.
// Several lists of one page keep each other's state.

// ListSpec describes a list of a page.
type ListSpec struct {
	// Name prefixes the list's query parameters; it is also the id of
	// the element the links jump back to (#Name).
	Name string
	// Size is the number of rows a page shows.
	Size int
	// Sorts are the columns it sorts by, the default first.
	Sorts []string
}

// ListNav is a page of a list: where it is and the links around it.
type ListNav struct {
	spec ListSpec
	// Sort is the column sorted by; Desc whether the other way.
	Sort string
	Desc bool
	// From and To number the rows shown (from 1); Total the rows of the
	// list.
	From, To, Total int
	// PrevURL and NextURL are the neighbouring pages ("" at an end).
	PrevURL, NextURL string
	base             url.Values
	path             string
}

// SortURL is the address that sorts the list by key: ascending, or
// descending when it is already sorted by key ascending. It starts again
// at the first page.
func (n ListNav) SortURL(key string) string {
	q := cloneValues(n.base)
	q.Del(n.spec.Name + "_at")
	q.Set(n.spec.Name+"_sort", key)
	q.Del(n.spec.Name + "_dir")
	if key == n.Sort && !n.Desc {
		q.Set(n.spec.Name+"_dir", "desc")
	}
	return n.path + "?" + q.Encode() + "#" + n.spec.Name
}

// AriaSort is the aria-sort value of key's column header ("ascending",
// "descending", or "" when the list is not sorted by it).
func (n ListNav) AriaSort(key string) string {
	switch {
	case key != n.Sort:
		return ""
	case n.Desc:
		return "descending"
	default:
		return "ascending"
	}
}

// Paged says whether the list has more than one page.
func (n ListNav) Paged() bool { return n.PrevURL != "" || n.NextURL != "" }

// Name is the list's name (the id its links jump to).
func (n ListNav) Name() string { return n.spec.Name }

// Paginate sorts items by the list's sort (cmp holds a comparison for each
// of spec.Sorts; ties keep the order of items) and returns the page the
// request asks for with its navigation. scope names what the list shows
// (the page's filters: a unit, a year): a cursor issued for another scope
// is refused. A bad sort, direction or cursor is a *ParamError.
func Paginate[T any](r *Request, spec ListSpec, items []T, cmp map[string]func(a, b T) int, scope ...string) ([]T, ListNav, error) {
	return paginate(r, spec, items, cmp, nil, scope)
}

// Orders keeps the sort orders of one list that does not change (a list a
// feature keeps across requests while the read models stand still), so
// that each order is sorted once: sorting a province's 100,000 SKPs took
// longer than the rest of its unit page. The zero value is ready; keep it
// with the list, and never use it for another.
type Orders struct {
	mu sync.Mutex
	m  map[string][]int32
}

// PaginateKept is Paginate over a list that does not change, whose sort
// orders o keeps.
func PaginateKept[T any](r *Request, spec ListSpec, items []T, cmp map[string]func(a, b T) int, o *Orders, scope ...string) ([]T, ListNav, error) {
	return paginate(r, spec, items, cmp, o, scope)
}

func paginate[T any](r *Request, spec ListSpec, items []T, cmp map[string]func(a, b T) int, o *Orders, scope []string) ([]T, ListNav, error) {
	q := r.URL.Query()
	n := ListNav{spec: spec, Sort: spec.Sorts[0], Total: len(items), path: r.URL.Path}
	if s := q.Get(spec.Name + "_sort"); s != "" {
		if !slices.Contains(spec.Sorts, s) || cmp[s] == nil {
			return nil, n, BadParam("error.sort", truncate(s, 20))
		}
		n.Sort = s
	}
	switch q.Get(spec.Name + "_dir") {
	case "":
	case "desc":
		n.Desc = true
	default:
		return nil, n, BadParam("error.sort", truncate(q.Get(spec.Name+"_dir"), 20))
	}
	full := append([]string{spec.Name, n.Sort, strconv.FormatBool(n.Desc), r.User.ID}, scope...)
	at := 0
	if c := q.Get(spec.Name + "_at"); c != "" {
		v, ok := openListCursor(c, full)
		if !ok || v < 0 || v%max(spec.Size, 1) != 0 {
			return nil, n, BadParam("error.cursor", truncate(c, 20))
		}
		at = v
	}
	if at >= len(items) && at > 0 {
		// The list shrank since the link was made: the last page.
		at = (len(items) - 1) / spec.Size * spec.Size
	}
	// The rows are sorted as a permutation of indexes (ties by index:
	// the stable order) and only the page's rows are copied: the rows of
	// a whole-agency list are large structs, and moving them in a stable
	// sort cost more than the rest of the page (TestPageBudget profiles).
	order := sortOrder(items, cmp[n.Sort], n.Sort, n.Desc, o)
	end := min(at+spec.Size, len(items))
	n.From, n.To = at+1, end
	if len(items) == 0 {
		n.From = 0
	}
	q.Del("lang")
	n.base = q
	link := func(pos int) string {
		l := cloneValues(q)
		if pos == 0 {
			l.Del(spec.Name + "_at")
		} else {
			l.Set(spec.Name+"_at", sealListCursor(pos, full))
		}
		return r.URL.Path + "?" + l.Encode() + "#" + spec.Name
	}
	if at > 0 {
		n.PrevURL = link(max(at-spec.Size, 0))
	}
	if end < len(items) {
		n.NextURL = link(end)
	}
	out := make([]T, 0, max(end-at, 0))
	for _, i := range order[max(at, 0):max(end, at, 0)] {
		out = append(out, items[i])
	}
	return out, n, nil
}

// sortOrder returns the permutation of items sorted by f (descending if
// desc; ties by index), from o when it has it.
func sortOrder[T any](items []T, f func(a, b T) int, sort string, desc bool, o *Orders) []int32 {
	key := sort + "\x00" + strconv.FormatBool(desc)
	if o != nil {
		o.mu.Lock()
		order, ok := o.m[key]
		o.mu.Unlock()
		if ok && len(order) == len(items) {
			return order
		}
	}
	order := make([]int32, len(items))
	for i := range order {
		order[i] = int32(i)
	}
	if f != nil {
		slices.SortFunc(order, func(i, j int32) int {
			c := f(items[i], items[j])
			if desc {
				c = -c
			}
			if c != 0 {
				return c
			}
			return int(i - j)
		})
	}
	if o != nil {
		o.mu.Lock()
		if o.m == nil {
			o.m = map[string][]int32{}
		}
		o.m[key] = order
		o.mu.Unlock()
	}
	return order
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// listSumLen is how many bytes of the checksum a list cursor carries.
const listSumLen = 9

// sealListCursor returns the cursor of position pos of the list scope.
func sealListCursor(pos int, scope []string) string {
	inner := strconv.Itoa(pos)
	s := listSum(inner, scope)
	return base64.RawURLEncoding.EncodeToString(append(s[:listSumLen:listSumLen], inner...))
}

// openListCursor returns the position in c, a cursor sealListCursor issued
// for scope.
func openListCursor(c string, scope []string) (int, bool) {
	if len(c) > 64 {
		return 0, false
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) <= listSumLen {
		return 0, false
	}
	inner := string(b[listSumLen:])
	if s := listSum(inner, scope); !bytes.Equal(s[:listSumLen], b[:listSumLen]) {
		return 0, false
	}
	pos, err := strconv.Atoi(inner)
	return pos, err == nil
}

func listSum(inner string, scope []string) [32]byte {
	var out [32]byte
	hex.Decode(out[:], []byte(app.Fingerprint(append([]string{"kinerja/web-list/v1", inner}, scope...)...)))
	return out
}

// SealCursor seals a read model's cursor for the web page of scope (the
// caller and the filters), as the API seals its own: a cursor that was
// edited, or issued for another query or caller, does not open.
func SealCursor(inner string, scope ...string) string {
	s := listSum(inner, append([]string{"read-model"}, scope...))
	return base64.RawURLEncoding.EncodeToString(append(s[:listSumLen:listSumLen], inner...))
}

// OpenCursor returns the read model's cursor inside c ("" for ""), or a
// *ParamError when c is not one SealCursor issued for scope.
func OpenCursor(c string, scope ...string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) <= listSumLen || len(c) > 1024 {
		return "", BadParam("error.cursor", truncate(c, 20))
	}
	inner := string(b[listSumLen:])
	if s := listSum(inner, append([]string{"read-model"}, scope...)); !bytes.Equal(s[:listSumLen], b[:listSumLen]) {
		return "", BadParam("error.cursor", truncate(c, 20))
	}
	return inner, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// PagerView is what the "pager" partial of the layout shows of a list:
// its navigation and the words for it in the page's language.
type PagerView struct {
	Nav                ListNav
	Label              string
	Range              string
	PrevText, NextText string
}

// Pager returns the view of n for the "pager" partial:
// {{template "pager" ($.Pager .Nav)}}.
func (b *Base) Pager(n ListNav) PagerView {
	return PagerView{Nav: n, Label: b.T("list.pages"),
		Range:    b.Int(n.From) + "–" + b.Int(n.To) + " " + b.T("list.of") + " " + b.Int(n.Total),
		PrevText: b.T("list.prev"), NextText: b.T("list.next")}
}

// SortHeadView is what the "sorth" partial shows: a column header that
// sorts its list.
type SortHeadView struct {
	Nav        ListNav
	Key, Label string
}

// SortHead returns the view of the header of column key of n, labelled
// with the message labelKey: {{template "sorth" ($.SortHead .Nav "name"
// "col.employee")}}.
func (b *Base) SortHead(n ListNav, key, labelKey string) SortHeadView {
	return SortHeadView{Nav: n, Key: key, Label: b.T(labelKey)}
}
