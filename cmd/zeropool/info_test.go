package main

import (
	"bytes"
	"errors"
	"reflect"
	"regexp"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/internal/procfs"
	"github.com/zeropool-go/zeropool/offheap"
	"github.com/zeropool-go/zeropool/pool"
)

func TestInfoPrintsEveryFact(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, exitOK, runInfo(nil, &out, &errOut), errOut.String())
	assert.Empty(t, errOut.String())
	keys := []string{
		"go", "kernel", "cpus", "GOMAXPROCS", "page size", "THP", "THP defrag", "vm.max_map_count",
		"RLIMIT_MEMLOCK", "CAP_IPC_LOCK", "pinning works",
		"compiled in", "default",
	}
	keys = append(keys, offheap.Backends()...)
	ct := reflect.TypeFor[pool.Config]()
	for i := range ct.NumField() {
		keys = append(keys, ct.Field(i).Name)
	}
	for _, k := range keys {
		assert.Regexp(t, regexp.MustCompile(`(?m)^  `+regexp.QuoteMeta(k)+`  +\S`), out.String(), "info shows %q", k)
	}
	assert.NotContains(t, out.String(), "%!", "no formatting mistakes")
}

func TestInfoShowsTheDefaultTable(t *testing.T) {
	rows := configRows(pool.DefaultConfig(8))
	got := map[string]string{}
	for _, r := range rows {
		got[r[0]] = r[1]
	}
	assert.Contains(t, got["LocalCacheSize"], "6 ")
	assert.Contains(t, got["NumShards"], "8 ")
	assert.Contains(t, got["MaxBuffersPerShard"], "16 ")
	assert.Contains(t, got["MaxBufferSize"], "1 GiB")
	assert.Contains(t, got["MaxIdleBytes"], "1.25 GiB", "the default MaxIdleBytes, not rounded to 1.2 GiB")
	for _, r := range rows {
		assert.NotContains(t, r[1], "Rust", "%s: the Rust crate's names are in docs/configuration.md, not in info", r[0])
	}
}

func TestBracketed(t *testing.T) {
	v, err := bracketed("always [madvise] never\n")
	require.NoError(t, err)
	assert.Equal(t, "madvise", v)
	v, err = bracketed("[always] madvise never")
	require.NoError(t, err)
	assert.Equal(t, "always", v)
	_, err = bracketed("always madvise never")
	assert.Error(t, err)
	_, err = bracketed("] [")
	assert.Error(t, err)
}

func TestStatusParsing(t *testing.T) {
	status := []byte("Name:\tzeropool\nVmHWM:\t    1928 kB\nCapEff:\t000001fffeffffff\nCapPrm:\t0000000000000000\n")
	v, err := procfs.ParseStatusField(status, "CapEff")
	require.NoError(t, err)
	assert.Equal(t, "000001fffeffffff", v)
	_, err = procfs.ParseStatusField(status, "VmRSS")
	assert.Error(t, err)

	hwm, err := procfs.ParseStatusField(status, "VmHWM")
	require.NoError(t, err)
	n, err := procfs.ParseKiB(hwm)
	require.NoError(t, err)
	assert.Equal(t, int64(1928<<10), n)
	_, err = procfs.ParseKiB("12 MB")
	assert.Error(t, err)

	has, err := hasCap("000001fffeffffff", capIPCLock)
	require.NoError(t, err)
	assert.True(t, has)
	has, err = hasCap("00000000a80425fb", capIPCLock) // Docker's default set: no IPC_LOCK
	require.NoError(t, err)
	assert.False(t, has)
	_, err = hasCap("zz", capIPCLock)
	assert.Error(t, err)
}

func TestPinVerdict(t *testing.T) {
	ok := pinProbe{pages: 4, locked: true}
	assert.Contains(t, pinVerdict(ok, true, 8<<20, true), "no limit applies")
	assert.Contains(t, pinVerdict(ok, false, rlimInfinity, true), "unlimited")
	assert.Contains(t, pinVerdict(ok, false, 8<<20, true), "up to 8 MiB")

	eperm := pinProbe{pages: 4, err: syscall.EPERM}
	v := pinVerdict(eperm, false, 0, true)
	assert.Contains(t, v, "no:")
	assert.Contains(t, v, "CAP_IPC_LOCK")
	assert.Contains(t, pinVerdict(pinProbe{pages: 4, err: syscall.ENOMEM}, false, 64<<10, true), "ENOMEM")
	assert.Contains(t, pinVerdict(pinProbe{pages: 4, err: errors.New("boom")}, false, 0, false), "boom")
}

func TestFormatLimit(t *testing.T) {
	assert.Equal(t, "unlimited", formatLimit(rlimInfinity))
	assert.Equal(t, "8 MiB (8388608 bytes)", formatLimit(8<<20))
}

func TestProbePinOnThisMachine(t *testing.T) {
	p := probePin()
	if p.locked {
		assert.NoError(t, p.err)
	} else {
		assert.Error(t, p.err, "a failed lock says why")
	}
}
