//go:build linux && !zeropool_portable

package offheap

import (
	"errors"
	"fmt"
	"syscall"
)

// What the Linux kernel's refusals mean, for the errors of the generic code.

// mapError adds to the error of a mapping that failed what the kernel meant by it: for
// SecretMem, ENOSYS and EPERM mean no secret memory (memfd_secret missing, disabled or
// filtered), EAGAIN that the secret pages would pass RLIMIT_MEMLOCK.
func mapError(flags uint32, err error) error {
	if flags&specSecretMem != 0 {
		switch {
		case errors.Is(err, syscall.ENOSYS), errors.Is(err, syscall.EPERM):
			return fmt.Errorf("%w: %w", ErrSecretMem, err)
		case errors.Is(err, syscall.EAGAIN):
			return fmt.Errorf("%w: secret memory is locked and charged to RLIMIT_MEMLOCK: %w", ErrPinFailed, err)
		}
	}
	return err
}

// goMemory reports whether the backends' memory is Go memory: never on Linux, where every
// backend maps with mmap (see portable_gomem.go for where it is).
const goMemory = false

// lockError is why a best-effort lock failed, from mapSpec.lockErr (-errno).
func lockError(code int64) error { return syscall.Errno(-code) }

// unmapHint explains an unmap the kernel refused.
func unmapHint(err error) string {
	if errors.Is(err, syscall.ENOMEM) {
		return " (at vm.max_map_count the kernel cannot split a merged run of mappings to " +
			"unmap one from its middle; the mapping stays live: unmap others and try again)"
	}
	return ""
}
