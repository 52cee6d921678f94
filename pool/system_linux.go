//go:build linux && !zeropool_portable

package pool

// systemRefusals lists the Config features this system cannot honour: none on Linux, which
// has every one (system_other.go has the other systems' list).
func (c Config) systemRefusals() []error { return nil }
