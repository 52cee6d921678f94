package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/zeropool-go/zeropool/internal/procfs"
)

// Where the facts come from.
const (
	thpPath         = "/sys/kernel/mm/transparent_hugepage/enabled"
	thpDefragPath   = "/sys/kernel/mm/transparent_hugepage/defrag"
	maxMapCountPath = "/proc/sys/vm/max_map_count"
	clearRefsPath   = "/proc/self/clear_refs"
)

// capIPCLock is the capability bit that lifts RLIMIT_MEMLOCK (linux/capability.h).
const capIPCLock = 14

// bracketed returns the selected word of a sysfs choice list such as
// "always [madvise] never".
func bracketed(s string) (string, error) {
	i := strings.IndexByte(s, '[')
	j := strings.IndexByte(s, ']')
	if i < 0 || j < i {
		return "", fmt.Errorf("no [selected] value in %q", strings.TrimSpace(s))
	}
	return s[i+1 : j], nil
}

// sysfsChoice reads the selected value of a sysfs choice list, such as the transparent huge
// page mode (always, madvise, never).
func sysfsChoice(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return bracketed(string(b))
}

// hasCap reports whether the hexadecimal capability mask capEff (as in CapEff) holds bit.
func hasCap(capEff string, bit uint) (bool, error) {
	m, err := strconv.ParseUint(capEff, 16, 64)
	if err != nil {
		return false, fmt.Errorf("capability mask %q: %w", capEff, err)
	}
	return m&(1<<bit) != 0, nil
}

// hasCapIPCLock reports whether this process may lock memory beyond RLIMIT_MEMLOCK.
func hasCapIPCLock() (bool, error) {
	v, err := procfs.StatusField("CapEff")
	if err != nil {
		return false, err
	}
	return hasCap(v, capIPCLock)
}

func formatLimit(n uint64) string {
	if n == rlimInfinity {
		return "unlimited"
	}
	return fmt.Sprintf("%s (%d bytes)", formatBytesU(n), n)
}

func formatBytesU(n uint64) string {
	if n > 1<<62 {
		return fmt.Sprintf("%d B", n)
	}
	return formatBytes(int64(n))
}

func maxMapCount() (int, error) {
	b, err := os.ReadFile(maxMapCountPath)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// peakRSS returns the process's peak resident set size (VmHWM).
func peakRSS() (int64, error) {
	return procfs.StatusBytes("VmHWM")
}

// currentRSS returns the process's resident set size now (VmRSS).
func currentRSS() (int64, error) {
	return procfs.StatusBytes("VmRSS")
}

// resetPeakRSS sets VmHWM back to the current RSS (Linux 4.0+), so that each phase of the
// demo reports its own peak rather than the process's.
func resetPeakRSS() error {
	return os.WriteFile(clearRefsPath, []byte("5"), 0)
}
