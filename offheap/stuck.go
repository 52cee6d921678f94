package offheap

import (
	"errors"
	"fmt"
	"sync"
)

// What the kernel refused to unmap. The kernel refuses an munmap with ENOMEM at
// vm.max_map_count, when unmapping from the middle of a merged run of mappings needs one more
// map entry; it succeeds again once other mappings are gone. Nothing mapped is ever forgotten:
// what is refused is "stuck", kept, and unmapped later.
//
// Two kinds are kept. A Mapping or an Alloc'd slice whose unmap is refused stays live (its
// record stays in live), so its holder can use it and unmap it again: a holder that gives its
// mappings up and must not forget one hands them to a StuckUnmaps. What a failed Alloc or Map
// mapped and could not unmap again has no record and no holder: it is kept in live.stuck and
// tried again after every successful unmap, which is what gives the kernel room.

// stuckRange is memory a failed mapping left behind.
type stuckRange struct {
	be          backend
	base, total uintptr
}

// keepStuck keeps a range that a failed mapping left behind and says so in err.
func keepStuck(be backend, base, total uintptr, err error) error {
	live.Lock()
	live.stuck = append(live.stuck, stuckRange{be, base, total})
	live.Unlock()
	return fmt.Errorf("%w (and %d bytes at %#x could not be unmapped again: they stay mapped, and are unmapped after a later Free succeeds)", err, total, base)
}

// retryStuckLocked unmaps what it can of the stuck ranges. The caller holds live's write
// lock.
func retryStuckLocked() {
	kept := live.stuck[:0]
	for _, r := range live.stuck {
		if r.be.unmap(r.base, r.total) != nil {
			kept = append(kept, r)
		}
	}
	clear(live.stuck[len(kept):])
	live.stuck = kept
}

// StuckUnmaps keeps the Mappings whose Unmap the kernel refused, to unmap them later, for a
// holder that gives its mappings up and must never forget one (a pool's Trim, Close and the
// cleanup of a dropped pool). Give it every Unmap instead of calling Mapping.Unmap, and call
// Retry where unmapping is due again (after other memory was given back, at a trim or a
// close): a Mapping is kept until the kernel unmaps it, live and usable meanwhile.
//
// The zero value is empty and ready for use. Its methods may be called from several
// goroutines at once; a kept Mapping belongs to it, and its holder must not use it again.
type StuckUnmaps struct {
	mu    sync.Mutex
	held  []*Mapping
	bytes int64 // Info().Mapped of every Mapping in held
}

// Unmap unmaps m as Mapping.Unmap does. When the kernel refuses, m is kept, to be unmapped by
// a later Retry, and the error (wrapping the errno, as Mapping.Unmap's) is returned. A nil
// Mapping or one already unmapped gets Mapping.Unmap's error (wrapping ErrInvalid or
// ErrNotMapped) and is not kept.
func (s *StuckUnmaps) Unmap(m *Mapping) error {
	err := m.Unmap()
	if err == nil || errors.Is(err, ErrInvalid) || errors.Is(err, ErrNotMapped) {
		return err
	}
	s.mu.Lock()
	s.held = append(s.held, m)
	s.bytes += int64(m.Info().Mapped)
	s.mu.Unlock()
	return err
}

// Retry tries again to unmap every Mapping kept, keeps those the kernel refuses again, and
// returns the bytes it unmapped (their Info().Mapped).
func (s *StuckUnmaps) Retry() (unmapped int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.held[:0]
	for _, m := range s.held {
		// ErrNotMapped: unmapped behind the list's back, so not mapped any more either.
		if err := m.Unmap(); err != nil && !errors.Is(err, ErrNotMapped) {
			kept = append(kept, m)
			continue
		}
		unmapped += int64(m.Info().Mapped)
	}
	clear(s.held[len(kept):])
	s.held = kept
	s.bytes -= unmapped
	return unmapped
}

// Len returns the number of Mappings kept.
func (s *StuckUnmaps) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.held)
}

// Bytes returns the bytes of the Mappings kept, as their Info().Mapped counts them.
func (s *StuckUnmaps) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}
