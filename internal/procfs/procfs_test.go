package procfs

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	status := []byte("Name:\tzeropool\nVmLck:\t       8 kB\nCapEff:\t000001fffeffffff\n")
	v, err := ParseStatusField(status, "CapEff")
	require.NoError(t, err)
	assert.Equal(t, "000001fffeffffff", v)
	_, err = ParseStatusField(status, "VmRSS")
	assert.Error(t, err, "a missing field")

	v, err = ParseStatusField(status, "VmLck")
	require.NoError(t, err)
	n, err := ParseKiB(v)
	require.NoError(t, err)
	assert.Equal(t, int64(8<<10), n)
	for _, bad := range []string{"12 MB", "x kB", ""} {
		_, err := ParseKiB(bad)
		assert.Error(t, err, "%q", bad)
	}
}

func TestStatusBytesOfThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/self/status is Linux's")
	}
	rss, err := StatusBytes("VmRSS")
	require.NoError(t, err)
	assert.Positive(t, rss, "a running process has resident memory")
	_, err = StatusBytes("Name")
	assert.Error(t, err, "Name is not in kB")
}

func TestParseMaps(t *testing.T) {
	maps := []byte("7f0000000000-7f0000002000 rw-p 00000000 00:00 0 \n" +
		"7f0000002000-7f0000003000 r--s 00001000 00:0e 20372                      /secretmem (deleted)\n" +
		"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n")
	es, err := ParseMaps(maps)
	require.NoError(t, err)
	require.Len(t, es, 3)
	assert.Equal(t, MapsEntry{Lo: 0x7f0000000000, Hi: 0x7f0000002000, Perms: "rw-p"}, es[0])
	assert.Equal(t, "/secretmem (deleted)", es[1].Name)
	assert.Equal(t, uintptr(0x1000), Covered(es, 0x7f0000001000, 0x7f0000002000))
	assert.Equal(t, uintptr(0x2000), Covered(es, 0x7f0000001000, 0x7f0000004000), "across two entries and a hole")
	assert.Zero(t, Covered(es, 0x1000, 0x2000))
	_, err = ParseMaps([]byte("nonsense\n"))
	assert.Error(t, err)
}
