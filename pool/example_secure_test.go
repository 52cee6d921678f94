//go:build linux && !zeropool_portable

package pool_test

import (
	"fmt"
	"log"

	"github.com/zeropool-go/zeropool/pool"
)

// Secure pools are Linux's (other systems refuse them): this example runs there only.

// A pool for secrets: every buffer is wiped on Put, pinned, left out of core dumps and forked
// children, and fenced by guard pages.
func ExampleNewWithConfig_secure() {
	secrets, err := pool.NewWithConfig(pool.Config{Secure: true})
	if err != nil {
		log.Fatal(err)
	}
	defer secrets.Close()

	key := secrets.Get(32)
	copy(key, "0123456789abcdef0123456789abcdef")
	// ... use key ...
	if err := secrets.Put(key); err != nil { // wiped here; ErrCanary if something wrote past its end
		log.Fatal(err)
	}
	fmt.Println(len(key), secrets.Stats().InUse)
	// Output:
	// 32 0
}
