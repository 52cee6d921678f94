package pool

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/internal/procfs"
)

// retainCase is a kind of pool and a buffer size: every layout a buffer can have.
type retainCase struct {
	name string
	cfg  Config
	size int
}

func retainCases() []retainCase {
	var cs []retainCase
	for _, k := range []struct {
		name string
		cfg  Config
	}{
		{"plain", Config{}},
		{"secure", Config{Secure: true}},
		{"debug", Config{Debug: true}},
	} {
		for _, n := range []int{100, 4096, 64 << 10, 1 << 20, 3 << 20} {
			cfg := k.cfg
			cfg.MaxBufferSize = 2 << 20 // 3 MiB is above it: a mapping of its own, unmapped by its Put
			cs = append(cs, retainCase{fmt.Sprintf("%s/%d", k.name, n), cfg, n})
		}
	}
	return cs
}

// seal fills b with a pattern of its own, so that a buffer handed to a second holder (or
// wiped) while the first still holds it shows.
func seal(b []byte, seed byte) {
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
}

func sealed(b []byte, seed byte) bool {
	for i := range b {
		if b[i] != byte(i*7)^seed {
			return false
		}
	}
	return true
}

// A buffer retained k times takes k+1 Puts: the first k only drop a reference (nil, counted
// in RefPuts, not in Puts), the buffer stays out (InUse, Owner, contents, no other Get gets
// it), and the last gives it back as a Put does: wiped by a Secure pool, inaccessible in a
// Debug pool, unmapped above MaxBufferSize. A Put or a Retain after that is a double Put.
func TestRetainKeepsBufferUntilLastPut(t *testing.T) {
	for _, tc := range retainCases() {
		for _, k := range []int{1, 3, 255} {
			t.Run(fmt.Sprintf("%s/retains=%d", tc.name, k), func(t *testing.T) {
				p := newPool(t, tc.cfg)
				b := p.Get(tc.size)
				a := addrOf(b)
				seal(b, 0x5c)
				for range k {
					require.NoError(t, p.Retain(b))
				}
				s := p.Stats()
				assert.Equal(t, uint64(k), s.Retains)
				assert.Equal(t, int64(1), s.InUse, "a retained buffer is one buffer out")
				for i := range k {
					require.NoError(t, p.Put(b), "Put %d of %d drops a reference", i+1, k+1)
					if i < 3 || i == k-1 {
						require.True(t, sealed(b, 0x5c), "after %d of %d Puts the buffer is untouched (not wiped, not handed out)", i+1, k+1)
					}
					s := p.Stats()
					require.Equal(t, int64(1), s.InUse, "after %d of %d Puts", i+1, k+1)
					require.Equal(t, uint64(i+1), s.RefPuts)
					require.Zero(t, s.Puts, "a Put that only drops a reference is not a Put")
				}
				whole, err := p.Owner(b[tc.size/2:])
				require.NoError(t, err, "Owner finds a retained buffer")
				assert.Equal(t, a, addrOf(whole))
				other := p.Get(tc.size)
				assert.NotEqual(t, a, addrOf(other), "a retained buffer is handed to nobody else")
				require.NoError(t, p.Put(other))

				unmapsBefore := p.Stats().Unmaps
				var own []procfs.MapsEntry // the buffer's own map entries, for the oversize case
				if tc.size > tc.cfg.MaxBufferSize && !backendIsGoMemory(t) {
					entries, err := procfs.Maps()
					require.NoError(t, err)
					for _, e := range entries {
						if e.Lo < a+uintptr(tc.size) && a < e.Hi {
							own = append(own, e)
						}
					}
					require.NotEmpty(t, own, "the oversize buffer is mapped before its last Put")
				}
				require.NoError(t, p.Put(b), "the last Put gives the buffer back")
				s = p.Stats()
				assert.Zero(t, s.InUse)
				assert.Equal(t, uint64(2), s.Puts, "the last Put and other's")
				assert.Equal(t, uint64(k), s.RefPuts)
				assert.Equal(t, s.Gets, s.Puts, "InUse = Gets - Puts")
				switch {
				case tc.size > tc.cfg.MaxBufferSize:
					assert.Equal(t, unmapsBefore+1, s.Unmaps, "the last Put of an oversize buffer unmaps it")
					if !backendIsGoMemory(t) { // Go memory stays the runtime's until it collects it
						// None of the buffer's own entries is left. The range itself may be
						// mapped again at once by something else (a thread's stack, the
						// runtime): the kernel reuses freed address ranges.
						entries, err := procfs.Maps()
						require.NoError(t, err)
						for _, e := range entries {
							assert.NotContains(t, own, e, "the oversize buffer's mapping is gone")
						}
					}
				case tc.cfg.Debug:
					assertFault(t, a, false, "the last Put makes a Debug buffer inaccessible")
				case tc.cfg.Secure:
					assert.True(t, allZero(memAt(a, tc.size)), "the last Put wipes a Secure buffer")
				default:
					assert.True(t, sealed(memAt(a, tc.size), 0x5c), "an ordinary pool keeps the contents")
				}
				if tc.size <= tc.cfg.MaxBufferSize {
					assert.ErrorIs(t, p.Put(b), ErrDoublePut, "a Put too many")
					assert.ErrorIs(t, p.Retain(b), ErrDoublePut, "Retain of an idle buffer")
				} else { // its memory went back to the system: nothing of the pool is there (see Put)
					assert.ErrorIs(t, p.Put(b), ErrNotOwned, "a Put too many")
					assert.ErrorIs(t, p.Retain(b), ErrNotOwned, "Retain of memory given back to the system")
				}
				assert.Zero(t, p.refs.counts.len(), "the last Put leaves nothing in the reference table")

				// The slot is an ordinary buffer again: its next Get and Put take the fast
				// paths, one Put each.
				c := p.Get(tc.size)
				puts := p.Stats().Puts
				require.NoError(t, p.Put(c))
				assert.Equal(t, puts+1, p.Stats().Puts)
			})
		}
	}
}

