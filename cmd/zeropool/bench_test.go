package main

import (
	"bytes"
	"errors"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/pool"
)

func TestBenchSelectedWorkloads(t *testing.T) {
	var out, errOut bytes.Buffer
	code := runBench([]string{"-time", "20ms", "-run", "hot path 4KiB|burst 10 |GC survival|secure"}, &out, &errOut)
	require.Equal(t, exitOK, code, errOut.String())
	o := out.String()
	assert.Regexp(t, regexp.MustCompile(`(?m)^workload +op +pool +allocs/op +reference +ratio`), o)
	assert.Regexp(t, regexp.MustCompile(`(?m)^hot path 4KiB +Get\+Put +\S+ +0 +sync\.Pool \S+ +[\d.]+x$`), o, "0 allocs/op and a ratio")
	assert.Regexp(t, regexp.MustCompile(`(?m)^burst 10 x 4K +burst +\S+ +0 +make `), o)
	assert.Regexp(t, regexp.MustCompile(`(?m)^GC survival 64 x 64K +2 GCs +100% survived`), o, "idle buffers survive collections")
	if p, err := pool.NewWithConfig(pool.Config{Secure: true}); errors.Is(err, errors.ErrUnsupported) {
		assert.Regexp(t, regexp.MustCompile(`(?m)^secure 32B +Get\+copy\+Put +n/a \(Secure pools need Linux\)`), o)
	} else {
		require.NoError(t, err)
		require.NoError(t, p.Close())
		assert.Regexp(t, regexp.MustCompile(`(?m)^secure 32B +Get\+copy\+Put +\S+ +0 `), o)
	}
	assert.NotContains(t, o, "zipf", "-run selects")
	assert.NotContains(t, o, "%!", "no formatting mistakes")
	assert.Contains(t, errOut.String(), "hot path 4KiB", "progress on stderr")
}

func TestBenchUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"-run", "("}, {"extra"}, {"-time", "x"}} {
		var out, errOut bytes.Buffer
		assert.Equal(t, exitUsage, runBench(args, &out, &errOut), "%q", args)
	}
}
