//go:build zeropool_purego && !zeropool_portable

package offheap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
	"golang.org/x/sys/unix"
)

// envLib names the environment variable that gives the path of the shared library the purego
// backend loads. When it is set, no other path is tried.
const envLib = "ZEROPOOL_LIB"

// libName is the file `make lib` builds into build/.
const libName = "libzeropool.so"

// modulePath identifies this module's go.mod when looking for build/ above the working
// directory, so that a go.mod of some other module (or none) stops nothing and loads nothing.
const modulePath = "github.com/zeropool-go/zeropool"

// errNoLibrary means that no candidate path held the library at all, as opposed to a library
// that was found and refused.
var errNoLibrary = errors.New("offheap: purego backend: " + libName + " not found")

// The open func runs on first use, never at import: a binary that does not choose this
// backend never touches the dynamic loader.
func init() { registerBackend("purego", openPurego) }

// puregoBackend calls the C recipe in the shared library built from csrc, without cgo. The
// functions are called through purego.SyscallN with integer arguments: no callbacks, no
// reflection, and no allocation per call except in mapRegion, whose spec must move to the
// heap to cross as a pointer (a mapping costs a system call and an allocation anyway). purego
// cannot read errno on Linux, so the C functions return -errno.
type puregoBackend struct {
	path string // where the library was loaded from

	// Addresses of the C functions.
	zpMap, zpUnmap, zpLock, zpUnlock, zpProtect, zpAdvise uintptr
}

func openPurego() (backend, error) {
	var tried []string
	found := false
	for _, c := range libCandidates() {
		if c.path == "" {
			tried = append(tried, c.skipped)
			continue
		}
		bare := !strings.ContainsRune(c.path, '/')
		if !bare {
			if _, err := os.Stat(c.path); err != nil {
				tried = append(tried, fmt.Sprintf("%s: %v", c.path, err))
				continue
			}
		}
		b, opened, err := loadLib(c.path)
		if err == nil {
			return b, nil
		}
		// A bare name goes to the dynamic linker's search path; failing to open it there means
		// the library is not installed, not that it is broken.
		found = found || opened || !bare
		where := c.path
		if bare {
			where += " (dynamic linker search path)"
		}
		tried = append(tried, fmt.Sprintf("%s: %v", where, err))
	}
	msg := "\n\t" + strings.Join(tried, "\n\t")
	if !found {
		return nil, fmt.Errorf("%w (build it with `make lib` or set %s); tried:%s", errNoLibrary, envLib, msg)
	}
	return nil, fmt.Errorf("offheap: purego backend: no usable %s; tried:%s", libName, msg)
}

// libCandidate is a path to try, or (path "") a place that could not be searched and why.
type libCandidate struct{ path, skipped string }

// libCandidates lists where the library may be, in order: $ZEROPOOL_LIB alone when set; else
// next to the executable, then build/ of this module's root above the working directory, then
// the dynamic linker's search path.
func libCandidates() []libCandidate {
	if p := os.Getenv(envLib); p != "" {
		return []libCandidate{{path: p}}
	}
	var cs []libCandidate
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		cs = append(cs, libCandidate{path: filepath.Join(dir, libName)},
			libCandidate{path: filepath.Join(dir, "..", "lib", libName)})
	} else {
		cs = append(cs, libCandidate{skipped: fmt.Sprintf("next to the executable: %v", err)})
	}
	if wd, err := os.Getwd(); err != nil {
		cs = append(cs, libCandidate{skipped: fmt.Sprintf("build/%s: %v", libName, err)})
	} else if root, ok := moduleRoot(wd); ok {
		cs = append(cs, libCandidate{path: filepath.Join(root, "build", libName)})
	} else {
		cs = append(cs, libCandidate{skipped: fmt.Sprintf("build/%s: no go.mod of %s at or above %s",
			libName, modulePath, wd)})
	}
	return append(cs, libCandidate{path: libName})
}

// moduleRoot walks up from dir to the directory whose go.mod declares this module.
func moduleRoot(dir string) (string, bool) {
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && declares(data, modulePath) {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func declares(gomod []byte, path string) bool {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`) == path
		}
	}
	return false
}

// loadLib opens one candidate and checks that it speaks our ABI. A refused library is closed
// again, so that the next candidate can be tried.
func loadLib(path string) (b backend, opened bool, err error) {
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return nil, false, err
	}
	pb, err := bindLib(h)
	if err != nil {
		_ = purego.Dlclose(h)
		return nil, true, err
	}
	pb.path = path
	return pb, true, nil
}

func bindLib(h uintptr) (*puregoBackend, error) {
	sym := func(name string) (uintptr, error) {
		fn, err := purego.Dlsym(h, name)
		if err == nil && fn == 0 {
			err = errors.New("nil symbol")
		}
		if err != nil {
			return 0, fmt.Errorf("symbol %s: %w", name, err)
		}
		return fn, nil
	}
	version, err := sym("zp_abi_version")
	if err != nil {
		return nil, err
	}
	r1, _, _ := purego.SyscallN(version)
	if v := int32(r1); v != abiVersion {
		return nil, fmt.Errorf("ABI version %d, want %d (rebuild it with `make lib`)", v, abiVersion)
	}
	b := &puregoBackend{}
	for _, f := range []struct {
		name string
		fn   *uintptr
	}{
		{"zp_map", &b.zpMap}, {"zp_unmap", &b.zpUnmap}, {"zp_lock", &b.zpLock},
		{"zp_unlock", &b.zpUnlock}, {"zp_protect", &b.zpProtect}, {"zp_advise", &b.zpAdvise},
	} {
		if *f.fn, err = sym(f.name); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (*puregoBackend) name() string { return "purego" }

func (b *puregoBackend) mapRegion(s *mapSpec) error {
	r1, _, _ := purego.SyscallN(b.zpMap, uintptr(unsafe.Pointer(s)))
	return rcErr(r1)
}

func (b *puregoBackend) unmap(addr, length uintptr) error {
	return call(b.zpUnmap, 2, addr, length, 0)
}

func (b *puregoBackend) lock(addr, length uintptr) error {
	return call(b.zpLock, 2, addr, length, 0)
}

func (b *puregoBackend) unlock(addr, length uintptr) error {
	return call(b.zpUnlock, 2, addr, length, 0)
}

func (b *puregoBackend) protect(addr, length uintptr, prot int) error {
	return call(b.zpProtect, 3, addr, length, uintptr(prot))
}

func (b *puregoBackend) advise(addr, length uintptr, advice int) error {
	return call(b.zpAdvise, 3, addr, length, uintptr(advice))
}

// argvPool holds argument lists for call. purego.SyscallN is variadic and marks its arguments
// as escaping, so a list built at each call site is a heap allocation per call; a pooled one is
// not. Only integers pass through it (sizes, flags and addresses of memory outside the Go
// heap), never a Go pointer, so keeping them as uintptr outside the call expression is sound.
var argvPool = sync.Pool{New: func() any { return new([3]uintptr) }}

// call calls the C function fn with the first n of a0, a1, a2 and reads its -errno result.
func call(fn uintptr, n int, a0, a1, a2 uintptr) error {
	argv := argvPool.Get().(*[3]uintptr)
	argv[0], argv[1], argv[2] = a0, a1, a2
	r1, _, _ := purego.SyscallN(fn, argv[:n]...)
	argvPool.Put(argv)
	return rcErr(r1)
}

// rcErr reads a C int return value: only the low 32 bits of the register are defined.
func rcErr(r1 uintptr) error {
	if rc := int32(r1); rc != 0 {
		return unix.Errno(-rc)
	}
	return nil
}
