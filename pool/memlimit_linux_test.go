package pool

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/internal/childtest"
)

// Under a memory limit (a cgroup's), the Go runtime's own limit must leave room for the
// pools' memory, which Go's accounting cannot see. A child in a 512 MiB cgroup holds a
// 256 MiB pool and churns through 3 GiB of garbage with the collector off but for the memory
// limit (GOGC=off): with GOMEMLIMIT at the cgroup's limit the heap grows into the room the
// pool takes and the kernel kills the child; with SetGoMemoryLimit it collects in time and
// finishes.
func TestGoMemoryLimitLeavesRoomForThePool(t *testing.T) {
	const limit = 512 << 20
	if cg := os.Getenv("ZEROPOOL_TEST_CGROUP"); cg != "" && childtest.Is(t.Name()) {
		memLimitChild(t, cg, os.Getenv("ZEROPOOL_TEST_MODE"), limit)
		return
	}
	needsMappedMemory(t, "pool memory the Go runtime does not count")
	if raceEnabled {
		t.Skip("the race detector's shadow memory counts against the cgroup's limit and not against Go's; make test runs this test in its other modes")
	}
	cg := memoryCgroup(t, limit)
	for _, mode := range []string{"recipe", "naive"} {
		out, err := childtest.Run(t, t.Name(), childtest.Options{Env: []string{
			"ZEROPOOL_TEST_CGROUP=" + cg, "ZEROPOOL_TEST_MODE=" + mode}})
		switch mode {
		case "recipe":
			require.NoError(t, err, "with SetGoMemoryLimit the child fits:\n%s", out)
			assert.Contains(t, out, "--- PASS: "+t.Name())
			v := childtest.Values(t, out)
			assert.Equal(t, v["go-limit"], int64(limit-48<<20)-v["pool-mapped"], "the runtime's limit is the rest")
		case "naive":
			require.Error(t, err, "with GOMEMLIMIT at the cgroup's limit the child is killed:\n%s", out)
			assert.Contains(t, err.Error(), "killed", "the kernel's OOM killer ended it:\n%s", out)
		}
	}
}

// memoryCgroup makes a cgroup (v1 memory controller, or v2) under this process's own, with
// a memory limit, removed when the test ends; it skips where there is none to make.
func memoryCgroup(t *testing.T, limit int64) string {
	t.Helper()
	self, err := os.ReadFile("/proc/self/cgroup")
	require.NoError(t, err)
	var dir, limitFile string
	for _, line := range strings.Split(strings.TrimSpace(string(self)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[1] == "memory":
			dir, limitFile = filepath.Join("/sys/fs/cgroup/memory", parts[2]), "memory.limit_in_bytes"
		case parts[0] == "0" && dir == "":
			dir, limitFile = filepath.Join("/sys/fs/cgroup", parts[2]), "memory.max"
		}
	}
	cg := filepath.Join(dir, fmt.Sprintf("zeropool-test-%d", os.Getpid()))
	if err := os.Mkdir(cg, 0o755); err != nil {
		t.Skipf("no memory cgroup to make (this test needs root and a writable cgroup hierarchy): %v", err)
	}
	t.Cleanup(func() { assert.NoError(t, os.Remove(cg)) })
	if err := os.WriteFile(filepath.Join(cg, limitFile), []byte(strconv.FormatInt(limit, 10)), 0); err != nil {
		t.Skipf("cannot set %s: %v", limitFile, err)
	}
	return cg
}

func memLimitChild(t *testing.T, cg, mode string, limit int64) {
	require.NoError(t, os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0))
	debug.SetGCPercent(-1) // only the memory limit makes the collector run
	p, err := NewWithConfig(Config{Populate: true})
	require.NoError(t, err)
	require.NoError(t, p.Preallocate(1<<20, 256)) // 256 MiB, resident at once
	switch mode {
	case "naive":
		debug.SetMemoryLimit(limit)
	case "recipe":
		// The limit less headroom for what neither counts (the binary, thread stacks).
		l := SetGoMemoryLimit(limit-48<<20, 16<<20)
		fmt.Printf("child: go-limit=%d\nchild: pool-mapped=%d\n", l, Process().MappedBytes)
	}
	var ring [32][]byte // 32 MiB live
	for i := range 3 << 10 {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = byte(i)
		}
		ring[i%len(ring)] = b
	}
	require.NoError(t, p.Close())
}
