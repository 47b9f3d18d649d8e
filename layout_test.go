package kinerja_test

// This test enforces the layout's dependency rules (docs/architecture.md),
// in the manner of tailscale's tstest/deptest: it asks `go list` what every
// package imports and fails on any edge the layout forbids.

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/kinerja-ledger/kinerja"

type pkg struct {
	ImportPath string
	Name       string
	Dir        string
	Imports    []string
	Deps       []string
	GoFiles    []string
	Doc        string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps=false", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 3 {
		t.Fatalf("go list found %d packages", len(pkgs))
	}
	return pkgs
}

func rel(path string) string { return strings.TrimPrefix(strings.TrimPrefix(path, module), "/") }

func under(path, dir string) bool {
	r := rel(path)
	return r == dir || strings.HasPrefix(r, dir+"/")
}

func TestDependencyRules(t *testing.T) {
	for _, p := range listPackages(t) {
		name := rel(p.ImportPath)
		var project []string
		for _, d := range p.Deps {
			if strings.HasPrefix(d, module+"/") {
				project = append(project, rel(d))
			}
		}
		switch {
		case under(p.ImportPath, "domain"):
			for _, d := range project {
				if !strings.HasPrefix(d, "domain") {
					t.Errorf("%s depends on %s: domain imports nothing of the project outside domain/", name, d)
				}
			}
			for _, imp := range p.Imports {
				if forbiddenInDomain(imp) {
					t.Errorf("%s imports %s: the domain does no I/O and has no clock or randomness of its own", name, imp)
				}
			}
		case under(p.ImportPath, "eventstore"):
			for _, d := range project {
				if !strings.HasPrefix(d, "eventstore") {
					t.Errorf("%s depends on %s: the event store knows bytes, names and metadata only", name, d)
				}
			}
		case under(p.ImportPath, "projections"):
			for _, d := range project {
				if strings.HasPrefix(d, "adapters") || strings.HasPrefix(d, "cmd") {
					t.Errorf("%s depends on %s: projections declare the stores they need; adapters implement them", name, d)
				}
			}
		case under(p.ImportPath, "adapters"):
			own := strings.SplitN(name, "/", 3)[1]
			for _, d := range project {
				if strings.HasPrefix(d, "adapters/") && !strings.HasPrefix(d, "adapters/internal") {
					other := strings.SplitN(d, "/", 3)[1]
					switch {
					case other == own:
					case other == "app" && own != "app":
						// The application layer, which the edges (httpapi,
						// web) translate for; it imports no adapter itself.
					default:
						t.Errorf("%s depends on %s: adapters never import each other (the edges share adapters/app)", name, d)
					}
				}
				if strings.HasPrefix(d, "cmd") {
					t.Errorf("%s depends on %s", name, d)
				}
			}
			if feat, ok := webFeature(name); ok {
				for _, d := range project {
					if other, ok := webFeature(d); ok && other != feat {
						t.Errorf("%s depends on %s: a dashboard feature never imports another (share through web/page, web/form, web/i18n or adapters/app)", name, d)
					}
				}
			}
		}
		for _, d := range project {
			if strings.HasPrefix(d, "cmd") && !under(p.ImportPath, "cmd") {
				t.Errorf("%s depends on %s: nothing imports a command", name, d)
			}
		}
		switch p.Name {
		case "util", "utils", "common", "helpers", "models", "types", "misc":
			t.Errorf("%s: package named %q says nothing about what it provides", name, p.Name)
		}
	}
}

// webFeature returns the feature of a package under adapters/web/feature.
func webFeature(rel string) (string, bool) {
	rest, ok := strings.CutPrefix(rel, "adapters/web/feature/")
	if !ok {
		return "", false
	}
	return strings.SplitN(rest, "/", 2)[0], true
}

func forbiddenInDomain(imp string) bool {
	switch imp {
	case "os", "os/exec", "os/signal", "syscall", "io/ioutil", "io/fs", "log", "log/slog",
		"math/rand", "math/rand/v2", "crypto/rand", "net/http", "unsafe", "embed", "plugin":
		return true
	}
	for _, p := range []string{"net", "database/", "github.com/jackc/", "go.etcd.io/", "github.com/ThreeDotsLabs/", "github.com/EventStore/", "github.com/gorilla/"} {
		if imp == p || strings.HasPrefix(imp, p+"/") || (strings.HasSuffix(p, "/") && strings.HasPrefix(imp, p)) {
			return true
		}
	}
	return false
}

