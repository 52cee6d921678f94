// Package childtest runs one test of the current test binary again, in a child process, so
// that the test can change what must not change in the test process itself: its credentials,
// its resource limits, an environment variable a package reads once.
//
// The parent calls Run with the test's name; in the child, Is(name) is true and the test plays
// the child's part, printing what the parent should check.
package childtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const envName = "ZEROPOOL_TEST_CHILD"

// Nobody is the uid and gid an unprivileged child runs as.
const Nobody = 65534

// Is reports whether this process is the child that Run started for test.
func Is(test string) bool { return os.Getenv(envName) == test }

// Options says how the child runs.
type Options struct {
	// Env is added to the child's environment.
	Env []string
	// Unprivileged runs the child as uid and gid Nobody when the parent is root. Such a child
	// depends on nothing of the checkout it was started from, which may be private to its
	// owner (a clone in a 0700 home or `mktemp -d` directory; the build directory of `go
	// test` is private too): it runs from a copy of the binary in a new directory every user
	// can enter, that directory is its working directory, its TMPDIR is a directory it may
	// write, and it gets copies of the files the backends load (see BackendFiles).
	Unprivileged bool
	// CopyFiles names more variables of Env (or of the parent's environment) that hold paths
	// of files an unprivileged child must read; it gets copies next to its binary, and the
	// variables point at them.
	CopyFiles []string
}

// BackendFiles names the variables that hold paths of files the offheap backends load: the
// shared library of the purego backend. An unprivileged child always gets copies of the files
// they name, as if they were in Options.CopyFiles. Where ZEROPOOL_LIB is unset and the
// library `make lib` builds exists in build/ of a directory at or above the working
// directory, the child gets a copy next to its binary, which is where the backend looks
// first.
var BackendFiles = []string{libEnv}

const (
	libEnv  = "ZEROPOOL_LIB"
	libName = "libzeropool.so"
)

// Run runs test in a new process of this test binary and returns its combined output and its
// exit error (nil for status 0).
func Run(t testing.TB, test string, o Options) (string, error) {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	env := append(append(os.Environ(), envName+"="+test), o.Env...)
	asNobody := o.Unprivileged && os.Geteuid() == 0 // Geteuid is -1 where there are no uids
	if asNobody {
		exe, env = unprivileged(t, exe, env, o.CopyFiles)
	}
	// The bound keeps a wedged child from hanging the suite; it is not a timing assertion.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run=^"+test+"$", "-test.v", "-test.count=1")
	cmd.Env = env
	if asNobody {
		cmd.Dir = filepath.Dir(exe)
		runAsNobody(cmd)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// unprivileged prepares what a child running as Nobody needs: a directory it can enter
// holding a copy of exe and of the files the variables copy and BackendFiles name, and a
// TMPDIR it can write. It returns the copy of exe and the child's environment.
func unprivileged(t testing.TB, exe string, env, copyFiles []string) (string, []string) {
	t.Helper()
	base, err := sharedTempDir()
	require.NoError(t, err)
	dir, err := os.MkdirTemp(base, "zeropool-child-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	tmp := filepath.Join(dir, "tmp")
	require.NoError(t, os.Mkdir(tmp, 0o755))
	require.NoError(t, os.Chmod(tmp, 0o777|os.ModeSticky)) // Mkdir's mode passes the umask
	env = append(env, "TMPDIR="+tmp)

	exe = copyReadable(t, exe, dir)
	for _, name := range copyFiles {
		if path := lookup(env, name); path != "" {
			env = append(env, name+"="+copyReadable(t, path, dir))
		}
	}
	for _, name := range BackendFiles {
		if slices.Contains(copyFiles, name) {
			continue
		}
		path := lookup(env, name)
		if path == "" {
			continue
		}
		// A path that names nothing stays as it is: the child then reports what the parent
		// would (some tests point the variable nowhere on purpose).
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		env = append(env, name+"="+copyReadable(t, path, dir))
	}
	if lookup(env, libEnv) == "" {
		if lib, ok := builtLib(); ok {
			copyReadable(t, lib, dir)
		}
	}
	return exe, env
}

// sharedTempDir returns a directory for the child's files that every user can reach: the
// temporary directory, unless it lies below a directory others may not enter (TMPDIR inside
// a private checkout), then /tmp.
func sharedTempDir() (string, error) {
	for _, dir := range []string{os.TempDir(), "/tmp"} {
		if ok, err := everyoneCanEnter(dir); err != nil {
			return "", err
		} else if ok {
			return dir, nil
		}
	}
	return "", fmt.Errorf("childtest: neither %s nor /tmp can be entered by every user", os.TempDir())
}

// everyoneCanEnter reports whether dir and every directory above it have the execute
// permission for others.
func everyoneCanEnter(dir string) (bool, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false, err
	}
	for {
		fi, err := os.Stat(dir)
		if err != nil {
			return false, err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return false, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return true, nil
		}
		dir = parent
	}
}

// builtLib returns build/libzeropool.so of the nearest directory at or above the working
// directory that has one: where `make lib` puts the library and the backend finds it when
// ZEROPOOL_LIB is unset.
func builtLib() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		p := filepath.Join(dir, "build", libName)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// lookup returns the last value of name in env, as the child will see it.
func lookup(env []string, name string) string {
	v := ""
	for _, kv := range env {
		if rest, ok := strings.CutPrefix(kv, name+"="); ok {
			v = rest
		}
	}
	return v
}

func copyReadable(t testing.TB, src, dir string) string {
	t.Helper()
	in, err := os.Open(src)
	require.NoError(t, err)
	defer in.Close()
	dst := filepath.Join(dir, filepath.Base(src))
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	require.NoError(t, err)
	_, err = io.Copy(out, in)
	require.NoError(t, errors.Join(err, out.Close()))
	require.NoError(t, os.Chmod(dst, 0o755))
	return dst
}

// Values reads the "key=value" pairs (integers) a child printed on lines starting with
// "child:", for the parent to check.
func Values(t testing.TB, out string) map[string]int64 {
	t.Helper()
	vals := map[string]int64{}
	for _, m := range childLine.FindAllStringSubmatch(out, -1) {
		for _, kv := range strings.Fields(m[1]) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			require.NoError(t, err, "child value %q", kv)
			vals[k] = n
		}
	}
	return vals
}

var childLine = regexp.MustCompile(`(?m)^child:(.*)$`)

// SkipUnlessRoot skips a parent test that must start an unprivileged child: only root can
// change a child's uid.
func SkipUnlessRoot(t testing.TB) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root to start a child process as uid 65534")
	}
}
