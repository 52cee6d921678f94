//go:build linux && !zeropool_portable

package offheap

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/internal/procfs"
)

// The mapping recipe exists twice: in Go (the syscall backend) and in C (csrc/zeropool.c, run
// by the cgo and purego backends). TestBackendsMakeIdenticalMappings is what keeps the two the
// same: for every combination of the options a spec can carry, each usable backend of this
// build maps the same request, and the kernel's account of the mappings must be identical.

// recipeOptions is one combination of what reaches a backend's recipe: the spec's flags and
// its alignment.
type recipeOptions struct {
	flags uint32
	align int
}

// flagNames names the flags in the subtests' names; a flag missing here is named by its bit.
var flagNames = []struct {
	flag uint32
	name string
}{
	{specNoDump, "nodump"}, {specWipeOnFork, "wipeonfork"}, {specDontFork, "dontfork"},
	{specHuge, "huge"}, {specPopulate, "populate"}, {specGuard, "guard"}, {specLock, "pin"},
	{specNoGuardMadvise, "noguardmadvise"}, {specSecretMem, "secretmem"},
}

func (c recipeOptions) name() string {
	var parts []string
	for bit := uint32(1); bit&specAllFlags != 0; bit <<= 1 {
		if c.flags&bit == 0 {
			continue
		}
		i := slices.IndexFunc(flagNames, func(f struct {
			flag uint32
			name string
		}) bool {
			return f.flag == bit
		})
		if i >= 0 {
			parts = append(parts, flagNames[i].name)
		} else {
			parts = append(parts, fmt.Sprintf("flag%#x", bit))
		}
	}
	if c.align > PageSize() {
		parts = append(parts, "align2m")
	}
	if len(parts) == 0 {
		return "plain"
	}
	return strings.Join(parts, "+")
}

func (c recipeOptions) options() []Option { return []Option{flag(c.flags), Align(c.align)} }

// allRecipeOptions lists every combination: every subset of the spec's flags (a flag added to
// spec.go is covered without a word here), with an alignment of a page or of 2 MiB (an
// over-mapping whose slack is trimmed). specLockRequired never reaches a backend (Alloc asks
// for a best-effort lock and checks it itself); specHuge is left out where the kernel has no
// transparent huge pages (it refuses the advice), specSecretMem where it has no secret memory.
func allRecipeOptions(huge, secret bool) []recipeOptions {
	var all []recipeOptions
	for flags := uint32(0); flags <= specAllFlags; flags++ {
		if flags&specLockRequired != 0 || flags&specHuge != 0 && !huge || flags&specSecretMem != 0 && !secret {
			continue
		}
		for _, align := range []int{PageSize(), 2 << 20} {
			all = append(all, recipeOptions{flags, align})
		}
	}
	return all
}

// kernelView is what the kernel says of one mapping, with addresses relative to the start of
// the whole mapping so that mappings at different addresses compare.
type kernelView struct {
	Info       Info    // Stat's account, the backend's name left out
	LowerGuard uintptr // bytes from the start of the mapping to its first usable byte
	Total      uintptr
	Result     uint32 // the spec's result bits
	VMAs       []vmaView
	// Readable through /proc/self/mem (which reads PROT_NONE pages but not guard markers
	// nor secret memory): the lower guard page, the first and last usable page, the upper
	// guard page.
	MemReadable [4]bool
	Resident    int   // usable pages in RAM (mincore)
	VmLck       int64 // bytes /proc/self/status's VmLck grew by when it was mapped
}

// vmaView is one VMA of /proc/self/smaps, clipped to the mapping: a neighbour that merged
// with it is left out.
type vmaView struct {
	Off, Len uintptr
	Perms    string   // "rw-p", "---p", "rw-s"
	Flags    []string // VmFlags, sorted, without "gu" (see below)
}

