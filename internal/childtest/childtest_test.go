package childtest_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/internal/childtest"
	"github.com/zeropool-go/zeropool/offheap"
)

const envLib = "ZEROPOOL_LIB"

// TestUnprivilegedChildInPrivateCheckout: an unprivileged child does not depend on the
// permissions of the checkout it was started from. A clone in a directory only its owner may
// enter (mode 0700, as a home directory or `mktemp -d` is) holds the library and the working
// directory; TMPDIR may be private too. The child, as uid Nobody, still runs, reads the
// library (and, where the purego backend is compiled in, loads it and maps memory through it)
// and can create temporary files.
func TestUnprivilegedChildInPrivateCheckout(t *testing.T) {
	if childtest.Is(t.Name()) {
		privateCheckoutChild(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a child process as uid 65534")
	}
	lib := libraryOrStandIn(t)
	want, err := os.ReadFile(lib)
	require.NoError(t, err)

	// The clone: <private>/c/{go.mod, build/libzeropool.so}, with <private> mode 0700.
	private := t.TempDir()
	require.NoError(t, os.Chmod(private, 0o700))
	clone := filepath.Join(private, "c")
	require.NoError(t, os.MkdirAll(filepath.Join(clone, "build"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(clone, "go.mod"), []byte("module github.com/zeropool-go/zeropool\n\ngo 1.26\n"), 0o644))
	privateLib := filepath.Join(clone, "build", "libzeropool.so")
	require.NoError(t, os.WriteFile(privateLib, want, 0o755))
	privateTmp := filepath.Join(private, "tmp")
	require.NoError(t, os.Mkdir(privateTmp, 0o700))

	for _, tc := range []struct {
		name string
		// env is set in the parent (t.Setenv) before the child starts.
		env map[string]string
		// fromSearch: the child finds the library where the backend looks without
		// ZEROPOOL_LIB (next to its executable), not through the variable.
		fromSearch bool
	}{
		{name: "ZEROPOOL_LIB in the clone", env: map[string]string{envLib: privateLib}},
		{name: "library in the clone's build", env: map[string]string{envLib: ""}, fromSearch: true},
		{name: "private TMPDIR", env: map[string]string{envLib: privateLib, "TMPDIR": privateTmp}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			t.Chdir(clone)
			out, err := childtest.Run(t, "TestUnprivilegedChildInPrivateCheckout", childtest.Options{Unprivileged: true})
			require.NoError(t, err, "the child failed:\n%s", out)
			assert.Contains(t, out, "--- PASS: TestUnprivilegedChildInPrivateCheckout", out)
			v := childValues(out)
			require.Contains(t, v, "uid", "child output:\n%s", out)
			assert.Equal(t, fmt.Sprint(childtest.Nobody), v["uid"], "the child ran unprivileged")
			assert.Equal(t, fmt.Sprint(len(want)), v["lib-bytes"], "the child read the whole library")
			assert.False(t, strings.HasPrefix(v["lib"], private+"/"), "the child's library %s is outside the private directory", v["lib"])
			assert.Equal(t, fmt.Sprint(tc.fromSearch), v["from-search"])
			if slices.Contains(offheap.Backends(), "purego") {
				assert.Equal(t, "ok", v["purego"], "the child loaded the library and mapped memory with it")
			}
			assert.Equal(t, "ok", v["tmp"], "the child can create a temporary file")
		})
	}
}

// privateCheckoutChild prints what the parent checks: who it is, which library it read and
// how many bytes, whether the purego backend works and whether it can create a temporary file.
func privateCheckoutChild(t *testing.T) {
	lib, fromSearch := os.Getenv(envLib), false
	if lib == "" {
		exe, err := os.Executable()
		require.NoError(t, err)
		lib, fromSearch = filepath.Join(filepath.Dir(exe), "libzeropool.so"), true
	}
	data, err := os.ReadFile(lib)
	require.NoError(t, err)
	purego := "n/a"
	if slices.Contains(offheap.Backends(), "purego") {
		require.NoError(t, offheap.CheckBackend("purego"))
		b, err := offheap.Alloc(offheap.PageSize(), offheap.WithBackend("purego"))
		require.NoError(t, err)
		b[0] = 1
		require.NoError(t, offheap.Free(b))
		purego = "ok"
	}
	f, err := os.CreateTemp("", "child-")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, os.Remove(f.Name()))
	fmt.Printf("child: uid=%d lib=%s lib-bytes=%d from-search=%t purego=%s tmp=ok\n",
		os.Getuid(), lib, len(data), fromSearch, purego)
}

// libraryOrStandIn returns the purego backend's library: ZEROPOOL_LIB, else build/ of the
// module root. Where the purego backend is not compiled in and neither exists, a stand-in file
// shows the copying as well.
func libraryOrStandIn(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv(envLib), filepath.Join("..", "..", "build", "libzeropool.so")} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			abs, err := filepath.Abs(p)
			require.NoError(t, err)
			return abs
		}
	}
	if slices.Contains(offheap.Backends(), "purego") {
		t.Skip("purego backend without its library: run `make lib` or set ZEROPOOL_LIB")
	}
	standIn := filepath.Join(t.TempDir(), "libzeropool.so")
	require.NoError(t, os.WriteFile(standIn, bytes.Repeat([]byte("stand-in "), 1000), 0o644))
	return standIn
}

// childValues parses the child's "child: k=v k=v" line.
func childValues(out string) map[string]string {
	v := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "child: ")
		if !ok {
			continue
		}
		for _, kv := range strings.Fields(rest) {
			if k, val, ok := strings.Cut(kv, "="); ok {
				v[k] = val
			}
		}
	}
	return v
}
