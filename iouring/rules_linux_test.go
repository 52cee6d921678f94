//go:build !zeropool_portable

package iouring

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/internal/uring"
	"github.com/zeropool-go/zeropool/offheap"
	"github.com/zeropool-go/zeropool/pool"
)

// The symptom the hooks prevent, made by hand: replacing the pages behind a registered buffer
// (MADV_DONTNEED, which Trim did to free slab slots before the hooks existed) leaves the
// kernel with the old pages. READ_FIXED reports every byte read, and the buffer stays zero.
// This is what checkRoundTrip catches: the tests above would fail on a stale registration.
func TestStaleRegistrationShows(t *testing.T) {
	r := newRing(t)
	tb := newTable(t, r, 8)
	p := hooked(t, tb, pool.Config{})
	buf := p.Get(64 * KiB)
	defer func() { require.NoError(t, p.Put(buf)) }()
	want := patterned(len(buf), 1)
	f := dataFile(t, t.TempDir(), want)
	// What the pool never does to a hooked region (offheap refuses it too): new pages behind
	// the registered address.
	require.NoError(t, unix.Madvise(buf, unix.MADV_DONTNEED))
	res := readFixed(t, r, tb, int(f.Fd()), buf, 0)
	require.Equal(t, int32(len(buf)), res, "the kernel reports every byte read")
	assert.False(t, bytes.Equal(want, buf), "but not into the pages the buffer's holder sees")
	assert.Equal(t, make([]byte, len(buf)), buf, "those are new zero pages")
}

// pipe returns a pipe of one page's capacity.
func pipe(t *testing.T) (rd, wr *os.File) {
	t.Helper()
	var fds [2]int
	require.NoError(t, unix.Pipe2(fds[:], unix.O_CLOEXEC))
	rd, wr = os.NewFile(uintptr(fds[0]), "pipe-r"), os.NewFile(uintptr(fds[1]), "pipe-w")
	t.Cleanup(func() { _ = rd.Close(); _ = wr.Close() })
	_, err := unix.FcntlInt(wr.Fd(), unix.F_SETPIPE_SZ, os.Getpagesize())
	require.NoError(t, err)
	return rd, wr
}

// Put before the completion: a READ_FIXED still in flight writes into whoever holds the
// buffer next. The rule: Put only after the completion has been received.
func TestPutBeforeCompletionCorruptsTheNextHolder(t *testing.T) {
	oneP(t)
	r := newRing(t)
	tb := newTable(t, r, 8)
	p := hooked(t, tb, pool.Config{})
	rd, wr := pipe(t)
	const n = 4096
	buf := p.Get(n)
	idx, ok := tb.Index(buf)
	require.True(t, ok)
	// The pipe is empty: the read waits for data, in flight.
	require.NoError(t, r.Submit(uring.SQE{Op: uring.OpReadFixed, FD: int(rd.Fd()), Buf: buf, BufIndex: idx}))
	require.NoError(t, p.Put(buf)) // the mistake

	next := p.Get(n)
	require.Equal(t, addr(buf), addr(next), "the next Get hands out the same buffer")
	copy(next, bytes.Repeat([]byte("B"), n))
	_, err := wr.Write(bytes.Repeat([]byte("A"), n))
	require.NoError(t, err)
	cqes, err := r.Wait(1)
	require.NoError(t, err)
	require.Equal(t, int32(n), cqes[0].Res)
	assert.Equal(t, bytes.Repeat([]byte("A"), n), next, "the new holder's data was overwritten by a read it never started")
	require.NoError(t, p.Put(next))
}

