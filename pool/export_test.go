package pool

// What the package's external tests (package pool_test) need of its internal test helpers.

// NeedsMappedMemory is needsMappedMemory, for external tests.
var NeedsMappedMemory = needsMappedMemory
