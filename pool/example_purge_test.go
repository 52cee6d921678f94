//go:build linux && !zeropool_portable

package pool_test

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/zeropool-go/zeropool/pool"
)

// Purge wipes every buffer of a Secure pool at once, the ones that are out included: their
// holders keep valid buffers, now zero. An ordinary pool is left alone.
func ExampleBufferPool_Purge() {
	secrets, err := pool.NewWithConfig(pool.Config{Secure: true})
	if err != nil {
		log.Fatal(err)
	}
	defer secrets.Close()

	key := secrets.Get(32)
	copy(key, "an AES-256 key, thirty-two bytes")
	fmt.Printf("%.6s\n", key)
	fmt.Println("wiped something:", secrets.Purge() > 0)
	fmt.Println("key is zero:", bytes.Equal(key, make([]byte, len(key))))
	if err := secrets.Put(key); err != nil {
		log.Fatal(err)
	}

	plain := pool.New()
	defer plain.Close()
	fmt.Println("ordinary pool:", plain.Purge())
	// Output:
	// an AES
	// wiped something: true
	// key is zero: true
	// ordinary pool: 0
}

// Wiping the secrets on SIGINT and SIGTERM. The library installs no signal handler: the
// program asks for the signals with signal.Notify, and a goroutine of its own purges the pool
// when one comes, then ends the program. Purge allocates nothing and takes only a lock that
// no Get or Put holds for long, so it is safe to call at any moment.
//
// signal.Notify delivers to an ordinary channel, so this example sends SIGTERM into the
// channel itself instead of signalling the process it runs in.
func ExampleBufferPool_Purge_signals() {
	secrets, err := pool.NewWithConfig(pool.Config{Secure: true})
	if err != nil {
		log.Fatal(err)
	}
	defer secrets.Close()
	key := secrets.Get(32)
	copy(key, "an AES-256 key, thirty-two bytes")

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	purged := make(chan os.Signal)
	go func() {
		sig := <-sigs
		secrets.Purge()
		// A program ends here, dying by the signal as it would have without the handler:
		//	signal.Reset(sig)
		//	syscall.Kill(syscall.Getpid(), sig.(syscall.Signal))
		// or simply os.Exit(1). The example reports back instead.
		purged <- sig
	}()

	sigs <- syscall.SIGTERM // what the kernel would deliver on `kill PID`
	fmt.Println(<-purged)
	fmt.Println("key is zero:", bytes.Equal(key, make([]byte, len(key))))
	if err := secrets.Put(key); err != nil {
		log.Fatal(err)
	}
	// Output:
	// terminated
	// key is zero: true
}

// Wiping the secrets when a panic goes through: a deferred function purges the pool and
// panics again with the same value, so the program still crashes with it, its secrets gone.
// Keep the deferred function where the panic passes before it ends the program: at the top
// of main, and of every goroutine that handles secrets (a panic in a goroutine ends the
// program without running the deferred functions of the others).
func ExampleBufferPool_Purge_panic() {
	secrets, err := pool.NewWithConfig(pool.Config{Secure: true})
	if err != nil {
		log.Fatal(err)
	}
	defer secrets.Close()
	key := secrets.Get(32)
	copy(key, "an AES-256 key, thirty-two bytes")

	serve := func() {
		defer func() {
			if r := recover(); r != nil {
				secrets.Purge()
				panic(r)
			}
		}()
		panic(errors.New("index out of range in the request parser"))
	}

	// The panic would end a program; the example catches it once more to show the key.
	func() {
		defer func() { fmt.Println("panic:", recover()) }()
		serve()
	}()
	fmt.Println("key is zero:", bytes.Equal(key, make([]byte, len(key))))
	if err := secrets.Put(key); err != nil {
		log.Fatal(err)
	}
	// Output:
	// panic: index out of range in the request parser
	// key is zero: true
}
