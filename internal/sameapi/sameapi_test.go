package sameapi

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/zeropool-go/zeropool"

// packages are the module's public packages: the ones users import.
var packages = []string{module + "/offheap", module + "/pool", module + "/iouring"}

// build is one way the module can be built.
type build struct {
	goos, goarch, cgo, tags string
}

func (b build) String() string {
	s := b.goos + "/" + b.goarch
	if b.cgo == "1" {
		s += " cgo"
	}
	if b.tags != "" {
		s += " -tags " + b.tags
	}
	return s
}

// builds are compared with the first, Linux's default. Every GOOS of `go tool dist list` is
// here, each with an architecture it supports.
var builds = []build{
	{"linux", "amd64", "1", ""},
	{"linux", "amd64", "0", ""},
	{"linux", "amd64", "1", "zeropool_purego"},
	{"linux", "amd64", "0", "zeropool_purego"},
	{"linux", "amd64", "0", "zeropool_portable"},
	{"linux", "amd64", "0", "zeropool_portable,zeropool_gomem"},
	{"linux", "arm64", "0", ""},
	{"android", "arm64", "0", ""},
	{"darwin", "arm64", "0", ""},
	{"darwin", "amd64", "0", ""},
	{"ios", "arm64", "0", ""},
	{"windows", "amd64", "0", ""},
	{"windows", "arm64", "0", ""},
	{"freebsd", "amd64", "0", ""},
	{"openbsd", "amd64", "0", ""},
	{"netbsd", "amd64", "0", ""},
	{"dragonfly", "amd64", "0", ""},
	{"solaris", "amd64", "0", ""},
	{"illumos", "amd64", "0", ""},
	{"aix", "ppc64", "0", ""},
	{"plan9", "amd64", "0", ""},
	{"js", "wasm", "0", ""},
	{"wasip1", "wasm", "0", ""},
}

// TestSameAPIOnEverySystem: what a package exports (names, signatures, the exported fields
// of its structs and methods of its interfaces, the types of its constants and variables) is
// the same in every build, so that code written against it on one system compiles on all.
func TestSameAPIOnEverySystem(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool to list the packages with: %v", err)
	}
	want := map[string][]string{}
	for i, b := range builds {
		files := listFiles(t, goTool, b)
		for _, pkg := range packages {
			require.NotEmpty(t, files[pkg], "%s: %s has no Go files", b, pkg)
			api, err := apiOf(files[pkg])
			require.NoError(t, err, "%s: %s", b, pkg)
			if i == 0 {
				require.NotEmpty(t, api, "%s exports nothing?", pkg)
				want[pkg] = api
				continue
			}
			missing, extra := diff(want[pkg], api)
			assert.Empty(t, missing, "%s: %s lacks what %s has", b, pkg, builds[0])
			assert.Empty(t, extra, "%s: %s has what %s lacks", b, pkg, builds[0])
		}
	}
}

// listFiles returns the Go files (cgo ones included) that build b compiles, by package.
func listFiles(t *testing.T, goTool string, b build) map[string][]string {
	t.Helper()
	args := []string{"list", "-e", "-json=ImportPath,Dir,GoFiles,CgoFiles,Error"}
	if b.tags != "" {
		args = append(args, "-tags", b.tags)
	}
	cmd := exec.Command(goTool, append(args, packages...)...)
	cmd.Env = append(os.Environ(), "GOOS="+b.goos, "GOARCH="+b.goarch, "CGO_ENABLED="+b.cgo, "GOFLAGS=")
	out, err := cmd.Output()
	require.NoError(t, err, "%s: go list", b)
	files := map[string][]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p struct {
			ImportPath, Dir   string
			GoFiles, CgoFiles []string
			Error             *struct{ Err string }
		}
		require.NoError(t, dec.Decode(&p))
		require.Nil(t, p.Error, "%s: %s", b, p.ImportPath)
		for _, f := range append(p.GoFiles, p.CgoFiles...) {
			files[p.ImportPath] = append(files[p.ImportPath], filepath.Join(p.Dir, f))
		}
	}
	return files
}

