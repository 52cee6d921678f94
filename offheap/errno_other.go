//go:build (!linux || zeropool_portable) && !plan9

package offheap

import "syscall"

// errNoMemory is the portable backend's refusal of a length no mapping can have: ENOMEM, as
// mmap's.
var errNoMemory error = syscall.ENOMEM
