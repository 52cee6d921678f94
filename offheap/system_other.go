//go:build !linux || zeropool_portable

package offheap

import (
	"fmt"
	"runtime"
)

// What the portable backend's refusals mean, for the errors of the generic code.

// systemName names this system in errors: its GOOS, or the Linux build that tests the
// portable backend.
func systemName() string {
	if runtime.GOOS == "linux" {
		return "linux built with the zeropool_portable tag"
	}
	return runtime.GOOS
}

// unsupported is the error for a feature that needs Linux: it names the feature and this
// system, and wraps ErrUnsupported (and so errors.ErrUnsupported).
func unsupported(feature string) error {
	return fmt.Errorf("offheap: %s needs Linux; this is %s: %w", feature, systemName(), ErrUnsupported)
}

// unsupportedOnGoMemory is the error for a feature that needs page protection, where the
// portable backend's memory is Go memory.
func unsupportedOnGoMemory(feature string) error {
	return fmt.Errorf("offheap: %s needs page protection, and the portable backend's memory on %s is Go memory: %w",
		feature, systemName(), ErrUnsupported)
}

// mapError adds nothing: the portable backend's own errors say what they mean.
func mapError(_ uint32, err error) error { return err }

// lockError is why a best-effort lock was not made: the portable backend never pins.
func lockError(int64) error { return unsupported("pinning (mlock)") }

// unmapHint adds nothing: there is no vm.max_map_count to explain.
func unmapHint(error) string { return "" }
