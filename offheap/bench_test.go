package offheap

import (
	"strconv"
	"testing"
)

// BenchmarkAllocFree measures a whole mapping's life, Alloc then Free, per backend.
func BenchmarkAllocFree(b *testing.B) {
	for _, be := range Backends() {
		b.Run(be, func(b *testing.B) {
			requireBackend(b, be)
			for _, size := range []int{4 << 10, 64 << 10, 2 << 20} {
				b.Run(sizeName(size), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						buf, err := Alloc(size, WithBackend(be))
						if err != nil {
							b.Fatal(err)
						}
						if err := Free(buf); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkAllocFreeSecretMem measures the life of a 4 KiB mapping, SecretMem or ordinary,
// per backend: what memfd_secret adds (a file to open, size and close, a shared mapping), and
// with its page touched once, what a secret page adds (taken out of the kernel's direct map on
// its first touch, put back when freed).
func BenchmarkAllocFreeSecretMem(b *testing.B) {
	for _, be := range Backends() {
		b.Run(be, func(b *testing.B) {
			requireBackend(b, be)
			for _, c := range []struct {
				name  string
				opts  []Option
				touch bool
			}{
				{"ordinary", nil, false},
				{"secretmem", []Option{SecretMem()}, false},
				{"ordinary-touched", nil, true},
				{"secretmem-touched", []Option{SecretMem()}, true},
			} {
				b.Run(c.name, func(b *testing.B) {
					opts := append(c.opts, WithBackend(be))
					if buf, err := Alloc(4<<10, opts...); err != nil {
						b.Skipf("%v", err)
					} else if err := Free(buf); err != nil {
						b.Fatal(err)
					}
					b.ReportAllocs()
					for b.Loop() {
						buf, err := Alloc(4<<10, opts...)
						if err != nil {
							b.Fatal(err)
						}
						if c.touch {
							buf[0] = 1
						}
						if err := Free(buf); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkLockUnlock measures Lock then Unlock of one page, per backend.
func BenchmarkLockUnlock(b *testing.B) {
	for _, be := range Backends() {
		b.Run(be, func(b *testing.B) {
			requireBackend(b, be)
			buf, err := Alloc(4<<10, WithBackend(be))
			if err != nil {
				b.Fatal(err)
			}
			defer Free(buf)
			if err := Lock(buf); err != nil {
				b.Skipf("this process may not lock a page: %v", err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := Lock(buf); err != nil {
					b.Fatal(err)
				}
				if err := Unlock(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + "MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}

// BenchmarkAllocFreeSecure measures a mapping's life with every option a secret asks for
// (a guard page on each side, no dump, wipe on fork, pinned), per backend: the recipe with
// the most steps, where one crossing into C per mapping saves the most.
func BenchmarkAllocFreeSecure(b *testing.B) {
	for _, be := range Backends() {
		b.Run(be, func(b *testing.B) {
			requireBackend(b, be)
			opts := []Option{GuardPages(), NoDump(), WipeOnFork(), Pin(), WithBackend(be)}
			b.ReportAllocs()
			for b.Loop() {
				buf, err := Alloc(4<<10, opts...)
				if err != nil {
					b.Fatal(err)
				}
				if err := Free(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAllocFreeLive measures Alloc then Free of 4 KiB, and Stat and Protect of a
// mapping, with n other mappings live: what the bookkeeping of live mappings adds as they
// grow in number.
func BenchmarkAllocFreeLive(b *testing.B) {
	for _, n := range []int{10, 10000} {
		held := make([][]byte, n)
		for i := range held {
			buf, err := Alloc(PageSize()*(1+i%4), WithBackend("syscall"))
			if err != nil {
				b.Fatal(err)
			}
			held[i] = buf
		}
		b.Run("allocfree/n="+strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				buf, err := Alloc(4<<10, WithBackend("syscall"))
				if err != nil {
					b.Fatal(err)
				}
				if err := Free(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("stat/n="+strconv.Itoa(n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, err := Stat(held[i%n]); err != nil {
					b.Fatal(err)
				}
				i += 7919
			}
		})
		for _, buf := range held {
			if err := Free(buf); err != nil {
				b.Fatal(err)
			}
		}
	}
}
