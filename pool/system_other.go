//go:build !linux || zeropool_portable

package pool

import (
	"fmt"
	"runtime"

	"github.com/zeropool-go/zeropool/offheap"
)

// systemRefusals lists the Config features that need Linux, each as an error wrapping
// ErrInvalidConfig and offheap.ErrUnsupported that names the feature and this system. The
// pool's memory here comes from offheap's portable backend: no pinning, no Linux madvise
// flags, no memfd_secret, no kernel registrations. Debug needs page protection, which the
// portable backend has where it maps with mmap and not where its memory is Go memory: a probe
// of the backend decides.
func (c Config) systemRefusals() []error {
	var errs []error
	refuse := func(feature string) {
		errs = append(errs, fmt.Errorf("%w: %s needs Linux; this is %s: %w", ErrInvalidConfig, feature, systemName(), offheap.ErrUnsupported))
	}
	if c.Secure {
		refuse("Secure (MADV_DONTDUMP, MADV_WIPEONFORK, mlock and guard pages for secrets)")
	}
	if c.SecretMem {
		refuse("SecretMem (memfd_secret)")
	}
	if (c.Pinned || c.Secure) && c.RequirePinned {
		refuse("RequirePinned (pinning with mlock; Pinned alone is best effort and counts Stats.PinFailures)")
	}
	if c.OnMap != nil || c.OnUnmap != nil {
		refuse("OnMap and OnUnmap (they announce regions for registration with the kernel, io_uring or RDMA)")
	}
	if c.DontFork {
		refuse("DontFork (MADV_DONTFORK)")
	}
	if c.Debug && offheap.CheckBackend(c.Backend) == nil {
		if err := probeProtect(c.Backend); err != nil {
			errs = append(errs, fmt.Errorf("%w: Debug needs page protection: %w", ErrInvalidConfig, err))
		}
	}
	return errs
}

// probeProtect asks the backend to protect a page of its own, as a Debug pool does with every
// idle buffer.
func probeProtect(backend string) error {
	m, err := offheap.Map(offheap.PageSize(), offheap.WithBackend(backend))
	if err != nil {
		return err
	}
	perr := m.Protect(m.Bytes(), offheap.ProtNone)
	if err := m.Unmap(); err != nil && perr == nil {
		return err
	}
	return perr
}

// systemName names this system in errors: its GOOS, or the Linux build that tests the
// other systems' code.
func systemName() string {
	if runtime.GOOS == "linux" {
		return "linux built with the zeropool_portable tag"
	}
	return runtime.GOOS
}
