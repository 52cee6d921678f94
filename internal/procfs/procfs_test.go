package procfs

import (
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
	rss, err := StatusBytes("VmRSS")
	require.NoError(t, err)
	assert.Positive(t, rss, "a running process has resident memory")
	_, err = StatusBytes("Name")
	assert.Error(t, err, "Name is not in kB")
}