// smapsOf reads /proc/self/smaps once and returns the VMAs that meet [lo, hi), clipped to it.
// "gu" (a VMA that may hold guard markers) is sticky: the kernel carries it over when VMAs
// merge, so a neighbour's history can set it. It is left out of the comparison; the markers
// themselves are compared through /proc/self/mem.
func smapsOf(t *testing.T, lo, hi uintptr) []vmaView {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var vmas []vmaView
	var cur *vmaView
	for sc.Scan() {
		line := sc.Text()
		if a, b, ok := vmaRange(line); ok {
			cur = nil
			if uintptr(a) < hi && uintptr(b) > lo {
				fields := strings.Fields(line)
				vmas = append(vmas, vmaView{Off: max(uintptr(a), lo) - lo, Len: min(uintptr(b), hi) - max(uintptr(a), lo),
					Perms: fields[1]})
				cur = &vmas[len(vmas)-1]
			}
			continue
		}
		if cur != nil && strings.HasPrefix(line, "VmFlags:") {
			cur.Flags = slices.DeleteFunc(strings.Fields(strings.TrimPrefix(line, "VmFlags:")),
				func(s string) bool { return s == "gu" })
			slices.Sort(cur.Flags)
		}
	}
	require.NoError(t, sc.Err())
	return vmas
}

// memReadable reports whether a page can be read through /proc/self/mem.
func memReadable(t *testing.T, mem *os.File, addr uintptr) bool {
	t.Helper()
	var b [1]byte
	_, err := mem.ReadAt(b[:], int64(addr))
	return err == nil
}

func vmLck(t *testing.T) int64 {
	t.Helper()
	n, err := procfs.StatusBytes("VmLck")
	require.NoError(t, err)
	return n
}

// viewOf maps size bytes with the backend as opts ask, reads what the kernel says of the
// mapping, and frees it.
func viewOf(t *testing.T, mem *os.File, be string, size int, opts []Option) kernelView {
	t.Helper()
	before := vmLck(t)
	b, err := Alloc(size, append(slices.Clone(opts), WithBackend(be))...)
	require.NoError(t, err, "Alloc with the %s backend", be)
	defer func() { require.NoError(t, Free(b)) }()
	v := kernelView{VmLck: vmLck(t) - before}
	m, err := find(b)
	require.NoError(t, err)
	v.Info = m.info()
	v.Info.Backend = ""
	v.LowerGuard, v.Total, v.Result = m.addr-m.base, m.total, m.spec.result
	v.VMAs = smapsOf(t, m.base, m.base+m.total)
	pg := uintptr(PageSize())
	for i, addr := range []uintptr{m.addr - pg, m.addr, m.addr + m.size - pg, m.addr + m.size} {
		if addr >= m.base && addr < m.base+m.total {
			v.MemReadable[i] = memReadable(t, mem, addr)
		}
	}
	v.Resident = residentPages(t, b)
	return v
}

// TestBackendsMakeIdenticalMappings: every backend of this build makes the same mapping of
// the same request, for every combination of the options (allRecipeOptions): the same VMAs
// (offsets, lengths, protections, VmFlags), guards of the same kind where the same pages
// (through /proc/self/mem), the same resident pages, the same growth of VmLck, and the same
// Stat. The syscall backend is the reference.
func TestBackendsMakeIdenticalMappings(t *testing.T) {
	bes := usableBackends(t)
	require.Contains(t, bes, "syscall")
	if len(bes) < 2 {
		t.Skipf("only the %v backend in this build: nothing to compare", bes)
	}
	bes = slices.DeleteFunc(bes, func(s string) bool { return s == "syscall" })
	secret := true
	if b, err := Alloc(PageSize(), SecretMem(), WithBackend("syscall")); err != nil {
		if !errors.Is(err, ErrSecretMem) && !errors.Is(err, ErrPinFailed) {
			require.NoError(t, err)
		}
		t.Logf("no SecretMem combinations: %v", err)
		secret = false
	} else {
		require.NoError(t, Free(b))
	}
	mem, err := os.Open("/proc/self/mem")
	require.NoError(t, err)
	defer mem.Close()

	combos := allRecipeOptions(thpAvailable(), secret)
	t.Logf("%d combinations, backends %v against syscall", len(combos), bes)
	const pages = 5
	for _, c := range combos {
		t.Run(c.name(), func(t *testing.T) {
			want := viewOf(t, mem, "syscall", pages*PageSize(), c.options())
			// The reference itself must show the options, or the comparison proves little.
			require.NotEmpty(t, want.VMAs)
			if c.flags&specGuard != 0 {
				assert.Equal(t, uintptr(PageSize()), want.LowerGuard, "a guard page below")
				if want.Info.Guard == guardMadvise {
					assert.False(t, want.MemReadable[0], "a guard marker cannot be read")
				}
			}
			for _, be := range bes {
				assert.Equal(t, want, viewOf(t, mem, be, pages*PageSize(), c.options()), "%s backend", be)
			}
		})
	}
}
