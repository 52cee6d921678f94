package main

import (
	"encoding/json"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

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

// TestReadmeProgramsBuild builds every Go program in README.md against this module, so that
// the documentation cannot drift from the API. The programs are laid over the module tree with
// go build -overlay: nothing is written into the repository.
func TestReadmeProgramsBuild(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	md, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)

	var programs []string
	for _, b := range goBlocks(string(md)) {
		formatted, err := format.Source([]byte(b))
		require.NoError(t, err, "README block does not parse:\n%s", b)
		assert.Equal(t, string(formatted), b, "README block is not gofmt'ed")
		if strings.HasPrefix(b, "package main\n") {
			programs = append(programs, b)
		}
	}
	require.NotEmpty(t, programs, "README.md has Go programs")

	if testing.Short() {
		t.Skip("-short: building the README's programs takes seconds")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command on PATH to build the README's programs: %v", err)
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
	assert.NoError(t, err, "building the README's programs:\n%s", out)
}
