//go:build linux && !zeropool_portable

package offheap

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"
)

// VmFlags returns the kernel's VmFlags for the mapping (VMA) that holds the first byte of b,
// as /proc/self/smaps lists them: "lo" locked, "dd" no dump, "wf" wipe on fork, "dc" do not
// copy on fork, "hg" huge page advised, "rd wr" access, and so on. A mapping can be split into
// several VMAs (by locking or protecting part of it); this reads the one at b.
//
// /proc/self/smaps is Linux's: on other systems VmFlags returns an error wrapping
// ErrUnsupported.
func VmFlags(b []byte) ([]string, error) {
	return vmFlagsAt(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

func vmFlagsAt(addr uintptr) ([]string, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	inside := false
	for sc.Scan() {
		line := sc.Text()
		if lo, hi, ok := vmaRange(line); ok {
			inside = uint64(addr) >= lo && uint64(addr) < hi
			continue
		}
		if inside && strings.HasPrefix(line, "VmFlags:") {
			return strings.Fields(strings.TrimPrefix(line, "VmFlags:")), nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: no VMA holds %#x", ErrNotMapped, addr)
}

// vmaRange parses a smaps header line such as "7f12a0000000-7f12a0200000 rw-p 00000000 ...".
func vmaRange(line string) (lo, hi uint64, ok bool) {
	dash := strings.IndexByte(line, '-')
	sp := strings.IndexByte(line, ' ')
	if dash <= 0 || sp <= dash {
		return 0, 0, false
	}
	lo, err1 := strconv.ParseUint(line[:dash], 16, 64)
	hi, err2 := strconv.ParseUint(line[dash+1:sp], 16, 64)
	return lo, hi, err1 == nil && err2 == nil
}

// HasVmFlags reports whether the VMA at b carries every one of want. On other systems it
// returns VmFlags's error.
func HasVmFlags(b []byte, want ...string) (bool, error) {
	got, err := VmFlags(b)
	if err != nil {
		return false, err
	}
	have := make(map[string]bool, len(got))
	for _, g := range got {
		have[g] = true
	}
	for _, w := range want {
		if !have[w] {
			return false, nil
		}
	}
	return true, nil
}
