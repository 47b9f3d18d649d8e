package orgunit

import (
	"fmt"
	"slices"
)

// Tree is the organisation tree, for projections and checks that need more
// than one unit (a unit with its sub-units; the leader one level up).
type Tree struct {
	parent   map[string]string
	children map[string][]string
}

// BuildTree builds the tree from registrations in any order. It fails on a
// duplicate id, a parent that is not among the units, or a cycle.
func BuildTree(units []Registered) (*Tree, error) {
	t := &Tree{parent: map[string]string{}, children: map[string][]string{}}
	for _, u := range units {
		if _, dup := t.parent[u.UnitID]; dup {
			return nil, fmt.Errorf("unit %s registered twice", u.UnitID)
		}
		t.parent[u.UnitID] = u.ParentID
	}
	for _, u := range units {
		if u.ParentID == "" {
			continue
		}
		if _, ok := t.parent[u.ParentID]; !ok {
			return nil, fmt.Errorf("unit %s: parent %s does not exist", u.UnitID, u.ParentID)
		}
		t.children[u.ParentID] = append(t.children[u.ParentID], u.UnitID)
	}
	for id := range t.parent {
		seen := map[string]bool{}
		for cur := id; cur != ""; cur = t.parent[cur] {
			if seen[cur] {
				return nil, fmt.Errorf("unit %s: cycle through %s", id, cur)
			}
			seen[cur] = true
		}
	}
	for k := range t.children {
		slices.Sort(t.children[k])
	}
	return t, nil
}

// Has reports whether id is in the tree.
func (t *Tree) Has(id string) bool { _, ok := t.parent[id]; return ok }

// Parent returns the parent of id ("" for a root).
func (t *Tree) Parent(id string) string { return t.parent[id] }

// Children returns the units directly below id, sorted.
func (t *Tree) Children(id string) []string { return slices.Clone(t.children[id]) }

// Subtree returns id and every unit below it, depth first in sorted order.
func (t *Tree) Subtree(id string) []string {
	if !t.Has(id) {
		return nil
	}
	out := []string{id}
	for _, c := range t.children[id] {
		out = append(out, t.Subtree(c)...)
	}
	return out
}

// Ancestors returns the units above id, nearest first.
func (t *Tree) Ancestors(id string) []string {
	var out []string
	for cur := t.parent[id]; cur != ""; cur = t.parent[cur] {
		out = append(out, cur)
	}
	return out
}
