package offheap

import "errors"

// errNoMemory is the portable backend's refusal of a length no mapping can have (plan9's
// syscall package has no ENOMEM).
var errNoMemory = errors.New("offheap: not enough memory")