// At least 255 Retains of one buffer succeed; MaxReferences is the bound: the Retain beyond
// it fails with ErrTooManyReferences and adds nothing (MaxReferences Puts give it back).
func TestRetainLimit(t *testing.T) {
	p := newPool(t, Config{})
	b := p.Get(4096)
	for i := range MaxReferences - 1 {
		require.NoError(t, p.Retain(b), "Retain %d", i+1)
	}
	err := p.Retain(b)
	require.ErrorIs(t, err, ErrTooManyReferences)
	assert.Contains(t, err.Error(), fmt.Sprint(MaxReferences))
	assert.Equal(t, uint64(MaxReferences-1), p.Stats().Retains, "the refused Retain is not counted")
	for i := range MaxReferences - 1 {
		require.NoError(t, p.Put(b), "Put %d", i+1)
	}
	require.Equal(t, int64(1), p.Stats().InUse, "one reference left")
	require.NoError(t, p.Put(b), "the last of MaxReferences Puts")
	assert.Zero(t, p.Stats().InUse)
	assert.ErrorIs(t, p.Put(b), ErrDoublePut, "the refused Retain added no reference")
}

// Retain refuses what is not a buffer out, with the error Put would give, and changes nothing;
// it finds the buffer of an interior slice, as Owner does, but Put of an interior slice stays
// refused.
func TestRetainRefusals(t *testing.T) {
	p := newPool(t, Config{})
	q := newPool(t, Config{})
	assert.NoError(t, p.Retain(nil), "Retain(nil) does nothing, as Put(nil)")
	assert.NoError(t, p.Retain(p.Get(0)), "Retain of Get(0) does nothing, as its Put")
	assert.ErrorIs(t, p.Retain(make([]byte, 4096)), ErrNotOwned, "heap memory")
	assert.ErrorIs(t, p.Retain(make([]byte, 0)), ErrNotOwned, "an empty heap slice")
	foreign := q.Get(4096)
	assert.ErrorIs(t, p.Retain(foreign), ErrNotOwned, "another pool's buffer")
	require.NoError(t, q.Put(foreign))

	idle := p.Get(4096)
	require.NoError(t, p.Put(idle))
	assert.ErrorIs(t, p.Retain(idle), ErrDoublePut, "an idle buffer")
	assert.ErrorIs(t, p.Retain(idle[100:]), ErrNotOwned, "an interior slice of an idle buffer")
	assert.Zero(t, p.Stats().Retains, "no refused Retain is counted")

	b := p.Get(4096)
	require.NoError(t, p.Retain(b[100:200]), "Retain of an interior slice")
	assert.ErrorIs(t, p.Put(b[100:]), ErrNotOwned, "Put of an interior slice stays refused")
	require.NoError(t, p.Retain(b[4095:]), "the last byte")
	require.NoError(t, p.Retain(b[:0]), "an empty slice at the first byte")
	require.NoError(t, p.Retain(b[cap(b):]), "an empty slice past the end keeps the base (Put(b[cap(b):]) is Put(b))")
	for range 4 {
		require.NoError(t, p.Put(b))
	}
	assert.Equal(t, int64(1), p.Stats().InUse)
	require.NoError(t, p.Put(b))
	s := p.Stats()
	assert.Zero(t, s.InUse)
	assert.Equal(t, uint64(4), s.Retains)
	assert.Equal(t, uint64(4), s.RefPuts)
	assert.Equal(t, uint64(1), s.NotOwned, "the refused Put of the interior slice (Retain's refusals are not Puts)")
}

