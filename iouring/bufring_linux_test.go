//go:build !zeropool_portable

package iouring

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zeropool-go/zeropool/pool"
)

// A multishot receive over loopback TCP into a BufRing: thousands of messages of 1 byte to
// 4 KiB, every byte checked against the stream, every buffer recycled at once. The ring
// holds count buffers of the pool the whole time, and gives them all back at Close.
func TestBufRingMultishotRecv(t *testing.T) {
	for _, tc := range []struct{ size, count int }{{4 << 10, 64}, {64 << 10, 8}, {1 << 10, 1}} {
		t.Run(fmt.Sprintf("%dx%d", tc.count, tc.size), func(t *testing.T) {
			r := newNetRing(t)
			p := newNetPool(t, pool.Config{})
			br := newBufRing(t, r, 3, p, tc.size, tc.count)
			fd, conn := tcpPair(t, nil)
			s := p.Stats()
			require.Equal(t, int64(tc.count), s.InUse, "the ring holds count buffers of the pool")

			const total = 8 << 20
			done := make(chan written, 1)
			go writeStream(conn, total, 4<<10, done)
			rc := &receiver{t: t, r: r, br: br, fd: fd}
			armRecv(t, r, br, fd)
			for rc.got < total {
				for _, c := range rc.next(nil) {
					id, _ := BufferID(c.Flags)
					br.Recycle(id)
				}
			}
			w := <-done
			require.NoError(t, w.err)
			assert.Equal(t, int64(total), rc.got)
			assert.Greater(t, w.msgs, 3000, "thousands of messages")
			assert.GreaterOrEqual(t, rc.msgs, total/tc.size, "completions of at most a buffer each, every one checked")
			rc.cancel()
			require.NoError(t, br.Err())

			s = p.Stats()
			assert.Equal(t, int64(tc.count), s.InUse, "recycling takes nothing from the pool")
			assert.Equal(t, uint64(tc.count), s.Gets)
			require.NoError(t, br.Close())
			s = p.Stats()
			assert.Zero(t, s.InUse, "Close puts every buffer back")
			assert.Equal(t, s.Gets, s.Puts)
			assert.ErrorIs(t, br.Close(), ErrClosed, "a second Close")
			assert.Nil(t, br.Buffer(0), "no buffer after Close")
		})
	}
}

// Recycle and Detach from another goroutine while this one reaps: every fourth message is
// detached (kept without a copy: its bytes checked again after much more traffic, then Put),
// the rest recycled. The pool's Stats are exact: one Get per buffer the ring was filled with
// and per Detach, one Put per detached buffer given back and per buffer Close puts back.
func TestBufRingRecycleAndDetachUnderLoad(t *testing.T) {
	r := newNetRing(t)
	p := newNetPool(t, pool.Config{})
	const size, count = 4 << 10, 32
	br := newBufRing(t, r, 9, p, size, count)
	fd, conn := tcpPair(t, nil)

	type kept struct {
		b    []byte
		from int64
		n    int
	}
	type job struct {
		id     uint16
		detach bool
		from   int64
		n      int
	}
	jobs := make(chan job, count)
	keptc := make(chan kept, 1<<16)
	var wg sync.WaitGroup
	wg.Go(func() { // gives the ids back, as a worker pool of an application would
		for j := range jobs {
			if j.detach {
				b := br.Detach(j.id)
				if b == nil {
					t.Errorf("Detach(%d): %v", j.id, br.Err())
					continue
				}
				keptc <- kept{b, j.from, j.n}
				continue
			}
			br.Recycle(j.id)
		}
		close(keptc)
	})

	const total = 16 << 20
	done := make(chan written, 1)
	go writeStream(conn, total, 8<<10, done)
	rc := &receiver{t: t, r: r, br: br, fd: fd}
	armRecv(t, r, br, fd)
	detached, seen := 0, 0
	for rc.got < total {
		from := rc.got
		for _, c := range rc.next(func() bool { return true }) {
			id, _ := BufferID(c.Flags)
			d := seen%4 == 0
			seen++
			if d {
				detached++
			}
			jobs <- job{id, d, from, int(c.Res)}
			from += int64(c.Res)
		}
	}
	w := <-done
	require.NoError(t, w.err)
	close(jobs)
	wg.Wait()
	rc.cancel()
	require.NoError(t, br.Err())
	require.Greater(t, detached, 100)

	s := p.Stats()
	assert.Equal(t, uint64(count+detached), s.Gets, "a Get per buffer of the ring and per Detach")
	assert.Equal(t, int64(count+detached), s.InUse, "the ring's buffers and every detached one")
	assert.Zero(t, s.Puts)

	puts := 0
	for k := range keptc {
		require.Len(t, k.b, size)
		if off := streamMismatch(k.b[:k.n], k.from); off >= 0 {
			require.Failf(t, "a detached buffer changed", "at stream offset %d: the kernel wrote into a buffer it no longer had", off)
		}
		require.NoError(t, p.Put(k.b), "a detached buffer is an ordinary buffer of the pool")
		puts++
	}
	assert.Equal(t, detached, puts)
	s = p.Stats()
	assert.Equal(t, int64(count), s.InUse)
	assert.Equal(t, uint64(detached), s.Puts)
	require.NoError(t, br.Close())
	s = p.Stats()
	assert.Zero(t, s.InUse)
	assert.Equal(t, s.Gets, s.Puts)
}

