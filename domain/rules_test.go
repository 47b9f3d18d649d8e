package domain_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// sourcePackages parses every non-test Go file under domain/, by directory.
func sourcePackages(t *testing.T) map[string][]*ast.File {
	t.Helper()
	fset := token.NewFileSet()
	pkgs := map[string][]*ast.File{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		pkgs[filepath.Dir(path)] = append(pkgs[filepath.Dir(path)], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// TestPackageDocs: every package has exactly one package comment, and every
// exported identifier a doc comment (types, functions and methods starting
// with their name; constants and variables may share their group's).
func TestPackageDocs(t *testing.T) {
	for dir, files := range sourcePackages(t) {
		docs := 0
		for _, f := range files {
			if f.Doc != nil {
				docs++
			}
		}
		if docs != 1 {
			t.Errorf("package %s has %d package comments, want 1", dir, docs)
		}
		for _, f := range files {
			for _, decl := range f.Decls {
				checkDecl(t, dir, decl)
			}
		}
	}
}

func checkDecl(t *testing.T, dir string, decl ast.Decl) {
	switch d := decl.(type) {
	case *ast.FuncDecl:
		if !d.Name.IsExported() || (d.Recv != nil && !receiverExported(d.Recv)) {
			return
		}
		startsWith(t, dir, d.Name.Name, d.Doc)
	case *ast.GenDecl:
		for _, spec := range d.Specs {
			switch s := spec.(type) {
			case *ast.TypeSpec:
				if !s.Name.IsExported() {
					continue
				}
				doc := s.Doc
				if doc == nil && len(d.Specs) == 1 {
					doc = d.Doc
				}
				startsWith(t, dir, s.Name.Name, doc)
				if st, ok := s.Type.(*ast.StructType); ok {
					checkFields(t, dir, s.Name.Name, st)
				}
			case *ast.ValueSpec:
				for _, n := range s.Names {
					if n.IsExported() && s.Doc == nil && s.Comment == nil && d.Doc == nil {
						t.Errorf("%s: %s has no doc comment", dir, n.Name)
					}
				}
			}
		}
	}
}

// checkFields requires a comment on every exported field of an exported
// struct (a comment may cover the fields that follow it on the next lines,
// as in "EventID and Revision locate the event").
func checkFields(t *testing.T, dir, typ string, st *ast.StructType) {
	covered := false
	for _, f := range st.Fields.List {
		if f.Doc != nil || f.Comment != nil {
			covered = true
		}
		exported := len(f.Names) == 0 // embedded
		for _, n := range f.Names {
			exported = exported || n.IsExported()
		}
		if exported && !covered && len(f.Names) > 0 {
			t.Errorf("%s: field %s.%s has no comment", dir, typ, f.Names[0].Name)
		}
	}
}

func receiverExported(recv *ast.FieldList) bool {
	if len(recv.List) == 0 {
		return false
	}
	expr := recv.List[0].Type
	if s, ok := expr.(*ast.StarExpr); ok {
		expr = s.X
	}
	id, ok := expr.(*ast.Ident)
	return ok && id.IsExported()
}

func startsWith(t *testing.T, dir, name string, doc *ast.CommentGroup) {
	if doc == nil {
		t.Errorf("%s: %s has no doc comment", dir, name)
		return
	}
	if text := doc.Text(); !strings.HasPrefix(text, name) {
		t.Errorf("%s: the doc comment of %s does not start with its name: %q", dir, name, firstLine(doc.Text()))
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// TestPurity: the domain does no I/O, reads no clock and draws no
// randomness; it imports nothing of the project outside domain/.
func TestPurity(t *testing.T) {
	forbidden := map[string]bool{
		"os": true, "os/exec": true, "os/signal": true, "net": true, "net/http": true, "net/rpc": true, "net/smtp": true,
		"database/sql": true, "log": true, "log/slog": true, "io/ioutil": true, "syscall": true, "unsafe": true,
		"math/rand": true, "math/rand/v2": true, "crypto/rand": true, "plugin": true, "embed": true,
	}
	forbiddenCalls := map[string]bool{"time.Now": true, "time.Since": true, "time.Until": true, "time.LoadLocation": true,
		"uuid.New": true, "uuid.NewString": true, "uuid.NewRandom": true, "uuid.Must": true}
	const module = "github.com/kinerja-ledger/kinerja/"
	for dir, files := range sourcePackages(t) {
		for _, f := range files {
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if forbidden[path] || strings.HasPrefix(path, "net/") || strings.HasPrefix(path, "database/") ||
					(strings.HasPrefix(path, module) && !strings.HasPrefix(path, module+"domain")) {
					t.Errorf("%s imports %s", dir, path)
				}
			}
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); ok && forbiddenCalls[x.Name+"."+sel.Sel.Name] {
					t.Errorf("%s uses %s.%s", dir, x.Name, sel.Sel.Name)
				}
				return true
			})
		}
	}
}