// Holders of one retained buffer Put it concurrently, each from its own goroutine: every Put
// drops one reference, exactly one gives the buffer back, and no buffer is ever handed to a
// new holder while an old one still holds it (each holder checks the stamp before its Put).
// Run it with -race: the reference table's state is Go memory the detector sees.
func TestRetainConcurrentPuts(t *testing.T) {
	for _, cfg := range []Config{{}, {Debug: true}, {Secure: true}} {
		t.Run(fmt.Sprintf("debug=%v/secure=%v", cfg.Debug, cfg.Secure), func(t *testing.T) {
			p := newPool(t, cfg)
			const holders, rounds = 8, 300
			var broken atomic.Int64
			var wg sync.WaitGroup
			// Two producers, so that Gets of new buffers race with the Puts of retained ones.
			for prod := range 2 {
				wg.Go(func() {
					for r := range rounds {
						seed := byte(prod*rounds + r)
						b := p.Get(4096)
						seal(b, seed)
						var ready sync.WaitGroup
						for range holders - 1 {
							if err := p.Retain(b); err != nil {
								broken.Add(1)
							}
						}
						for range holders {
							ready.Go(func() {
								if !sealed(b, seed) {
									broken.Add(1)
								}
								if err := p.Put(b); err != nil {
									broken.Add(1)
								}
							})
						}
						ready.Wait()
					}
				})
			}
			wg.Wait()
			assert.Zero(t, broken.Load(), "every holder saw its stamp and every Put was accepted")
			s := p.Stats()
			assert.Zero(t, s.InUse)
			assert.Equal(t, uint64(2*rounds), s.Puts, "one Put per Get gave a buffer back")
			assert.Equal(t, uint64(2*rounds*(holders-1)), s.RefPuts)
			assert.Equal(t, s.Retains, s.RefPuts)
			assert.Zero(t, p.refs.counts.len())
		})
	}
}

// A Debug pool refuses a Put too many of a retained buffer, also when it races with the
// holders' Puts: of three concurrent Puts of a buffer with two references, exactly one is
// refused with ErrDoublePut, whatever the order.
func TestRetainDebugCatchesPutTooMany(t *testing.T) {
	p := newPool(t, Config{Debug: true})
	for r := range 200 {
		b := p.Get(4096)
		require.NoError(t, p.Retain(b))
		var refused atomic.Int64
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				if err := p.Put(b); err != nil {
					assert.ErrorIs(t, err, ErrDoublePut)
					refused.Add(1)
				}
			})
		}
		wg.Wait()
		require.Equal(t, int64(1), refused.Load(), "round %d: one Put too many refused", r)
	}
	s := p.Stats()
	assert.Zero(t, s.InUse)
	assert.Equal(t, uint64(200), s.DoublePuts)
	assert.Equal(t, uint64(200), s.RefPuts)
	assert.Equal(t, s.Gets, s.Puts)

	// And sequentially, in an ordinary pool too.
	for _, cfg := range []Config{{}, {Debug: true}} {
		q := newPool(t, cfg)
		b := q.Get(100)
		require.NoError(t, q.Retain(b))
		require.NoError(t, q.Put(b))
		require.NoError(t, q.Put(b))
		assert.ErrorIs(t, q.Put(b), ErrDoublePut, "debug=%v", cfg.Debug)
	}
}

