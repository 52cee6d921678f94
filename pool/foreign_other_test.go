//go:build !linux

package pool

// Mappings the pool knows nothing of, for the misuse catalogue: mapped with mmap(2) on Linux
// only, so here the rows that need one are skipped.

func foreignMmap(f *misuseFixture) []byte {
	f.t.Skip("a foreign mapping is made with Linux's mmap only")
	return nil
}

func foreignMmapAt(f *misuseFixture, at uintptr) []byte {
	f.t.Skipf("a foreign mapping at %#x is made with Linux's mmap only", at)
	return nil
}
