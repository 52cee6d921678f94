// Package bench compares zeropool's buffer pool with its peers in one process: make([]byte),
// sync.Pool, github.com/libp2p/go-buffer-pool, github.com/bytedance/gopkg/lang/mcache,
// github.com/valyala/bytebufferpool and, for secrets, github.com/awnumar/memguard.
//
// It is a module of its own so that the peers never enter the main module's go.mod. The
// benchmarks are in the _test.go files, one per workload family; every sub-benchmark is named
// Workload/size=X[/n=N]/impl=NAME so that benchstat and cmd/report can set impls side by side.
// See README.md for how to run the suite and read its results.
package bench
