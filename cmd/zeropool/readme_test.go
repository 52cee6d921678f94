package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goBlocks returns the fenced ```go blocks of a Markdown text.
func goBlocks(md string) []string {
	re := regexp.MustCompile("(?ms)^```go\n(.*?)^```\n")
	var out []string
	for _, m := range re.FindAllStringSubmatch(md, -1) {
		out = append(out, m[1])
	}
	return out
}

// repoRoot is the repository's root directory, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	return root
}

// docFiles are the Markdown files whose Go blocks must parse and whose programs must build:
// README.md and every page of docs/.
func docFiles(t *testing.T, root string) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	require.NoError(t, err)
	require.NotEmpty(t, docs, "docs/ has pages")
	return append([]string{filepath.Join(root, "README.md")}, docs...)
}

// TestReadmeProgramsBuild builds every Go program in README.md and docs/*.md against this
// module, so that the documentation cannot drift from the API. Every Go block must parse and
// be gofmt'ed; the programs are laid over the module tree with go build -overlay: nothing is
// written into the repository.
func TestReadmeProgramsBuild(t *testing.T) {
	root := repoRoot(t)
	var programs, names []string
	for _, f := range docFiles(t, root) {
		md, err := os.ReadFile(f)
		require.NoError(t, err)
		rel, err := filepath.Rel(root, f)
		require.NoError(t, err)
		for _, b := range goBlocks(string(md)) {
			formatted, err := format.Source([]byte(b))
			require.NoError(t, err, "%s: block does not parse:\n%s", rel, b)
			assert.Equal(t, string(formatted), b, "%s: block is not gofmt'ed", rel)
			if strings.HasPrefix(b, "package main\n") {
				programs = append(programs, b)
				names = append(names, rel)
			}
		}
	}
	require.GreaterOrEqual(t, len(programs), 3, "the docs hold Go programs: %v", names)

	if testing.Short() {
		t.Skip("-short: building the documentation's programs takes seconds")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command on PATH to build the documentation's programs: %v", err)
	}
	tmp := t.TempDir()
	overlay := map[string]map[string]string{"Replace": {}}
	var pkgs []string
	for i, p := range programs {
		src := filepath.Join(tmp, fmt.Sprintf("readme%d.go", i))
		require.NoError(t, os.WriteFile(src, []byte(p), 0o644))
		dir := fmt.Sprintf("cmd/zeropool/readme_check_%d", i)
		overlay["Replace"][filepath.Join(root, dir, "main.go")] = src
		pkgs = append(pkgs, "./"+dir)
	}
	js, err := json.Marshal(overlay)
	require.NoError(t, err)
	ovFile := filepath.Join(tmp, "overlay.json")
	require.NoError(t, os.WriteFile(ovFile, js, 0o644))

	bin := filepath.Join(tmp, "bin")
	require.NoError(t, os.Mkdir(bin, 0o755))
	cmd := exec.Command(goTool, append([]string{"build", "-overlay", ovFile, "-o", bin + string(filepath.Separator)}, pkgs...)...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "building the documentation's programs (%v):\n%s", names, out)
}

// exampleBody returns the statements of the function name in a Go file, as its source text
// with one level of indentation removed and the Output comment left out.
func exampleBody(t *testing.T, path, name string) string {
	t.Helper()
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	require.NoError(t, err)
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != name {
			continue
		}
		body := string(src[fset.Position(fn.Body.Lbrace).Offset+1 : fset.Position(fn.Body.Rbrace).Offset])
		body, _, _ = strings.Cut(body, "\t// Output:")
		var b strings.Builder
		for _, line := range strings.Split(strings.Trim(body, "\n"), "\n") {
			b.WriteString(strings.TrimPrefix(line, "\t"))
			b.WriteByte('\n')
		}
		return b.String()
	}
	require.Failf(t, "no such function", "%s has no func %s", path, name)
	return ""
}

// The README's first Go block, the example on its first screen, is the body of the pool
// package's Example, which go test compiles, runs and checks against its Output.
func TestReadmeExampleIsThePoolExample(t *testing.T) {
	root := repoRoot(t)
	md, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	blocks := goBlocks(string(md))
	require.NotEmpty(t, blocks, "README.md has a Go block")
	want := exampleBody(t, filepath.Join(root, "pool", "example_test.go"), "Example")
	assert.Equal(t, want, blocks[0], "README.md's first Go block is the body of pool.Example")
	assert.LessOrEqual(t, strings.Count(blocks[0], "\n"), 12, "the first screen's example stays short")

	// It comes before any other section: the first screen.
	i := strings.Index(string(md), "```go\n")
	assert.NotContains(t, string(md[:i]), "\n## ", "the example is on the first screen, before the first section")
	assert.Contains(t, string(md[:i]), "go get github.com/zeropool-go/zeropool", "the install line comes before the example")
}

// The README's table of commands has a row for every command of the tool, help included, and
// each row names every flag the command has (as its -h lists them).
func TestReadmeListsEveryCommand(t *testing.T) {
	md, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	row := func(name string) string {
		m := regexp.MustCompile("(?m)^\\| `zeropool " + regexp.QuoteMeta(name) + "[ `].*$").Find(md)
		require.NotNil(t, m, "README.md has a row for zeropool %s", name)
		return string(m)
	}
	flagName := regexp.MustCompile(`(?m)^  -(\w+)`)
	for _, c := range commands {
		r := row(c.name)
		var out bytes.Buffer
		require.Equal(t, exitOK, runHelp([]string{c.name}, &out, &out))
		flags := flagName.FindAllStringSubmatch(out.String(), -1)
		for _, f := range flags {
			assert.Contains(t, r, "-"+f[1], "README.md's row for zeropool %s names its flag -%s", c.name, f[1])
		}
	}
	row("help")
}

// Every page of docs/ is linked from the README's index, and each exactly once; a link to a
// section of a page (docs/design.md#other-systems) is not a link to the page.
func TestReadmeLinksEveryDocOnce(t *testing.T) {
	root := repoRoot(t)
	md, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	require.NoError(t, err)
	require.NotEmpty(t, docs)
	for _, d := range docs {
		link := "](docs/" + filepath.Base(d) + ")"
		assert.Equal(t, 1, strings.Count(string(md), link), "README.md links %s once", filepath.Base(d))
	}
}

// anchor is the fragment GitHub gives a Markdown heading: lower case, punctuation but - and _
// dropped, spaces turned into hyphens.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Every relative link of README.md and docs/*.md reaches a file of the repository and, with a
// fragment, a heading of that file.
func TestDocLinksResolve(t *testing.T) {
	root := repoRoot(t)
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	heading := regexp.MustCompile("(?m)^#+ (.+)$")
	fence := regexp.MustCompile("(?ms)^```.*?^```\n")
	for _, f := range docFiles(t, root) {
		md, err := os.ReadFile(f)
		require.NoError(t, err)
		text := fence.ReplaceAllString(string(md), "")
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") {
				continue
			}
			path, frag, _ := strings.Cut(target, "#")
			dest := f
			if path != "" {
				dest = filepath.Join(filepath.Dir(f), path)
			}
			if !assert.FileExists(t, dest, "%s links %s", filepath.Base(f), target) || frag == "" {
				continue
			}
			body, err := os.ReadFile(dest)
			require.NoError(t, err)
			var anchors []string
			for _, h := range heading.FindAllStringSubmatch(fence.ReplaceAllString(string(body), ""), -1) {
				anchors = append(anchors, anchor(h[1]))
			}
			assert.Contains(t, anchors, frag, "%s links %s: no such heading", filepath.Base(f), target)
		}
	}
}
