//go:build !linux || zeropool_portable

package offheap

// VmFlags returns the kernel's VmFlags for the mapping (VMA) that holds the first byte of b,
// as /proc/self/smaps lists them: "lo" locked, "dd" no dump, "wf" wipe on fork, "dc" do not
// copy on fork, "hg" huge page advised, "rd wr" access, and so on. A mapping can be split into
// several VMAs (by locking or protecting part of it); this reads the one at b.
//
// /proc/self/smaps is Linux's: on other systems VmFlags returns an error wrapping
// ErrUnsupported.
func VmFlags(b []byte) ([]string, error) {
	return nil, unsupported("VmFlags (/proc/self/smaps)")
}

// HasVmFlags reports whether the VMA at b carries every one of want. On other systems it
// returns VmFlags's error.
func HasVmFlags(b []byte, want ...string) (bool, error) {
	_, err := VmFlags(b)
	return false, err
}
