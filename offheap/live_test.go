package offheap

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeMappings lays out n disjoint records of random page-multiple sizes (1 page to 64 MiB,
// many of them powers of two and their neighbours, the sizes at a level's edges) with random
// gaps, as the kernel may place them. No memory is mapped.
func fakeMappings(r *rand.Rand, n int) []*mapping {
	pg := uintptr(PageSize())
	sizes := []uintptr{pg, 2 * pg, 3 * pg, 16 * pg, 16*pg + pg, 512 * pg, 64 << 20}
	ms := make([]*mapping, n)
	at := uintptr(1 << 40)
	for i := range ms {
		size := sizes[r.IntN(len(sizes))]
		if r.IntN(3) == 0 {
			size = uintptr(1+r.IntN(4096)) * pg
		}
		at += uintptr(r.IntN(3)) * pg // adjacent ranges too
		ms[i] = &mapping{addr: at, size: size}
		at += size
	}
	return ms
}

// holderOf is the reference: the record among ms whose range holds addr, by a linear search.
func holderOf(ms []*mapping, addr uintptr) *mapping {
	for _, m := range ms {
		if addr-m.addr < m.size {
			return m
		}
	}
	return nil
}

// TestLiveIndexFindsHolder: the index finds the record holding an address (its first byte,
// its last, anywhere between) and nothing in the gaps and outside, as a linear search does,
// while records are added and removed in any order.
func TestLiveIndexFindsHolder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pg := uintptr(PageSize())
	ms := fakeMappings(r, 2000)
	var x liveIndex
	for _, m := range ms {
		x.add(m)
	}
	require.Equal(t, len(ms), x.len())
	check := func(in []*mapping) {
		t.Helper()
		for _, m := range ms {
			for _, addr := range []uintptr{m.addr - 1, m.addr, m.addr + pg/2, m.addr + m.size/2,
				m.addr + m.size - 1, m.addr + m.size} {
				want := holderOf(in, addr)
				if got := x.find(addr); got != want {
					require.Failf(t, "wrong holder", "find(%#x) = %v, want %v", addr, got, want)
				}
			}
		}
		assert.Nil(t, x.find(0))
		assert.Nil(t, x.find(^uintptr(0)))
	}
	check(ms)

	// Remove a random half, then check again; remove the rest.
	r.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
	kept := slices.Clone(ms[len(ms)/2:])
	for _, m := range ms[:len(ms)/2] {
		x.remove(m)
	}
	assert.Equal(t, len(kept), x.len())
	check(kept)
	for _, m := range kept {
		x.remove(m)
	}
	assert.Zero(t, x.len())
	assert.Zero(t, x.levels, "no level in use")
	assert.Empty(t, x.blocks, "no block left")
	x.remove(kept[0]) // a record not in the index: nothing happens
	assert.Zero(t, x.len())
}

// TestLiveIndexLevels: a record is filed at the least level whose block holds its size, and
// meets one or two blocks of it.
func TestLiveIndexLevels(t *testing.T) {
	pg := uintptr(PageSize())
	for _, c := range []struct {
		size  uintptr
		level uint8
	}{
		{pg, uint8(levelOf(pg))}, {2 * pg, levelOf(pg) + 1}, {3 * pg, levelOf(pg) + 2},
		{4 * pg, levelOf(pg) + 2}, {1 << 46, 46}, {1<<46 - pg, 46},
	} {
		assert.Equal(t, c.level, levelOf(c.size), "size %d", c.size)
		assert.GreaterOrEqual(t, uintptr(1)<<c.level, c.size)
		assert.Less(t, uintptr(1)<<c.level/2, c.size)
	}
	_, lo, hi := blocksOf(&mapping{addr: 1 << 30, size: 4 * pg})
	assert.Equal(t, lo, hi, "an aligned record meets one block")
	_, lo, hi = blocksOf(&mapping{addr: 1<<30 + pg, size: 4 * pg})
	assert.Equal(t, lo+1, hi, "an unaligned one two")
}

// BenchmarkLiveIndex measures entering, finding (an interior address) and dropping a record
// with n records live: the costs do not grow with n.
func BenchmarkLiveIndex(b *testing.B) {
	for _, n := range []int{10, 1000, 100000} {
		r := rand.New(rand.NewPCG(3, 4))
		ms := fakeMappings(r, n+1)
		var x liveIndex
		for _, m := range ms[:n] {
			x.add(m)
		}
		extra := ms[n]
		b.Run("find/n="+strconv.Itoa(n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				m := ms[i%n]
				if x.find(m.addr+m.size/2) != m {
					b.Fatal("wrong holder")
				}
				i += 7919
			}
		})
		b.Run("add+remove/n="+strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				x.add(extra)
				x.remove(extra)
			}
		})
	}
}