// Close counts a retained buffer as out; it stays valid through the Puts that drop
// references, and the last Put unmaps it. Trim leaves it alone.
func TestRetainAcrossTrimAndClose(t *testing.T) {
	p, err := NewWithConfig(Config{})
	require.NoError(t, err)
	b := p.Get(1 << 20)
	seal(b, 0x21)
	require.NoError(t, p.Retain(b))
	require.NoError(t, p.Retain(b))
	p.Trim()
	assert.True(t, sealed(b, 0x21), "Trim leaves a retained buffer alone")

	err = p.Close()
	require.ErrorIs(t, err, ErrBuffersOut)
	assert.Contains(t, err.Error(), "1 buffer ", "Close counts the retained buffer once")
	require.NoError(t, p.Put(b))
	require.NoError(t, p.Put(b))
	assert.True(t, sealed(b, 0x21), "the buffer is valid until its last Put")
	assert.NotZero(t, p.Stats().MappedBytes)
	require.NoError(t, p.Put(b), "the last Put after Close")
	s := p.Stats()
	assert.Zero(t, s.MappedBytes, "the last Put after Close unmaps")
	assert.Zero(t, s.InUse)
	err = p.Put(b)
	assert.ErrorIs(t, err, ErrClosed)
}

// A Secure buffer that is retained can be frozen and purged like any buffer out; its last
// Put melts and wipes it.
func TestRetainSecureFreezeAndPurge(t *testing.T) {
	p := newPool(t, Config{Secure: true})
	b := p.Get(8192)
	copy(b, "a key shared by two holders")
	require.NoError(t, p.Retain(b))
	require.NoError(t, p.Freeze(b), "Freeze of a retained buffer")
	require.NoError(t, p.Put(b))
	assert.Equal(t, "a key shared by two holders", string(b[:27]), "not wiped while a holder is left")
	assert.Equal(t, 1, p.Purge(), "Purge wipes the retained buffer, the pool's only one")
	assert.True(t, allZero(b))
	require.NoError(t, p.Put(b), "the last Put melts the frozen buffer first")
	c := p.Get(8192)
	require.Equal(t, addrOf(b), addrOf(c), "the buffer is reused")
	c[0] = 1 // writable: melted
	require.NoError(t, p.Put(c))
}

// Stats' String names the new counters.
func TestRetainStatsString(t *testing.T) {
	p := newPool(t, Config{})
	b := p.Get(64)
	require.NoError(t, p.Retain(b))
	require.NoError(t, p.Put(b))
	require.NoError(t, p.Put(b))
	assert.Contains(t, p.Stats().String(), "retains=1 ref-puts=1")
}

// FuzzRetain runs random sequences of Get, Retain, Put (whole and interior) on a few buffers
// against a model of their references: every answer and Stats must agree with it.
func FuzzRetain(f *testing.F) {
	f.Add([]byte{0, 1, 2, 2, 1, 3, 2})
	f.Add([]byte{0, 0, 1, 5, 9, 2, 6, 6, 10, 3})
	f.Fuzz(func(t *testing.T, ops []byte) {
		p := newPool(t, Config{Debug: len(ops)%2 == 1})
		const slots = 4
		var bufs [slots][]byte
		var refs [slots]int // 0: not out (never got, or given back)
		var gets, puts, retains, refPuts uint64
		for _, op := range ops {
			i := int(op>>2) % slots
			switch op & 3 {
			case 0: // Get into slot i when it holds nothing
				if refs[i] == 0 {
					bufs[i] = p.Get(64 << (i % 3))
					refs[i] = 1
					gets++
					for j := range slots {
						// A stale slice of the memory just handed out again is the new
						// holder's buffer now (Put cannot tell them apart): forget it.
						if j != i && refs[j] == 0 && bufs[j] != nil && addrOf(bufs[j]) == addrOf(bufs[i]) {
							bufs[j] = nil
						}
					}
				}
			case 1: // Retain
				if bufs[i] == nil {
					continue
				}
				err := p.Retain(bufs[i])
				if refs[i] == 0 {
					require.Error(t, err, "Retain of a buffer given back")
					continue
				}
				require.NoError(t, err)
				refs[i]++
				retains++
			case 2: // Put
				if bufs[i] == nil {
					continue
				}
				err := p.Put(bufs[i])
				switch refs[i] {
				case 0:
					require.ErrorIs(t, err, ErrDoublePut)
					continue
				case 1:
					puts++
				default:
					refPuts++
				}
				require.NoError(t, err)
				refs[i]--
			case 3: // Put of an interior slice: always refused
				if bufs[i] != nil && refs[i] > 0 {
					require.ErrorIs(t, p.Put(bufs[i][1:]), ErrNotOwned)
				}
			}
			s := p.Stats()
			require.Equal(t, gets, s.Gets)
			require.Equal(t, puts, s.Puts)
			require.Equal(t, retains, s.Retains)
			require.Equal(t, refPuts, s.RefPuts)
			require.Equal(t, int64(gets-puts), s.InUse)
		}
		for i := range slots {
			for ; refs[i] > 0; refs[i]-- {
				require.NoError(t, p.Put(bufs[i]))
			}
		}
		s := p.Stats()
		require.Zero(t, s.InUse)
		require.Equal(t, s.Retains, s.RefPuts)
		require.Zero(t, p.refs.counts.len())
	})
}