// apiOf lists the exported API that files declare, one line per item, sorted: "func F(int)
// error", "method T.M()", "type T struct", "field T.F int", "const C Prot", ...
func apiOf(files []string) ([]string, error) {
	fset := token.NewFileSet()
	var api []string
	expr := func(e ast.Expr) string {
		if e == nil {
			return ""
		}
		var b strings.Builder
		_ = printer.Fprint(&b, fset, e)
		return b.String()
	}
	// signature prints a function type's parameter and result types, without their names.
	fields := func(l *ast.FieldList) string {
		if l == nil {
			return ""
		}
		var types []string
		for _, f := range l.List {
			for range max(len(f.Names), 1) {
				types = append(types, expr(f.Type))
			}
		}
		return "(" + strings.Join(types, ", ") + ")"
	}
	signature := func(ft *ast.FuncType) string { return fields(ft.Params) + " " + fields(ft.Results) }
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				if d.Recv == nil {
					api = append(api, "func "+d.Name.Name+signature(d.Type))
					continue
				}
				recv := strings.TrimPrefix(expr(d.Recv.List[0].Type), "*")
				if ast.IsExported(recv) {
					api = append(api, "method "+expr(d.Recv.List[0].Type)+"."+d.Name.Name+signature(d.Type))
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if !s.Name.IsExported() {
							continue
						}
						switch ty := s.Type.(type) {
						case *ast.StructType:
							api = append(api, "type "+s.Name.Name+" struct")
							for _, fl := range ty.Fields.List {
								for _, n := range fl.Names {
									if n.IsExported() {
										api = append(api, "field "+s.Name.Name+"."+n.Name+" "+expr(fl.Type))
									}
								}
								if len(fl.Names) == 0 {
									api = append(api, "embedded "+s.Name.Name+"."+expr(fl.Type))
								}
							}
						case *ast.InterfaceType:
							api = append(api, "type "+s.Name.Name+" interface")
							for _, m := range ty.Methods.List {
								for _, n := range m.Names {
									api = append(api, "interface "+s.Name.Name+"."+n.Name+" "+expr(m.Type))
								}
							}
						default:
							api = append(api, "type "+s.Name.Name+" "+expr(s.Type))
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								api = append(api, d.Tok.String()+" "+n.Name+" "+expr(s.Type))
							}
						}
					}
				}
			}
		}
	}
	slices.Sort(api)
	return slices.Compact(api), nil
}

// diff returns what want has and got lacks, and what got has and want lacks.
func diff(want, got []string) (missing, extra []string) {
	for _, w := range want {
		if !slices.Contains(got, w) {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			extra = append(extra, g)
		}
	}
	return missing, extra
}

// TestAPIOfSeesWhatDiffers: the comparison catches a name missing on one system, a
// signature that differs, a field only one system's struct has.
func TestAPIOfSeesWhatDiffers(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte("package p\n\n"+src), 0o644))
		return p
	}
	common := write("common.go", "type Config struct{ A int; b int }\nconst C Prot = 1\ntype Prot int\n")
	linux := write("a_linux.go", "func New(n int) (*T, error) { return nil, nil }\ntype T struct{ X int }\nfunc (t *T) M(a, b []byte) {}\nfunc helper() {}\n")
	other := write("a_other.go", "func New(size int) (*T, error) { return nil, nil }\ntype T struct{ X int }\nfunc (t *T) M(a, b []byte) {}\n")
	apiLinux, err := apiOf([]string{common, linux})
	require.NoError(t, err)
	apiOther, err := apiOf([]string{common, other})
	require.NoError(t, err)
	missing, extra := diff(apiLinux, apiOther)
	assert.Empty(t, missing, "parameter names do not matter, unexported names are not API")
	assert.Empty(t, extra)
	assert.Contains(t, apiLinux, "method *T.M([]byte, []byte) ")
	assert.Contains(t, apiLinux, "field Config.A int")
	assert.NotContains(t, strings.Join(apiLinux, "\n"), "Config.b")

	for name, src := range map[string]string{
		"a name missing":        "type T struct{ X int }\nfunc (t *T) M(a, b []byte) {}\n",
		"a signature differs":   "func New(n uint) (*T, error) { return nil, nil }\ntype T struct{ X int }\nfunc (t *T) M(a, b []byte) {}\n",
		"a method missing":      "func New(n int) (*T, error) { return nil, nil }\ntype T struct{ X int }\n",
		"a field differs":       "func New(n int) (*T, error) { return nil, nil }\ntype T struct{ X int; Y bool }\nfunc (t *T) M(a, b []byte) {}\n",
		"a result differs":      "func New(n int) *T { return nil }\ntype T struct{ X int }\nfunc (t *T) M(a, b []byte) {}\n",
		"a receiver differs":    "func New(n int) (*T, error) { return nil, nil }\ntype T struct{ X int }\nfunc (t T) M(a, b []byte) {}\n",
		"a type's kind differs": "func New(n int) (*T, error) { return nil, nil }\ntype T int\nfunc (t *T) M(a, b []byte) {}\n",
	} {
		bad := write("bad_other.go", src)
		api, err := apiOf([]string{common, bad})
		require.NoError(t, err)
		missing, extra := diff(apiLinux, api)
		assert.True(t, len(missing)+len(extra) > 0, "%s: not seen", name)
		t.Logf("%s: missing %v, extra %v", name, missing, extra)
	}
}
