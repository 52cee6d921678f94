//go:build !zeropool_portable

package main

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/internal/uring"
)

// uringFile writes a file of n random bytes in the package directory (a disk filesystem,
// where t.TempDir may be tmpfs) and says whether it can be opened with O_DIRECT.
func uringFile(t *testing.T, n int) (path string, direct bool) {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	f, err := os.CreateTemp(wd, ".zeropool-uring-*")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.Remove(f.Name()) })
	data := make([]byte, n)
	_, _ = rand.Read(data)
	_, err = f.Write(data)
	require.NoError(t, errors.Join(err, f.Close()))
	d, err := os.OpenFile(f.Name(), os.O_RDONLY|unix.O_DIRECT, 0)
	if err == nil {
		_ = d.Close()
	}
	return f.Name(), err == nil
}

func TestURingCommand(t *testing.T) {
	if err := uring.Unavailable(); err != nil {
		t.Skip(err)
	}
	// Not a multiple of the read size: the last read is short.
	path, direct := uringFile(t, 3<<20+64<<10)
	args := []string{"uring", "-size", "256KiB", "-depth", "4", "-rounds", "2"}
	if !direct {
		t.Logf("the filesystem of %s refuses O_DIRECT: reading through the page cache", path)
		args = append(args, "-direct=false")
	}
	code, out, errOut := runCmd(append(args, path)...)
	require.Equal(t, exitOK, code, "stderr:\n%s", errOut)
	assert.Contains(t, errOut, "round 2")
	for _, want := range []string{"pool + READ_FIXED", "heap + READ", "VmPin / VmLck", "after Close 0 B / "} {
		assert.Contains(t, out, want)
	}
	// Both ways read the same bytes; the pooled run allocates no buffers on the Go heap.
	sums := regexp.MustCompile(`(?m)^(pool|heap) \+ \S+ .* (0x[0-9a-f]+)$`).FindAllStringSubmatch(out, -1)
	require.Len(t, sums, 2, "stdout:\n%s", out)
	assert.Equal(t, sums[0][2], sums[1][2], "the checksums match")
	assert.Regexp(t, `(?m)^pool \+ READ_FIXED .* 0\.0 `, out, "no collection during the pooled runs")
}

func TestURingBadArguments(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	for _, args := range [][]string{
		{"uring"},
		{"uring", "a", "b"},
		{"uring", "-size", "0", "f"},
		{"uring", "-size", "1000", "f"}, // not a multiple of 4 KiB with O_DIRECT
		{"uring", "-size", "2GiB", "f"},
		{"uring", "-depth", "0", "f"},
		{"uring", "-rounds", "0", "f"},
		{"uring", "-nope", "f"},
	} {
		code, out, errOut := runCmd(args...)
		assert.Equal(t, exitUsage, code, "%v", args)
		assert.Empty(t, out, "%v", args)
		assert.NotEmpty(t, errOut, "%v", args)
	}
	if uring.Unavailable() == nil {
		code, _, errOut := runCmd("uring", missing)
		assert.Equal(t, exitFail, code)
		assert.Contains(t, errOut, "no such file")
		code, _, errOut = runCmd("uring", "-direct=false", t.TempDir())
		assert.Equal(t, exitFail, code)
		assert.Contains(t, errOut, "regular file")
	}
	code, out, _ := runCmd("help", "uring")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "-depth")
	assert.Contains(t, out, "READ_FIXED")
}

// zeropool uring reads its flags after FILE too, and says where they go when the file is
// missing or doubled. (The checks below stop before any io_uring call.)
func TestURingArguments(t *testing.T) {
	code, _, errOut := runCmd("uring", "FILE", "-size", "1000")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "-size must be a multiple of 4 KiB", "the flag after FILE was parsed")
	code, _, errOut = runCmd("uring", "FILE", "-depth", "0")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "-depth must be 1 to 1024")
	for _, args := range [][]string{{"uring"}, {"uring", "-rounds", "1"}, {"uring", "A", "-rounds", "1", "B"}} {
		code, _, errOut = runCmd(args...)
		assert.Equal(t, exitUsage, code, "%q", args)
		assert.Contains(t, errOut, "want one FILE to read", "%q", args)
		assert.Contains(t, errOut, "zeropool uring FILE -rounds 1", "%q says where the flags go", args)
	}
}
