package workloads

import (
	"math/bits"
	"sync"
)

// ClassPools is the idiomatic multi-size sync.Pool: one pool per power-of-two size class,
// holding *[]byte so that Put does not allocate (staticcheck SA6002). The zero value is ready
// to use; it must not be copied after first use.
type ClassPools struct {
	pools [48]sync.Pool
}

func classOf(n int) int { return bits.Len(uint(n - 1)) }

// Get returns a buffer of len n and cap n rounded up to a power of two, reused when the pool
// of its class has one.
func (c *ClassPools) Get(n int) *[]byte {
	cl := classOf(n)
	if p, _ := c.pools[cl].Get().(*[]byte); p != nil {
		*p = (*p)[:n]
		return p
	}
	b := make([]byte, n, 1<<cl)
	return &b
}

// Put gives a buffer from Get back to the pool of its class.
func (c *ClassPools) Put(p *[]byte) { c.pools[classOf(cap(*p))].Put(p) }