// A ring that runs out of buffers: the multishot receive ends with -ENOBUFS (no
// IORING_CQE_F_MORE), no data is lost (it waits in the socket), and recycling the buffers and
// submitting the receive again goes on where it stopped.
func TestBufRingExhaustionRecovers(t *testing.T) {
	r := newNetRing(t)
	p := newNetPool(t, pool.Config{})
	const size, count = 4 << 10, 4
	br := newBufRing(t, r, 1, p, size, count)
	fd, conn := tcpPair(t, nil)

	const total = 4 << 20
	done := make(chan written, 1)
	go writeStream(conn, total, 16<<10, done)
	rc := &receiver{t: t, r: r, br: br, fd: fd}
	armRecv(t, r, br, fd)
	var held []uint16
	rounds := 0
	for rc.got < total {
		enobufs := rc.enobufs
		for _, c := range rc.next(func() bool { return false }) {
			id, _ := BufferID(c.Flags)
			held = append(held, id)
		}
		if rc.enobufs > enobufs { // the ring was empty: give everything back, then receive again
			require.Len(t, held, count, "ENOBUFS only once every buffer is out")
			for _, id := range held {
				br.Recycle(id)
			}
			held = held[:0]
			rounds++
			rc.rearms++
			armRecv(t, r, br, fd)
		}
	}
	w := <-done
	require.NoError(t, w.err)
	assert.Equal(t, int64(total), rc.got, "every byte arrived, in order, across the exhaustions")
	assert.Greater(t, rounds, 10, "the ring ran dry many times")
	for _, id := range held {
		br.Recycle(id)
	}
	rc.cancel()
	require.NoError(t, br.Err())
	require.NoError(t, br.Close())
	assert.Zero(t, p.Stats().InUse)
}

// Close with buffers detached: those stay the application's (valid, counted out, Put later);
// everything else goes back. Recycle and Detach after Close do nothing and say so.
func TestBufRingCloseWithDetached(t *testing.T) {
	r := newNetRing(t)
	p := newNetPool(t, pool.Config{})
	const size, count = 4 << 10, 8
	br := newBufRing(t, r, 2, p, size, count)
	fd, conn := tcpPair(t, nil)

	msg := make([]byte, 3*size)
	fillStream(msg, 0)
	_, err := conn.Write(msg)
	require.NoError(t, err)
	rc := &receiver{t: t, r: r, br: br, fd: fd}
	armRecv(t, r, br, fd)
	var kept [][]byte
	var from []int64
	for rc.got < int64(len(msg)) {
		at := rc.got
		for _, c := range rc.next(nil) {
			id, _ := BufferID(c.Flags)
			b := br.Detach(id)
			require.NotNil(t, b, "Detach: %v", br.Err())
			kept = append(kept, b[:c.Res])
			from = append(from, at)
			at += int64(c.Res)
		}
	}
	rc.cancel()
	require.NoError(t, br.Close())
	s := p.Stats()
	assert.Equal(t, int64(len(kept)), s.InUse, "only the detached buffers are out after Close")

	br.Recycle(0)
	assert.Nil(t, br.Detach(1))
	err = br.Err()
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrClosed)
	assert.Contains(t, err.Error(), "2 Recycle or Detach calls")

	for i, b := range kept {
		require.EqualValues(t, -1, streamMismatch(b, from[i]), "a detached buffer outlives its ring")
		require.NoError(t, p.Put(b))
	}
	assert.Zero(t, p.Stats().InUse)
}

