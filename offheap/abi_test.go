package offheap

import (
	"os"
	"regexp"
	"strconv"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The C side of the ABI lives in csrc/zeropool.h; these tests read it so that the Go and C
// declarations cannot drift apart unnoticed in any build mode, cgo or not.

func readHeader(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../csrc/zeropool.h")
	require.NoError(t, err)
	return string(data)
}

// TestMapSpecLayout checks mapSpec against fixed numbers and against the header's static
// assertions, which the C compiler checks against struct zp_map_spec.
func TestMapSpecLayout(t *testing.T) {
	var s mapSpec
	const size = 56
	offsets := map[string]uintptr{ // C field name: Go offset
		"size":     unsafe.Offsetof(s.size),
		"align":    unsafe.Offsetof(s.align),
		"flags":    unsafe.Offsetof(s.flags),
		"result":   unsafe.Offsetof(s.result),
		"base":     unsafe.Offsetof(s.base),
		"total":    unsafe.Offsetof(s.total),
		"addr":     unsafe.Offsetof(s.addr),
		"lock_err": unsafe.Offsetof(s.lockErr),
	}
	fixed := map[string]uintptr{"size": 0, "align": 8, "flags": 16, "result": 20, "base": 24,
		"total": 32, "addr": 40, "lock_err": 48}
	assert.Equal(t, uintptr(size), unsafe.Sizeof(s))
	assert.Equal(t, fixed, offsets)
	assert.Equal(t, uintptr(4), unsafe.Sizeof(s.flags))
	assert.Equal(t, uintptr(4), unsafe.Sizeof(s.result))
	assert.Equal(t, uintptr(8), unsafe.Sizeof(s.lockErr))

	hdr := readHeader(t)
	m := regexp.MustCompile(`STATIC_ASSERT\(sizeof\(struct zp_map_spec\) == (\d+)`).FindStringSubmatch(hdr)
	require.NotNil(t, m, "size assertion in the header")
	assert.Equal(t, strconv.Itoa(size), m[1], "struct zp_map_spec size")
	all := regexp.MustCompile(`STATIC_ASSERT\(offsetof\(struct zp_map_spec, (\w+)\) == (\d+)`).FindAllStringSubmatch(hdr, -1)
	require.Len(t, all, len(offsets), "one offset assertion per field")
	for _, a := range all {
		off, ok := offsets[a[1]]
		if assert.True(t, ok, "C field %s has no Go counterpart", a[1]) {
			assert.Equal(t, strconv.Itoa(int(off)), a[2], "offset of %s", a[1])
		}
	}
}

// headerDefines evaluates the header's #define ZP_* lines of the forms it uses: a decimal
// number, (1u << n) and ((1u << n) - 1).
func headerDefines(t *testing.T) map[string]uint64 {
	t.Helper()
	defs := map[string]uint64{}
	line := regexp.MustCompile(`(?m)^#define (ZP_\w+)\s+(.+?)\s*(?:/\*.*)?$`)
	shift := regexp.MustCompile(`^\(1u << (\d+)\)$`)
	mask := regexp.MustCompile(`^\(\(1u << (\d+)\) - 1\)$`)
	for _, m := range line.FindAllStringSubmatch(readHeader(t), -1) {
		name, expr := m[1], m[2]
		if n, err := strconv.ParseUint(expr, 10, 64); err == nil {
			defs[name] = n
		} else if s := shift.FindStringSubmatch(expr); s != nil {
			n, _ := strconv.Atoi(s[1])
			defs[name] = 1 << n
		} else if s := mask.FindStringSubmatch(expr); s != nil {
			n, _ := strconv.Atoi(s[1])
			defs[name] = 1<<n - 1
		}
	}
	return defs
}

func TestFlagsMatchHeader(t *testing.T) {
	defs := headerDefines(t)
	want := map[string]uint64{
		"ZP_NODUMP":               specNoDump,
		"ZP_WIPEONFORK":           specWipeOnFork,
		"ZP_DONTFORK":             specDontFork,
		"ZP_HUGE":                 specHuge,
		"ZP_POPULATE":             specPopulate,
		"ZP_GUARD":                specGuard,
		"ZP_LOCK":                 specLock,
		"ZP_LOCK_REQUIRED":        specLockRequired,
		"ZP_NO_GUARD_MADVISE":     specNoGuardMadvise,
		"ZP_SECRETMEM":            specSecretMem,
		"ZP_ALL_FLAGS":            specAllFlags,
		"ZP_RESULT_LOCKED":        resultLocked,
		"ZP_RESULT_GUARD_MADVISE": resultGuardMadvise,
	}
	for name, v := range want {
		got, ok := defs[name]
		if assert.True(t, ok, "%s is defined in the header", name) {
			assert.Equal(t, v, got, "%s", name)
		}
	}
	_, ok := defs["ZP_ABI_VERSION"]
	assert.True(t, ok, "ZP_ABI_VERSION is defined in the header")
	for name := range defs {
		if _, known := want[name]; !known && name != "ZP_ABI_VERSION" && name != "ZP_STATIC_ASSERT" {
			t.Errorf("%s in the header has no Go counterpart checked here", name)
		}
	}
}
