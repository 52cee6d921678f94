package pool

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/offheap"
)

// rssAnon returns the anonymous memory of this process resident in RAM, after a collection
// that gives the Go heap's free pages back, so that the Go heap disturbs the reading as little
// as it can.
func rssAnon(t *testing.T) int64 {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	return procStatus(t, "RssAnon")
}

// touchPages writes one byte into every page of b[:cap(b)], so that all of it is resident.
func touchPages(b []byte) {
	b = b[:cap(b)]
	for i := 0; i < len(b); i += offheap.PageSize() {
		b[i] = 1
	}
}

// Trim gives idle memory back to the system: with 64 MiB idle and resident (half in mappings
// of their own, half in slabs), resident memory falls by about as much.
func TestTrimReleasesResidentMemory(t *testing.T) {
	needsMappedMemory(t, "resident memory given back by Trim")
	const MiB = 1 << 20
	p := newPool(t, Config{MaxBuffersPerShard: 1024}) // room to keep every buffer idle
	base := rssAnon(t)
	var bufs [][]byte
	for range 8 {
		bufs = append(bufs, p.Get(4*MiB)) // a mapping each
	}
	for range 512 {
		bufs = append(bufs, p.Get(64<<10)) // slab slots
	}
	for _, b := range bufs {
		touchPages(b)
	}
	for _, b := range bufs {
		require.NoError(t, p.Put(b))
	}
	s := p.Stats()
	require.Equal(t, int64(64*MiB), s.IdleBytes, "every buffer is kept idle")
	require.Zero(t, s.InUse)

	held := rssAnon(t)
	require.Equal(t, int64(64*MiB), resident(t, bufs), "the idle buffers are resident")
	released := p.Trim()
	after := rssAnon(t)
	t.Logf("RssAnon: %s before, %s with 64 MiB idle, %s after Trim released %s",
		FormatBytes(base), FormatBytes(held), FormatBytes(after), FormatBytes(released))
	assert.GreaterOrEqual(t, released, int64(64*MiB))
	assert.Zero(t, resident(t, bufs), "none of the idle memory is resident after Trim")
	if !raceEnabled { // the race detector's shadow memory moves RssAnon by itself
		assert.GreaterOrEqual(t, held-after, int64(56*MiB), "the process's resident memory falls by most of the 64 MiB")
	}
	s = p.Stats()
	assert.Zero(t, s.IdleBytes)
	assert.Zero(t, s.MappedBytes)
}

// Trim on a Pinned pool gives back the free slots of slabs that still have buffers out:
// unlocked first (the kernel refuses to discard locked pages), then discarded; the slab is
// locked again when a slot is reused.
func TestTrimReleasesPinnedFreeSlots(t *testing.T) {
	needsLinux(t, "pinning (mlock, VmLck)")
	if !hasCapIPCLock() {
		t.Skip("needs CAP_IPC_LOCK to pin 2 MiB slabs")
	}
	oneP(t)
	p := newPool(t, Config{Pinned: true, LocalCacheSize: 1})
	var bufs [][]byte
	for range 64 {
		b := p.Get(64 << 10)
		touchPages(b)
		bufs = append(bufs, b)
	}
	held := bufs[0] // keeps the slab mapped
	free := bufs[1:]
	for _, b := range free {
		require.NoError(t, p.Put(b))
	}
	lockedBefore := vmLck(t)
	require.Equal(t, int64(len(free))*64<<10, resident(t, free), "the put-back buffers are resident")
	p.Trim()
	assert.Zero(t, resident(t, free), "Trim gave the free slots' pages back")
	assert.Zero(t, p.Stats().UnreleasedBytes, "the kernel refused nothing")
	assert.Less(t, vmLck(t), lockedBefore, "VmLck falls: the free slots were unlocked")
	// Reuse locks the slab again.
	b := p.Get(64 << 10)
	touchPages(b)
	flags, err := offheap.VmFlags(b)
	require.NoError(t, err)
	assert.Contains(t, flags, "lo", "the reused slot is locked again")
	require.NoError(t, p.Put(b))
	require.NoError(t, p.Put(held))
}