// BenchmarkRetain is the cost of sharing a buffer once: Get, Retain, two Puts (the first only
// drops a reference), against the plain Get+Put of a buffer never retained.
func BenchmarkRetain(b *testing.B) {
	p := newPool(b, Config{})
	b.Run("get-put", func(b *testing.B) {
		for range b.N {
			_ = p.Put(p.Get(4096))
		}
	})
	b.Run("get-retain-put-put", func(b *testing.B) {
		for range b.N {
			buf := p.Get(4096)
			_ = p.Retain(buf)
			_ = p.Put(buf)
			_ = p.Put(buf)
		}
	})
}

// refCounts agrees with a Go map through random sets and removes, with keys that collide on
// purpose (the same low bits, a few home slots) so that deletion's backward shift is tested
// across wrapped probe runs and growth.
func TestRefCountsAgainstMap(t *testing.T) {
	var tab refCounts
	model := map[addr]uint32{}
	x := uint64(1)
	for i := range 200000 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		a := addr(1+x%97) << 12 // 97 keys, page-aligned like buffers
		switch x >> 62 {
		case 0, 1:
			tab.set(a, uint32(i))
			model[a] = uint32(i)
		default:
			tab.remove(a)
			delete(model, a)
		}
		if i%97 == 0 {
			require.Equal(t, len(model), tab.len(), "after %d operations", i)
			for k := addr(1) << 12; k <= 97<<12; k += 1 << 12 {
				v, ok := tab.get(k)
				w, wok := model[k]
				require.Equal(t, wok, ok, "key %#x after %d operations", k, i)
				require.Equal(t, w, v, "key %#x after %d operations", k, i)
			}
		}
	}
}

// Probe runs that wrap around the end of the table: keys at home in the last slots and the
// first, removed in every order of a few permutations, each lookup checked.
func TestRefCountsWrappedRuns(t *testing.T) {
	home := func(a addr) int { return int(uint64(a>>4) * 0x9E3779B97F4A7C15 >> 60) } // 16 slots
	want := map[int]int{15: 3, 14: 1, 0: 2, 1: 1}
	var keys []addr
	for k := addr(1); len(keys) < 7; k++ {
		a := k << 12
		if h := home(a); want[h] > 0 {
			want[h]--
			keys = append(keys, a)
		}
	}
	for perm := range 50 {
		var tab refCounts
		for i, a := range keys {
			tab.set(a, uint32(i+1))
		}
		require.Len(t, tab.keys, 16, "7 keys fit a table of 16 slots")
		order := append([]addr(nil), keys...)
		for i := range order { // a fixed shuffle per permutation
			j := (i*7 + perm*3) % len(order)
			order[i], order[j] = order[j], order[i]
		}
		left := map[addr]bool{}
		for _, a := range keys {
			left[a] = true
		}
		for _, a := range order {
			tab.remove(a)
			delete(left, a)
			for i, k := range keys {
				v, ok := tab.get(k)
				require.Equal(t, left[k], ok, "permutation %d: key %d after removing %#x", perm, i, a)
				if ok {
					require.Equal(t, uint32(i+1), v)
				}
			}
		}
		require.Zero(t, tab.len())
	}
}
