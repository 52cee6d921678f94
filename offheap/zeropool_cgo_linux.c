//go:build cgo && !zeropool_nocgo && !zeropool_portable

// The cgo backend compiles the one C source of the mapping recipe into the binary.
#include "../csrc/zeropool.c"
