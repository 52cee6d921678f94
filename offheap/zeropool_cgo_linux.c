//go:build cgo && !zeropool_nocgo

// The cgo backend compiles the one C source of the mapping recipe into the binary.
#include "../csrc/zeropool.c"
