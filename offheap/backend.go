package offheap

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
)

// EnvBackend names the environment variable that chooses the default backend.
const EnvBackend = "ZEROPOOL_BACKEND"

// ErrUnknownBackend is returned for a backend name that is not compiled into this binary.
var ErrUnknownBackend = errors.New("offheap: unknown backend")

// backend does the system work for one implementation. mapRegion carries out the whole mapping
// recipe of a spec in one call, so that a native backend crosses into C once per mapping, not
// once per syscall; its outputs follow zp_map's contract in csrc/zeropool.h (on failure,
// base and total are zero unless the cleanup could not unmap what it had mapped). Every
// method reports failure as an error wrapping the errno.
type backend interface {
	name() string
	mapRegion(s *mapSpec) error
	unmap(addr, length uintptr) error
	lock(addr, length uintptr) error // mlock2(MLOCK_ONFAULT), falling back to mlock
	unlock(addr, length uintptr) error
	protect(addr, length uintptr, prot int) error
	advise(addr, length uintptr, advice int) error
}

// backendSlot is one compiled-in backend, opened on first use: a native backend may fail to
// load, and that failure is reported to whoever chooses it, every time.
type backendSlot struct {
	name string
	open func() (backend, error)
	once sync.Once
	b    backend
	err  error
}

// preference orders every backend this package has, best first: the native recipe compiled
// into the binary (one crossing per mapping, nothing to find at run time), the same recipe
// loaded from a shared library, then the system calls made from Go, which always work on
// Linux. The portable backend is the only one of other systems (and of Linux builds with the
// zeropool_portable tag), never compiled beside the others.
var preference = []string{"cgo", "purego", "syscall", "portable"}

// backends lists the compiled-in backends in the order of preference. Build-tagged files add
// to it from init; nothing is loaded until chosen.
var backends []*backendSlot

func registerBackend(name string, open func() (backend, error)) {
	rank := slices.Index(preference, name)
	if rank < 0 {
		panic("offheap: backend " + name + " is missing from the preference list")
	}
	i := slices.IndexFunc(backends, func(s *backendSlot) bool { return slices.Index(preference, s.name) > rank })
	if i < 0 {
		i = len(backends)
	}
	backends = slices.Insert(backends, i, &backendSlot{name: name, open: open})
}

// Backends returns the names of the backends compiled into this binary, the default first
// unless ZEROPOOL_BACKEND says otherwise. A listed backend may still fail to open (the purego
// backend needs its shared library); CheckBackend tells.
func Backends() []string {
	names := make([]string, len(backends))
	for i, s := range backends {
		names[i] = s.name
	}
	return names
}

// DefaultBackend returns the backend Alloc uses when no WithBackend option is given: the
// ZEROPOOL_BACKEND environment variable when set, else the first of Backends.
func DefaultBackend() string {
	if name := os.Getenv(EnvBackend); name != "" {
		return name
	}
	return backends[0].name
}

// CheckBackend opens the named backend ("" means the default) and reports why it cannot be
// used, if it cannot.
func CheckBackend(name string) error {
	_, err := openBackend(name)
	return err
}

func openBackend(name string) (backend, error) {
	if name == "" {
		name = DefaultBackend()
	}
	for _, s := range backends {
		if s.name == name {
			s.once.Do(func() { s.b, s.err = s.open() })
			return s.b, s.err
		}
	}
	return nil, fmt.Errorf("%w %q (compiled in: %v)", ErrUnknownBackend, name, Backends())
}
