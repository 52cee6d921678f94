//go:build linux && zeropool_purego && !zeropool_portable

package offheap

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func init() {
	puregoCompiled = true
	libraryMissing = func(err error) bool { return errors.Is(err, errNoLibrary) }
	libInUse = func() string {
		if b, err := openBackend("purego"); err == nil {
			return b.(*puregoBackend).path
		}
		return ""
	}
}

func TestPuregoABIVersionMatchesHeader(t *testing.T) {
	v, ok := headerDefines(t)["ZP_ABI_VERSION"]
	require.True(t, ok)
	assert.Equal(t, uint64(abiVersion), v)
}

// TestPuregoMissingLibrary: a library that is not there is an error naming the path, and is
// told apart from a library that is there but unusable.
func TestPuregoMissingLibrary(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nowhere", libName)
	t.Setenv(envLib, missing)
	_, err := openPurego()
	require.Error(t, err)
	assert.ErrorIs(t, err, errNoLibrary)
	assert.Contains(t, err.Error(), missing)
}

// TestPuregoRefusesBadLibrary: a file that is not a library, and a library of another ABI
// version, are refused with an error naming the path: never loaded, never a crash.
func TestPuregoRefusesBadLibrary(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.so")
	require.NoError(t, os.WriteFile(garbage, []byte("not an ELF file"), 0o644))
	t.Setenv(envLib, garbage)
	_, err := openPurego()
	require.Error(t, err)
	assert.NotErrorIs(t, err, errNoLibrary)
	assert.Contains(t, err.Error(), garbage)

	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler to build a library of another ABI version")
	}
	src := filepath.Join(dir, "old.c")
	require.NoError(t, os.WriteFile(src, []byte("int zp_abi_version(void) { return "+
		strconv.Itoa(abiVersion+1)+"; }\n"), 0o644))
	old := filepath.Join(dir, "libold.so")
	out, err := exec.Command(cc, "-shared", "-fPIC", "-o", old, src).CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Setenv(envLib, old)
	_, err = openPurego()
	require.Error(t, err)
	assert.NotErrorIs(t, err, errNoLibrary)
	assert.Contains(t, err.Error(), old)
	assert.Contains(t, err.Error(), "ABI version "+strconv.Itoa(abiVersion+1))
}

// TestPuregoSearchPath: without ZEROPOOL_LIB the library is looked for next to the
// executable, in build/ of this module's root (found from the working directory), and on the
// dynamic linker's path, in that order.
func TestPuregoSearchPath(t *testing.T) {
	t.Setenv(envLib, "")
	wd, err := os.Getwd()
	require.NoError(t, err)
	root := filepath.Dir(wd) // the tests run in offheap/
	exe, err := os.Executable()
	require.NoError(t, err)
	var paths []string
	for _, c := range libCandidates() {
		require.NotEmpty(t, c.path, "nothing skipped here: %s", c.skipped)
		paths = append(paths, c.path)
	}
	assert.Equal(t, []string{
		filepath.Join(filepath.Dir(exe), libName),
		filepath.Join(filepath.Dir(filepath.Dir(exe)), "lib", libName),
		filepath.Join(root, "build", libName),
		libName,
	}, paths)

	// A nested module (bench/ has its own go.mod) does not stop the walk; leaving the module
	// does.
	nested := filepath.Join(t.TempDir(), "outer", "inner")
	require.NoError(t, os.MkdirAll(nested, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(nested, "go.mod"), []byte("module example.com/other\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(nested), "go.mod"), []byte("module "+modulePath+"\n\ngo 1.26\n"), 0o644))
	got, ok := moduleRoot(nested)
	assert.True(t, ok)
	assert.Equal(t, filepath.Dir(nested), got)
	_, ok = moduleRoot(t.TempDir())
	assert.False(t, ok)
}

// TestPuregoErrnoFromReturnValue: a C int comes back in the low 32 bits of a register whose
// upper half is undefined.
func TestPuregoErrnoFromReturnValue(t *testing.T) {
	assert.NoError(t, rcErr(0))
	assert.NoError(t, rcErr(0xdead_beef_0000_0000))
	assert.Equal(t, unix.ENOMEM, rcErr(uintptr(0xffff_ffff_ffff_fff4)))
	assert.Equal(t, unix.ENOMEM, rcErr(uintptr(0x1234_5678_ffff_fff4)))
	assert.Equal(t, unix.EINVAL, rcErr(uintptr(0x0000_0000_ffff_ffea)))
}

// TestCheckBackendReportsMissingLibrary: through the public API, in a child process whose
// ZEROPOOL_LIB points nowhere, choosing purego is an error naming the path, and the other
// backends keep working.
func TestCheckBackendReportsMissingLibrary(t *testing.T) {
	const missing = "/nonexistent/zeropool/libzeropool.so"
	if os.Getenv(childMode) == "purego-missing" {
		err := CheckBackend("purego")
		require.Error(t, err)
		assert.Contains(t, err.Error(), missing)
		b, err := Alloc(PageSize(), WithBackend("purego"))
		assert.Nil(t, b)
		require.Error(t, err)
		assert.Contains(t, err.Error(), missing)
		b, err = Alloc(PageSize(), WithBackend("syscall"))
		require.NoError(t, err)
		require.NoError(t, Free(b))
		t.Logf("missing library reported")
		return
	}
	out, err := runChild(t, "TestCheckBackendReportsMissingLibrary", "purego-missing",
		[]string{envLib + "=" + missing}, false)
	require.NoError(t, err, "child:\n%s", out)
	assert.Contains(t, out, "missing library reported")
}

// TestPuregoLoadsOnFirstUse: importing the package and listing the backends load nothing;
// the library is mapped only when the backend is first chosen. A child process starts clean.
func TestPuregoLoadsOnFirstUse(t *testing.T) {
	loaded := func() bool {
		maps, err := os.ReadFile("/proc/self/maps")
		require.NoError(t, err)
		return bytes.Contains(maps, []byte(libName))
	}
	if os.Getenv(childMode) == "lazy" {
		require.Contains(t, Backends(), "purego")
		assert.False(t, loaded(), "mapped before first use")
		b, err := Alloc(PageSize(), WithBackend("syscall"))
		require.NoError(t, err)
		require.NoError(t, Free(b))
		assert.False(t, loaded(), "mapped by another backend's use")
		require.NoError(t, CheckBackend("purego"))
		assert.True(t, loaded(), "mapped after first use")
		t.Logf("loaded on first use")
		return
	}
	requireBackend(t, "purego")
	out, err := runChild(t, "TestPuregoLoadsOnFirstUse", "lazy", []string{EnvBackend + "=syscall"}, false)
	require.NoError(t, err, "child:\n%s", out)
	assert.Contains(t, out, "loaded on first use")
}