// A Secure pool wipes a buffer on Put: a WRITE_FIXED still in flight then sends zeros.
func TestSecureWipeZeroesDataInFlight(t *testing.T) {
	r := newRing(t)
	tb := newTable(t, r, 8)
	p := hooked(t, tb, pool.Config{Secure: true})
	rd, wr := pipe(t)
	const n = 4096
	filler := bytes.Repeat([]byte("F"), n)
	_, err := wr.Write(filler) // the pipe is full: the next write waits, in flight
	require.NoError(t, err)

	buf := p.Get(n)
	copy(buf, bytes.Repeat([]byte("S"), n))
	idx, ok := tb.Index(buf)
	require.True(t, ok)
	require.NoError(t, r.Submit(uring.SQE{Op: uring.OpWriteFixed, FD: int(wr.Fd()), Buf: buf, BufIndex: idx}))
	require.NoError(t, p.Put(buf)) // the mistake: the wipe runs now

	got := make([]byte, n)
	_, err = rd.Read(got)
	require.NoError(t, err)
	require.Equal(t, filler, got)
	cqes, err := r.Wait(1)
	require.NoError(t, err)
	require.Equal(t, int32(n), cqes[0].Res)
	_, err = rd.Read(got)
	require.NoError(t, err)
	assert.Equal(t, make([]byte, n), got, "the write in flight sent the wiped buffer: zeros, not the secret")
}

// Small buffers of a Secure pool live in slabs fenced by guard pages; the slab's Region.Mem
// is the part between the guards, which the kernel can pin: small secrets register and do
// I/O like any other buffer, as buffers of a page or more (mappings of their own) do.
func TestSecureSmallBuffersRegister(t *testing.T) {
	r := newRing(t)
	tb := newTable(t, r, 8)
	p := hooked(t, tb, pool.Config{Secure: true})
	for i, size := range []int{64, 4096} {
		b := p.Get(size)
		_, ok := tb.Index(b)
		require.True(t, ok, "a %d-byte Secure buffer is registered", size)
		checkRoundTrip(t, r, tb, t.TempDir(), b, byte(5+i))
		require.NoError(t, p.Put(b))
	}
}

// A Debug pool makes a buffer inaccessible on Put, but the kernel writes through its pinned
// pages regardless: READ_FIXED into a buffer already put back succeeds, unseen, and the next
// holder finds the data.
func TestDebugCannotSeeKernelWrites(t *testing.T) {
	oneP(t)
	r := newRing(t)
	tb := newTable(t, r, 8)
	p := hooked(t, tb, pool.Config{Debug: true})
	const n = 64 * KiB
	buf := p.Get(n)
	clear(buf)
	idx, ok := tb.Index(buf)
	require.True(t, ok)
	require.NoError(t, p.Put(buf))
	flags, err := offheap.VmFlags(buf)
	require.NoError(t, err)
	assert.NotContains(t, flags, "rd", "the idle buffer is inaccessible to the process")

	want := patterned(n, 6)
	f := dataFile(t, t.TempDir(), want)
	cqes, err := r.Run(uring.SQE{Op: uring.OpReadFixed, FD: int(f.Fd()), Buf: buf, BufIndex: idx})
	require.NoError(t, err)
	assert.Equal(t, int32(n), cqes[0].Res, "the kernel wrote into the idle buffer")
	next := p.Get(n)
	require.Equal(t, addr(buf), addr(next))
	assert.True(t, bytes.Equal(want, next), "the next holder finds the kernel's write")
	require.NoError(t, p.Put(next))
}

// vmsplice hands the pipe references to the buffer's pages, not a copy, with or without
// SPLICE_F_GIFT: a buffer put back before the pipe is drained delivers whatever its next
// holder writes.
func TestVmspliceBeforeDrain(t *testing.T) {
	for name, flags := range map[string]int{"no flags": 0, "SPLICE_F_GIFT": unix.SPLICE_F_GIFT} {
		t.Run(name, func(t *testing.T) {
			oneP(t)
			p := pool.New()
			defer p.Close()
			rd, wr := pipe(t)
			const n = 4096
			buf := p.Get(n)
			copy(buf, bytes.Repeat([]byte("A"), n))
			iov := []unix.Iovec{{Base: &buf[0]}}
			iov[0].SetLen(n)
			k, err := unix.Vmsplice(int(wr.Fd()), iov, flags)
			require.NoError(t, err)
			require.Equal(t, n, k)
			require.NoError(t, p.Put(buf)) // the mistake: the pipe still refers to the pages

			next := p.Get(n)
			require.Equal(t, addr(buf), addr(next))
			copy(next, bytes.Repeat([]byte("B"), n))
			got := make([]byte, n)
			_, err = rd.Read(got)
			require.NoError(t, err)
			assert.Equal(t, bytes.Repeat([]byte("B"), n), got, "the pipe delivered the next holder's bytes")
			require.NoError(t, p.Put(next))
		})
	}
}