// TestSourceRules checks what go list cannot see: the domain never reads the
// clock or makes random IDs itself, no init() registries or blank imports of
// project packages, and only commands, tests and test-helper packages
// (named *test, such as storetest) read the environment.
func TestSourceRules(t *testing.T) {
	fset := token.NewFileSet()
	for _, p := range listPackages(t) {
		name := rel(p.ImportPath)
		for _, f := range p.GoFiles {
			path := filepath.Join(p.Dir, f)
			file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range file.Imports {
				if imp.Name != nil && imp.Name.Name == "_" && strings.Contains(imp.Path.Value, module) {
					t.Errorf("%s: blank import of %s: wire explicitly in cmd", path, imp.Path.Value)
				}
			}
			ast.Inspect(file, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.FuncDecl:
					if n.Name.Name == "init" && n.Recv == nil {
						t.Errorf("%s: func init(): no init registries; wire explicitly in cmd", fset.Position(n.Pos()))
					}
				case *ast.SelectorExpr:
					x, ok := n.X.(*ast.Ident)
					if !ok {
						return true
					}
					call := x.Name + "." + n.Sel.Name
					if under(p.ImportPath, "domain") && slices.Contains([]string{"time.Now", "time.Since", "time.Until", "uuid.New", "uuid.NewString", "uuid.NewRandom", "uuid.NewV7"}, call) {
						t.Errorf("%s: %s in the domain: the clock and IDs are injected", fset.Position(n.Pos()), call)
					}
					if !under(p.ImportPath, "cmd") && !strings.HasSuffix(p.Name, "test") && (call == "os.Getenv" || call == "os.LookupEnv" || call == "os.Environ") {
						t.Errorf("%s: %s outside cmd: configuration is parsed in cmd only", fset.Position(n.Pos()), call)
					}
				}
				return true
			})
		}
		checkDocComments(t, fset, p)
		if p.Doc == "" && len(p.GoFiles) > 0 {
			t.Errorf("%s has no package comment", name)
		}
	}
}

// wellKnown methods implement standard interfaces; their meaning is the
// interface's.
var wellKnown = []string{"Error", "String", "Is", "Unwrap", "As", "MarshalJSON", "UnmarshalJSON", "MarshalText", "UnmarshalText", "ServeHTTP", "Format", "GoString", "Len", "Less", "Swap"}

// checkDocComments requires a doc comment starting with the identifier's
// name on every exported top-level function, method, type, and ungrouped
// constant or variable (a group may share one comment), as house rule 12
// asks.
func checkDocComments(t *testing.T, fset *token.FileSet, p pkg) {
	t.Helper()
	if p.Name == "main" {
		return
	}
	for _, f := range p.GoFiles {
		file, err := parser.ParseFile(fset, filepath.Join(p.Dir, f), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		check := func(pos token.Pos, name string, doc *ast.CommentGroup) {
			if !ast.IsExported(name) {
				return
			}
			if doc == nil || !strings.HasPrefix(strings.TrimSpace(doc.Text()), name) {
				t.Errorf("%s: exported %s needs a doc comment that starts with its name", fset.Position(pos), name)
			}
		}
		for _, d := range file.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv != nil {
					if slices.Contains(wellKnown, d.Name.Name) || !exportedRecv(d.Recv) {
						continue
					}
				}
				check(d.Pos(), d.Name.Name, d.Doc)
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch sp := spec.(type) {
					case *ast.TypeSpec:
						doc := sp.Doc
						if doc == nil && len(d.Specs) == 1 {
							doc = d.Doc
						}
						check(sp.Pos(), sp.Name.Name, doc)
					case *ast.ValueSpec:
						if d.Lparen.IsValid() && d.Doc != nil {
							continue // a documented group
						}
						doc := sp.Doc
						if doc == nil {
							doc = d.Doc
						}
						for _, n := range sp.Names {
							if ast.IsExported(n.Name) && !(d.Lparen.IsValid() && sp.Comment != nil) {
								check(n.Pos(), n.Name, doc)
							}
						}
					}
				}
			}
		}
	}
}

func exportedRecv(r *ast.FieldList) bool {
	if len(r.List) == 0 {
		return false
	}
	typ := r.List[0].Type
	if st, ok := typ.(*ast.StarExpr); ok {
		typ = st.X
	}
	if ix, ok := typ.(*ast.IndexExpr); ok {
		typ = ix.X
	}
	id, ok := typ.(*ast.Ident)
	return ok && ast.IsExported(id.Name)
}

