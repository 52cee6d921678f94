package offheap

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOtherSystemsGetASentence: built for another system, the package fails with one error, a
// sentence naming what it needs, not with the first Linux constant the compiler misses.
func TestOtherSystemsGetASentence(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		t.Skipf("no go tool to build with: %v", err)
	}
	for _, goos := range []string{"darwin", "windows", "freebsd"} {
		cmd := exec.Command(goTool, "build", "-o", os.DevNull, ".")
		cmd.Env = append(os.Environ(), "GOOS="+goos, "CGO_ENABLED=0", "GOFLAGS=")
		out, err := cmd.CombinedOutput()
		require.Error(t, err, "GOOS=%s go build succeeded:\n%s", goos, out)
		assert.Contains(t, string(out), "undefined: offheap_builds_only_on_Linux_it_is_made_of_Linux_system_calls_and_proc_files", "GOOS=%s", goos)
		assert.Equal(t, 1, strings.Count(string(out), "undefined:"), "GOOS=%s: the sentence is the only error:\n%s", goos, out)
	}
}
