package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDemoSmall(t *testing.T) {
	var out, errOut bytes.Buffer
	code := runDemo([]string{"-size", "8MiB", "-rounds", "2"}, &out, &errOut)
	require.Equal(t, exitOK, code, errOut.String())
	o := out.String()
	assert.Contains(t, o, "get 8 MiB")
	assert.Regexp(t, regexp.MustCompile(`(?m)^run +warm-up +total +median/round`), o)
	assert.Regexp(t, regexp.MustCompile(`(?m)^pool +\S+ +\S+ +\S+ +1\.00x +\d+ `), o)
	assert.Regexp(t, regexp.MustCompile(`(?m)^make +\S+ +\S+ +\S+ +[\d.]+x +\d+ `), o)
	assert.Regexp(t, regexp.MustCompile(`(?m)^resident +`), o)
	assert.Contains(t, o, "pool.Stats()")
	assert.Contains(t, o, "gets=3 puts=3", "the warm-up and the two rounds")
	assert.Contains(t, o, "warm-up:  the round before the measured ones", "the output says why the warm-up stands apart")
	assert.NotContains(t, o, "%!", "no formatting mistakes")

	e := errOut.String()
	for _, run := range []string{"pool", "make", "resident"} {
		assert.Regexp(t, regexp.MustCompile(run+` +warm-up +\S+\n +`+run+` +round 1/2`), e)
		assert.Regexp(t, regexp.MustCompile(run+` +round 1/2`), e)
		assert.Regexp(t, regexp.MustCompile(run+` +round 2/2`), e)
	}
}

func TestDemoOddSizeAndOneRound(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, exitOK, runDemo([]string{"-size", "100000", "-rounds", "1"}, &out, &errOut), errOut.String())
	assert.Contains(t, out.String(), "gets=2 puts=2")
}

func TestDemoPoolFitsLargeSizes(t *testing.T) {
	p, note, err := demoPool(8 << 20)
	require.NoError(t, err)
	assert.Empty(t, note)
	require.NoError(t, p.Close())

	// Beyond the defaults the demo widens the bounds instead of measuring no reuse at all;
	// no memory is mapped until a Get.
	p, note, err = demoPool(3 << 30)
	require.NoError(t, err)
	assert.Contains(t, note, "beyond the defaults")
	assert.GreaterOrEqual(t, p.Config().MaxBufferSize, 3<<30)
	assert.GreaterOrEqual(t, p.Config().MaxIdleBytes, int64(6<<30))
	require.NoError(t, p.Close())
}

func TestMedianAndTable(t *testing.T) {
	ms := time.Millisecond
	withPool := phaseResult{name: "pool", warmup: 1280 * ms, rounds: []time.Duration{9 * ms, 1 * ms, 3 * ms, 2 * ms}}
	mk := phaseResult{name: "make", warmup: 175 * ms, rounds: []time.Duration{50 * ms, 20 * ms, 30 * ms}, gcs: 3, peakRSS: 1 << 30, peakOwn: true, startRSS: 1 << 29}
	assert.Equal(t, 2500*time.Microsecond, withPool.median())
	assert.Equal(t, 30*ms, mk.median())
	assert.Equal(t, 15*ms, withPool.total())

	var b bytes.Buffer
	require.NoError(t, resultTable(withPool, []*phaseResult{&withPool, &mk}).render(&b))
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	require.Len(t, lines, 4)
	// A slow warm-up (the pool's first touch waiting for huge-page compaction) shows in its
	// column and changes neither the total nor the ratio.
	assert.Regexp(t, `^pool +1\.28s +15ms +2\.5ms +1\.00x +0 `, lines[2])
	assert.Regexp(t, `^make +175ms +100ms +30ms +12\.0x +3 .* 1 GiB \(\+512 MiB\)$`, lines[3])
}

func TestFormatters(t *testing.T) {
	assert.Equal(t, "1.23s", formatDuration(1234*time.Millisecond))
	assert.Equal(t, "45.6ms", formatDuration(45600*time.Microsecond))
	assert.Equal(t, "789µs", formatDuration(789*time.Microsecond))
	assert.Equal(t, "12ns", formatDuration(12))
	assert.Equal(t, "0.98x", formatRatio(0.98))
	assert.Equal(t, "12.3x", formatRatio(12.34))
	assert.Equal(t, "286x", formatRatio(285.9))
}

func TestTableAligns(t *testing.T) {
	tb := &table{header: []string{"name", "n"}}
	tb.add("a", "1")
	tb.add("longer", "1000")
	var b bytes.Buffer
	require.NoError(t, tb.render(&b))
	assert.Equal(t, "name       n\n------  ----\na          1\nlonger  1000\n", b.String())
}

func TestDemoReportsAnUnusableBackend(t *testing.T) {
	t.Setenv("ZEROPOOL_BACKEND", "no-such-backend")
	var out, errOut bytes.Buffer
	assert.Equal(t, exitFail, runDemo([]string{"-size", "1MiB", "-rounds", "1"}, &out, &errOut))
	assert.Contains(t, errOut.String(), "no-such-backend")
}
