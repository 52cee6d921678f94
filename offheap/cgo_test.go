//go:build cgo && !zeropool_nocgo

package offheap

func init() { cgoCompiled = true }
