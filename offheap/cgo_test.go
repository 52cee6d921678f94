//go:build linux && cgo && !zeropool_nocgo && !zeropool_portable

package offheap

func init() { cgoCompiled = true }
