package pool

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzPool drives a pool with a random sequence of operations and checks it against a model
// that knows who holds what: every Get returns memory no one else holds, every stamp survives
// until its Put, every bad Put gets its exact error, and Stats agree with the model to the
// unit (one goroutine, so the snapshot is exact).
//
// Each input byte pair is one operation: the first byte picks it, the second its argument.
func FuzzPool(f *testing.F) {
	f.Add([]byte{0, 10, 0, 200, 1, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0})
	f.Add([]byte{0, 1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 2, 5, 0, 0, 3, 3, 0})
	f.Add([]byte{0, 255, 0, 254, 0, 128, 6, 0, 1, 0, 4, 0, 1, 1})
	f.Add([]byte{0, 40, 1, 0, 2, 0, 0, 40, 0, 40, 0, 40, 1, 2, 1, 1, 1, 0, 7, 0, 0, 9})
	f.Add([]byte{9, 3, 9, 7, 0, 3, 8, 5, 0, 7, 8, 200, 7, 0, 9, 8, 6, 0, 7, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 200 { // longer sequences find nothing new and slow the fuzzer down
			ops = ops[:200]
		}
		var h hookLog
		for _, cfg := range []Config{
			{MaxBufferSize: 1 << 20, LocalCacheSize: 2, NumShards: 2, MaxBuffersPerShard: 2, MaxIdleBytes: 4 << 20},
			{MaxBufferSize: 64 << 10, Secure: true},
			{MaxBufferSize: 1 << 20, MaxIdleBytes: 2 << 20, OnMap: h.onMap, OnUnmap: h.onUnmap},
		} {
			if refusedHere(cfg) {
				continue // Secure and hooks are Linux's
			}
			runModel(t, cfg, ops)
		}
		require.Zero(t, h.live(), "every region OnMap announced was announced gone by Close")
	})
}

type held struct {
	buf   []byte
	stamp uint64
}