// Every refusal of NewBufRing leaves nothing out of the pool and registers nothing: the same
// group can be registered afterwards.
func TestNewBufRingErrors(t *testing.T) {
	r := newNetRing(t)
	p := newNetPool(t, pool.Config{})
	closedFD, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	require.NoError(t, unix.Close(closedFD))
	devNull, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(devNull)
	other := newBufRing(t, r, 5, p, 4096, 4)
	small := newNetPool(t, pool.Config{MaxMappedBytes: 4 << 20})
	shut := newNetPool(t, pool.Config{})
	require.NoError(t, shut.Close())

	for _, tc := range []struct {
		name   string
		fd     int
		group  uint16
		p      *pool.BufferPool
		size   int
		count  int
		target error
	}{
		{"count 0", r.FD(), 6, p, 4096, 0, ErrInvalidBufRing},
		{"count 3", r.FD(), 6, p, 4096, 3, ErrInvalidBufRing},
		{"count 65536", r.FD(), 6, p, 4096, 1 << 16, ErrInvalidBufRing},
		{"size 0", r.FD(), 6, p, 0, 4, ErrInvalidBufRing},
		{"size -1", r.FD(), 6, p, -1, 4, ErrInvalidBufRing},
		{"fd -1", -1, 6, p, 4096, 4, ErrRingClosed},
		{"closed fd", closedFD, 6, p, 4096, 4, ErrRingClosed},
		{"not an io_uring", devNull, 6, p, 4096, 4, ErrRingClosed},
		{"group in use", r.FD(), 5, p, 4096, 4, ErrGroupInUse},
		{"pool exhausted", r.FD(), 6, small, 1 << 20, 8, pool.ErrExhausted},
		{"pool closed", r.FD(), 6, shut, 4096, 4, pool.ErrClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.p.Stats()
			br, err := NewBufRing(tc.fd, tc.group, tc.p, tc.size, tc.count)
			require.ErrorIs(t, err, tc.target)
			assert.Nil(t, br)
			after := tc.p.Stats()
			assert.Equal(t, before.InUse, after.InUse, "nothing left out of the pool")
			assert.Equal(t, after.Gets-before.Gets, after.Puts-before.Puts, "every buffer taken went back")
		})
	}
	assert.Equal(t, int64(4), p.Stats().InUse, "only the ring of group 5 holds buffers")
	require.NoError(t, other.Close())
	again := newBufRing(t, r, 5, p, 4096, 4)
	require.NoError(t, again.Close(), "the group is free again after Close")
	big := newBufRing(t, r, 6, p, 64, MaxBufRingCount)
	assert.Equal(t, MaxBufRingCount, big.Count())
	assert.Len(t, big.Buffer(MaxBufRingCount-1), 64)
	assert.Equal(t, 64, cap(big.Buffer(0)), "len and cap are size")
	assert.Nil(t, big.Buffer(MaxBufRingCount), "an id out of range")
	require.NoError(t, big.Close())
	assert.Zero(t, p.Stats().InUse)
}

