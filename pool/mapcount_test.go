//go:build linux

package pool

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/internal/childtest"
	"github.com/zeropool-go/zeropool/internal/procfs"
)

// At vm.max_map_count the kernel refuses to unmap a slab from the middle of a merged run of
// mappings (adjacent slabs merge into one map entry, and unmapping one from the middle needs a
// new entry). The pool must not forget such a slab: it counts the refusal, keeps the bytes in
// MappedBytes, and unmaps them at the next Trim or Close once the kernel allows it. The test
// runs in a child process, which fills its own map count (lowering vm.max_map_count would
// change it for the whole system).
func TestUnmapRefusedAtMapCountLimit(t *testing.T) {
	needsLinux(t, "vm.max_map_count")
	if err := procfs.CanFillMapCount(); err != nil {
		t.Skip(err)
	}
	if childtest.Is(t.Name()) {
		mapCountChild(t)
		return
	}
	out, err := childtest.Run(t, t.Name(), childtest.Options{})
	require.NoError(t, err, "the child failed:\n%s", out)
	assert.Contains(t, out, "--- PASS: "+t.Name())
	v := childtest.Values(t, out)
	assert.Positive(t, v["unmap-failures"], "child output:\n%s", out)
}

func mapCountChild(t *testing.T) {
	const size = 128 << 10 // 15 slots in a slab
	// A small MaxIdleBytes: a slab is unmapped as soon as its last buffer comes back.
	p, err := NewWithConfig(Config{MaxIdleBytes: 64 << 10})
	require.NoError(t, err)
	f, err := procfs.NewMapFiller()
	require.NoError(t, err)
	defer func() { assert.NoError(t, f.Close()) }()

	// seen holds the range of every region the pool has had: a refused one leaves Regions
	// but stays mapped.
	seen := map[uintptr]uintptr{}
	note := func() {
		for _, r := range p.Regions() {
			seen[addrOf(r.Mem)] = uintptr(len(r.Mem))
		}
	}
	mapped := func() (regions, refused uintptr) {
		maps, err := procfs.Maps()
		require.NoError(t, err)
		live := map[uintptr]bool{}
		for _, r := range p.Regions() {
			live[addrOf(r.Mem)] = true
			regions += procfs.Covered(maps, addrOf(r.Mem), addrOf(r.Mem)+uintptr(len(r.Mem)))
		}
		for lo, n := range seen {
			if !live[lo] {
				refused += procfs.Covered(maps, lo, lo+n)
			}
		}
		return regions, refused
	}

	// Slabs, mapped one under the other, merge into one map entry. Holes that other mappings
	// left (a C library's trimmed arenas) may hold a slab or two, so map slabs until three
	// lie one after another.
	held := map[uintptr][][]byte{} // buffers by their region's address
	var middle []uintptr           // slabs with a slab right above and right below
	for len(middle) == 0 && len(held) < 32 {
		for range 15 {
			b, err := p.TryGet(size)
			require.NoError(t, err)
			r, _, err := p.RegionOf(b)
			require.NoError(t, err)
			held[addrOf(r.Mem)] = append(held[addrOf(r.Mem)], b)
		}
		for lo := range held {
			_, below := held[lo-slabSize]
			_, above := held[lo+slabSize]
			if below && above {
				middle = append(middle, lo)
			}
		}
	}
	note()
	require.NotEmpty(t, middle, "slabs mapped one after another lie next to each other: %#x", slices.Sorted(maps.Keys(held)))

	// At the limit: the middle slabs empty (each unmap refused), and slabs cycle under the
	// run (mapped next to it and unmapped from its end: both need no new entry).
	require.NoError(t, f.Fill())
	for _, lo := range middle {
		for _, b := range held[lo] {
			require.NoError(t, p.Put(b))
		}
		delete(held, lo)
	}
	gets := 0
	for range 4 {
		var bufs [][]byte
		for range 15 {
			if b, err := p.TryGet(size); err == nil { // a slab that merges with nothing fails
				bufs = append(bufs, b)
			}
		}
		gets += len(bufs)
		note()
		for _, b := range bufs {
			require.NoError(t, p.Put(b))
		}
	}
	require.NoError(t, f.Release(256))

	s := p.Stats()
	t.Logf("at the limit: %d of 60 gets served; %s", gets, s)
	assert.Positive(t, gets, "slabs that merge with a neighbour are mapped at the limit")
	require.Positive(t, s.UnmapFailures, "a slab in the middle of a merged run cannot be unmapped at the limit")
	regions, refused := mapped()
	// Every refused unmap left its slab mapped: the middle ones, and any slab that cycled in
	// between two others at the limit.
	assert.Equal(t, uintptr(s.UnmapFailures)*slabSize, refused, "the refused slabs are still mapped")
	assert.GreaterOrEqual(t, refused, uintptr(len(middle)*slabSize), "the middle slabs were refused")
	assert.Equal(t, int64(regions+refused), s.MappedBytes,
		"MappedBytes is what is really mapped: live regions %d bytes, refused ones %d", regions, refused)

	p.Trim() // below the limit again: the refused slabs go now
	s = p.Stats()
	regions, refused = mapped()
	assert.Zero(t, refused, "Trim unmapped the refused slabs")
	assert.Equal(t, int64(regions), s.MappedBytes)

	for _, bufs := range held {
		for _, b := range bufs {
			require.NoError(t, p.Put(b))
		}
	}
	require.NoError(t, p.Close())
	s = p.Stats()
	assert.Zero(t, s.MappedBytes, "Close unmapped everything")
	regions, refused = mapped()
	assert.Zero(t, regions+refused, "no region of the pool is left in /proc/self/maps")
	fmt.Printf("child: unmap-failures=%d\n", s.UnmapFailures)
}