// edge reports whether rel is a package of an edge that acts for people
// (the API, the dashboard) or the application layer between them and the
// domain: none decides access itself; each asks domain/authz (through the
// application layer or a domain service). Token parsing (jwtauth, authkey)
// names roles to read them, and the dashboard's words (web/i18n) to
// translate them, not to decide.
func edge(rel string) bool {
	if rel == "adapters/web/i18n" {
		return false
	}
	return rel == "adapters/httpapi" || rel == "adapters/app" || rel == "adapters/web" || strings.HasPrefix(rel, "adapters/web/")
}

// roleNames are the token roles and relationship roles of the ledger.
var roleNames = []string{"HR_ADMIN", "AUDITOR", "HR_ANALYST", "GRIEVANCE_CLERK", "NATIONAL_ANALYST", "NATIONAL_AUDITOR",
	"APPRAISER_SUPERIOR", "UNIT_LEADER"}

// TestEdgesDoNotDecideAccess fails when an edge package compares roles
// itself: it names a role (domain.Role…, a role's name in a string, a
// template), asks a principal Has, or builds an authz refusal of its own.
// Every access decision lives in domain/authz.
func TestEdgesDoNotDecideAccess(t *testing.T) {
	fset := token.NewFileSet()
	checked := 0
	for _, p := range listPackages(t) {
		name := rel(p.ImportPath)
		if !edge(name) {
			continue
		}
		checked++
		for _, f := range p.GoFiles {
			path := filepath.Join(p.Dir, f)
			file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.SelectorExpr:
					if x, ok := n.X.(*ast.Ident); ok && x.Name == "domain" && strings.HasPrefix(n.Sel.Name, "Role") {
						t.Errorf("%s: %s.%s in an edge: ask domain/authz (an Action) instead of comparing roles", fset.Position(n.Pos()), x.Name, n.Sel.Name)
					}
				case *ast.CallExpr:
					if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Has" && len(n.Args) == 1 {
						if id, ok := sel.X.(*ast.Ident); !ok || !strings.Contains(strings.ToLower(id.Name), "form") && !strings.Contains(strings.ToLower(id.Name), "query") && !strings.Contains(strings.ToLower(id.Name), "values") {
							t.Errorf("%s: Has(…) in an edge: if it asks a principal for a role, ask domain/authz instead", fset.Position(n.Pos()))
						}
					}
				case *ast.CompositeLit:
					if sel, ok := n.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Denied" {
						t.Errorf("%s: an edge builds its own authz.Denied: the refusal is authz.Decide's", fset.Position(n.Pos()))
					}
				case *ast.BasicLit:
					if n.Kind == token.STRING {
						for _, r := range roleNames {
							if strings.Contains(n.Value, r) {
								t.Errorf("%s: the role %s named in an edge: ask domain/authz instead", fset.Position(n.Pos()), r)
							}
						}
					}
				}
				return true
			})
		}
		entries, _ := filepath.Glob(filepath.Join(p.Dir, "*.html"))
		more, _ := filepath.Glob(filepath.Join(p.Dir, "templates", "*.html"))
		for _, f := range append(entries, more...) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range roleNames {
				if strings.Contains(string(b), `"`+r+`"`) {
					t.Errorf("%s: the template names the role %s: the page struct says what the caller may do (authz)", f, r)
				}
			}
		}
	}
	if checked < 5 {
		t.Fatalf("checked %d edge packages, the package list is wrong", checked)
	}
}

// TestDomainAsksAuthzForTokenRoles fails when a domain package other than
// authz asks a principal for a token role itself (p.Has(domain.Role…)):
// who holds which act is an authz.Action, so that the rule has one place
// and its test row (issue 9: the SKP issuer's clerk check).
func TestDomainAsksAuthzForTokenRoles(t *testing.T) {
	fset := token.NewFileSet()
	for _, p := range listPackages(t) {
		name := rel(p.ImportPath)
		if !strings.HasPrefix(name, "domain/") || name == "domain/authz" {
			continue
		}
		for _, f := range p.GoFiles {
			path := filepath.Join(p.Dir, f)
			file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) != 1 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "Has" {
					return true
				}
				if arg, ok := call.Args[0].(*ast.SelectorExpr); ok && strings.HasPrefix(arg.Sel.Name, "Role") {
					t.Errorf("%s: Has(%s) in %s: ask domain/authz (an Action) instead", fset.Position(n.Pos()), arg.Sel.Name, name)
				}
				return true
			})
		}
	}
}