// Unprivileged (no CAP_IPC_LOCK), the kernel pins a BufRing's entries (count*16 bytes, in
// pages) and charges them to RLIMIT_MEMLOCK, with the ring's own pages; its buffers, which
// receives copy into, are not pinned or charged. Under a limit of 128 KiB, a ring of 8192
// entries (128 KiB) fails with ErrMemlock, leaving nothing out of the pool; one of 1024
// (16 KiB) receives as ever, with 4 MiB of buffers. (Linux 6.18 charges these pages to the
// user's locked memory without showing them in VmPin.) The test runs in a child process as
// uid/gid 65534.
func TestBufRingMemlockLimit(t *testing.T) {
	v := inUnprivilegedChild(t, bufRingMemlockChild)
	if v == nil {
		return // this is the child
	}
	assert.Equal(t, int64(bufRingMemlock), v["memlock"])
	assert.Equal(t, int64(1), v["refused"], "the ring beyond the limit failed with ErrMemlock")
	assert.Equal(t, int64(1), v["received"], "the ring that fits received the stream")
	assert.Equal(t, int64(4*MiB), v["buffers"], "its buffers are 4 MiB, far beyond the limit: not charged")
}

// bufRingMemlock holds the test ring's own pages and 1024 entries (16 KiB), not 8192 (128 KiB).
const bufRingMemlock = 128 * KiB

func bufRingMemlockChild(t *testing.T) {
	lim := unix.Rlimit{Cur: bufRingMemlock, Max: bufRingMemlock}
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_MEMLOCK, &lim))
	r := newNetRing(t)
	p := newNetPool(t, pool.Config{})

	_, err := NewBufRing(r.FD(), 1, p, 4*KiB, 8192) // 128 KiB of entries
	require.ErrorIs(t, err, ErrMemlock)
	assert.ErrorIs(t, err, unix.ENOMEM)
	refused := 1
	assert.Zero(t, p.Stats().InUse, "nothing left out of the pool")

	br := newBufRing(t, r, 1, p, 4*KiB, 1024) // 16 KiB of entries
	fd, conn := tcpPair(t, nil)
	const total = 1 << 20
	done := make(chan written, 1)
	go writeStream(conn, total, 4*KiB, done)
	rc := &receiver{t: t, r: r, br: br, fd: fd}
	armRecv(t, r, br, fd)
	for rc.got < total {
		for _, c := range rc.next(nil) {
			id, _ := BufferID(c.Flags)
			br.Recycle(id)
		}
	}
	w := <-done
	require.NoError(t, w.err)
	rc.cancel()
	buffers := p.Stats().InUseBytes
	require.NoError(t, br.Close())
	assert.Zero(t, p.Stats().InUse)
	childLine("uid=%d memlock=%d refused=%d received=%d buffers=%d",
		unix.Getuid(), lim.Cur, refused, rc.got/total, buffers)
}

// Detach when the pool cannot supply a fresh buffer returns nil and changes nothing: the id
// is still the application's, Recycle gives it back, and Err says why.
func TestBufRingDetachWhenPoolExhausted(t *testing.T) {
	r := newNetRing(t)
	p := newNetPool(t, pool.Config{MaxMappedBytes: 2 << 20})
	const size, count = 64 << 10, 16
	br := newBufRing(t, r, 4, p, size, count)
	var rest [][]byte // the rest of the pool's one slab: then nothing is left for a Detach
	for {
		b, err := p.TryGet(size)
		if err != nil {
			require.ErrorIs(t, err, pool.ErrExhausted)
			break
		}
		rest = append(rest, b)
	}
	fd, conn := tcpPair(t, nil)
	msg := make([]byte, 100)
	fillStream(msg, 0)
	_, err := conn.Write(msg)
	require.NoError(t, err)
	rc := &receiver{t: t, r: r, br: br, fd: fd}
	armRecv(t, r, br, fd)
	var id uint16
	for rc.msgs == 0 {
		for _, c := range rc.next(nil) {
			id, _ = BufferID(c.Flags)
		}
	}
	before := br.Buffer(id)
	assert.Nil(t, br.Detach(id), "no fresh buffer for the kernel")
	err = br.Err()
	require.ErrorIs(t, err, pool.ErrExhausted)
	assert.Equal(t, addr(before), addr(br.Buffer(id)), "the id names the same buffer")
	br.Recycle(id)
	rc.cancel()
	require.NoError(t, br.Close())
	for _, b := range rest {
		require.NoError(t, p.Put(b))
	}
	assert.Zero(t, p.Stats().InUse)
}
