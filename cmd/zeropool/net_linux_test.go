//go:build !zeropool_portable

package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/internal/uring"
)

// netRows parses the rows of zeropool net's table: echo name -> cells.
func netRows(t *testing.T, out string) map[string][]string {
	t.Helper()
	rows := map[string][]string{}
	sep := regexp.MustCompile(`\s{2,}`)
	for _, line := range strings.Split(out, "\n") {
		cells := sep.Split(strings.TrimSpace(line), -1)
		if len(cells) == 6 && (strings.HasPrefix(cells[0], "io_uring") || strings.HasPrefix(cells[0], "net.Conn")) {
			rows[cells[0]] = cells
		}
	}
	return rows
}

// bytesOf reads a size as the table prints it (pool.FormatBytes).
func bytesOf(t *testing.T, s string) float64 {
	t.Helper()
	n, err := parseSize(strings.ReplaceAll(s, " ", ""))
	if err == nil {
		return float64(n)
	}
	f, unit, ok := strings.Cut(s, " ")
	require.True(t, ok, "a size: %q", s)
	v, err := strconv.ParseFloat(f, 64)
	require.NoError(t, err, "a size: %q", s)
	mult := map[string]float64{"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[unit]
	require.NotZero(t, mult, "a size: %q", s)
	return v * mult
}

// The echo runs every way and checks every byte (a difference fails the command); the pooled
// io_uring echoes allocate a small fraction of what a heap buffer per message does.
func TestNetCommand(t *testing.T) {
	if err := uring.Unavailable(); err != nil {
		t.Skip(err)
	}
	code, out, errOut := runCmd("net", "-conns", "2", "-size", "4KiB", "-bytes", "16MiB", "-rounds", "2", "-count", "64")
	require.Equal(t, exitOK, code, "stderr:\n%s", errOut)
	assert.Contains(t, errOut, "round 2")
	rows := netRows(t, out)
	require.Len(t, rows, 4, "stdout:\n%s", out)
	for name, cells := range rows {
		assert.Equal(t, "16 MiB", cells[5], "%s echoed every byte it was sent", name)
	}
	heap := bytesOf(t, rows["net.Conn + heap"][3])
	assert.GreaterOrEqual(t, heap, float64(1<<20), "a heap buffer per read allocates at least what it moves")
	for _, name := range []string{"io_uring + SENDMSG_ZC", "io_uring + SENDMSG"} {
		assert.Less(t, bytesOf(t, rows[name][3]), heap/10, "%s allocates little on the Go heap", name)
	}
	assert.Regexp(t, `SEND_ZC: [1-9][0-9]* notifications`, out)
}

func TestNetCommandRefusals(t *testing.T) {
	for _, args := range [][]string{
		{"-count", "3"}, {"-count", "65536"}, {"-size", "0"}, {"-size", "2MiB"}, {"-conns", "0"},
		{"-bytes", "1KiB", "-size", "4KiB"}, {"-time", "0s"}, {"-rounds", "0"}, {"-run", "nothing"}, {"-run", "("},
		{"extra"},
	} {
		code, _, errOut := runCmd(append([]string{"net"}, args...)...)
		assert.Equal(t, exitUsage, code, "net %v", args)
		assert.NotEmpty(t, errOut, "net %v says why", args)
	}
	code, out, _ := runCmd("help", "net")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "SENDMSG_ZC")
}
