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
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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
	// Unprivileged runs the child as uid and gid Nobody when the parent is root. The binary is
	// then copied to a temporary directory everyone can read and enter, since the build
	// directory of `go test` is private to its owner.
	Unprivileged bool
	// CopyFiles names variables of Env (or of the parent's environment) that hold paths of
	// files the child must read too, such as a shared library; an unprivileged child gets
	// copies next to the binary, and the variables point at them.
	CopyFiles []string
}

// Run runs test in a new process of this test binary and returns its combined output and its
// exit error (nil for status 0).
func Run(t testing.TB, test string, o Options) (string, error) {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	env := append(append(os.Environ(), envName+"="+test), o.Env...)
	var cred *syscall.Credential
	if o.Unprivileged && os.Geteuid() == 0 {
		dir, err := os.MkdirTemp("", "zeropool-child-")
		require.NoError(t, err)
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
		require.NoError(t, os.Chmod(dir, 0o755))
		exe = copyReadable(t, exe, dir)
		for _, name := range o.CopyFiles {
			if path := lookup(env, name); path != "" {
				env = append(env, name+"="+copyReadable(t, path, dir))
			}
		}
		cred = &syscall.Credential{Uid: Nobody, Gid: Nobody}
	}
	// The bound keeps a wedged child from hanging the suite; it is not a timing assertion.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run=^"+test+"$", "-test.v", "-test.count=1")
	cmd.Env = env
	if cred != nil {
		cmd.Dir = filepath.Dir(exe)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
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