func runModel(t *testing.T, cfg Config, ops []byte) {
	p, err := NewWithConfig(cfg)
	require.NoError(t, err)
	var (
		out      []held
		returned [][]byte // buffers put back, for double Puts
		other    = newPool(t, Config{})
		stamp    uint64
		want     Stats
	)
	check := func(step int) {
		s := p.Stats()
		require.Equal(t, want.Gets, s.Gets, "step %d: Gets", step)
		require.Equal(t, want.Puts, s.Puts, "step %d: Puts", step)
		require.Equal(t, want.Rejected, s.Rejected, "step %d: Rejected", step)
		require.Equal(t, int64(len(out)), s.InUse, "step %d: InUse", step)
		require.Equal(t, s.Gets, s.Hits+s.Misses, "step %d: Hits+Misses", step)
		var bytes int64
		for _, h := range out {
			require.Equal(t, h.stamp, binary.LittleEndian.Uint64(h.buf[:8]), "step %d: a held buffer was overwritten", step)
			require.Equal(t, h.stamp, binary.LittleEndian.Uint64(h.buf[len(h.buf)-8:]), "step %d: a held buffer was overwritten", step)
			if cap(h.buf) <= cfg.MaxBufferSize || cfg.MaxBufferSize == 0 {
				bytes += int64(cap(h.buf))
			}
		}
		require.LessOrEqual(t, s.IdleBytes, p.cfg.MaxIdleBytes, "step %d: IdleBytes over MaxIdleBytes", step)
		for _, h := range out {
			r, off, err := p.RegionOf(h.buf)
			require.NoError(t, err, "step %d: a held buffer lies in a region", step)
			require.LessOrEqual(t, off+cap(h.buf), len(r.Mem), "step %d", step)
		}
	}
	sizes := []int{16, 64, 100, 4096, 5000, 65536, 300 << 10, 1 << 20, 1<<20 + 1}
	for i := 0; i+1 < len(ops); i += 2 {
		op, arg := ops[i]%10, int(ops[i+1])
		switch op {
		case 0, 1: // Get
			size := sizes[arg%len(sizes)] + arg/len(sizes)
			b, err := p.TryGet(size)
			require.NoError(t, err)
			require.Len(t, b, size)
			stamp++
			s := stamp<<8 | uint64(i&0xff)
			binary.LittleEndian.PutUint64(b[:8], s)
			binary.LittleEndian.PutUint64(b[len(b)-8:], s)
			out = append(out, held{b, s})
			want.Gets++
		case 2, 3: // Put of a held buffer, with its len changed as callers do
			if len(out) == 0 {
				continue
			}
			k := arg % len(out)
			h := out[k]
			out = append(out[:k], out[k+1:]...)
			require.NoError(t, p.Put(h.buf[:arg%2]))
			returned = append(returned, h.buf)
			want.Puts++
		case 4: // double Put
			if len(returned) == 0 {
				continue
			}
			err := p.Put(returned[arg%len(returned)])
			require.Error(t, err)
			// The buffer may have been handed out again and be held now: then the Put is
			// a misuse the pool cannot tell from a real one, so the model skips such cases.
			if isHeld(out, returned[arg%len(returned)]) {
				t.Fatalf("step %d: model returned a held buffer", i)
			}
			require.True(t, errors.Is(err, ErrDoublePut) || errors.Is(err, ErrNotOwned), "step %d: %v", i, err)
			want.Rejected++
		case 5: // foreign, interior, other pool
			var bad []byte
			switch arg % 3 {
			case 0:
				bad = make([]byte, 64)
			case 1:
				if len(out) == 0 {
					continue
				}
				bad = out[arg%len(out)].buf[1:]
			case 2:
				bad = other.Get(64)
			}
			require.ErrorIs(t, p.Put(bad), ErrNotOwned, "step %d", i)
			want.Rejected++
		case 6:
			p.Trim()
			require.Zero(t, p.Len(), "step %d: Len after Trim", i)
		case 7:
			check(i)
		case 8: // Put of an interior slice, recovered with Owner
			if len(out) == 0 {
				continue
			}
			k := arg % len(out)
			h := out[k]
			w, err := p.Owner(h.buf[arg%len(h.buf):])
			require.NoError(t, err, "step %d: Owner of a held buffer", i)
			require.Equal(t, addrOf(h.buf), addrOf(w), "step %d", i)
			out = append(out[:k], out[k+1:]...)
			require.NoError(t, p.Put(w))
			returned = append(returned, h.buf)
			want.Puts++
		case 9: // Preallocate: buffers idle, no Get counted
			size, n := sizes[arg%len(sizes)], arg%4
			err := p.Preallocate(size, n)
			if n == 0 {
				require.NoError(t, err, "step %d: Preallocate of none does nothing", i)
			} else if size > p.cfg.MaxBufferSize {
				require.ErrorIs(t, err, ErrInvalidSize, "step %d", i)
			} else if err != nil {
				require.NotErrorIs(t, err, ErrInvalidSize, "step %d", i) // only "kept fewer"
			}
		}
		// A double Put of a buffer that was handed out again would be accepted; keep the
		// model honest by forgetting returned buffers that are held again.
		returned = dropHeld(returned, out)
	}
	check(len(ops))
	for _, h := range out {
		require.NoError(t, p.Put(h.buf))
	}
	err = p.Close()
	require.NoError(t, err)
	require.Zero(t, p.Stats().MappedBytes, "memory left mapped after Close")
}

func isHeld(out []held, b []byte) bool {
	for _, h := range out {
		if addrOf(h.buf) == addrOf(b) {
			return true
		}
	}
	return false
}

func dropHeld(returned [][]byte, out []held) [][]byte {
	kept := returned[:0]
	for _, b := range returned {
		if !isHeld(out, b) {
			kept = append(kept, b)
		}
	}
	return kept
}
