// Package sameapi holds the test that the module's public packages (offheap, pool, iouring)
// declare the same exported API in every build: every GOOS, and on Linux with cgo, without,
// with the purego backend and with the portable one. It has no code of its own.
package sameapi
