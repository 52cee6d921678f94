package main

import (
	"errors"
	"flag"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zeropool-go/zeropool/pool"
)

func TestParseSize(t *testing.T) {
	good := []struct {
		in   string
		want int
	}{
		{"4096", 4096},
		{"0", 0},
		{"10B", 10},
		{"64KiB", 64 << 10},
		{"64kib", 64 << 10},
		{"64K", 64 << 10},
		{"512MiB", 512 << 20},
		{"512M", 512 << 20},
		{"512 MiB", 512 << 20},
		{" 1GiB ", 1 << 30},
		{"1.5GiB", 3 << 29},
		{"0.5KiB", 512},
		{"2TiB", 2 << 40},
		{"1kB", 1000},
		{"500MB", 500_000_000},
		{"1GB", 1_000_000_000},
	}
	for _, c := range good {
		t.Run(c.in, func(t *testing.T) {
			got, err := parseSize(c.in)
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
	bad := []string{
		"", " ", "MiB", ".", "-1", "+5", "1..5", "1.2.3", "1.5", "0.1KiB", "12XB", "12 M i B",
		"1e3", "1/2", "0x10", "Inf", "NaN", "9999999999999TiB", "99999999999999999999", "5 5",
	}
	for _, in := range bad {
		t.Run("bad "+in, func(t *testing.T) {
			_, err := parseSize(in)
			require.Error(t, err)
			assert.True(t, errors.Is(err, errBadSize), "%v", err)
		})
	}
}

func TestSizeFlagRoundTrips(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := sizeFlag{512 << 20}
	fs.Var(&f, "size", "")
	assert.Equal(t, "512MiB", f.String())
	require.NoError(t, fs.Parse([]string{"-size", "64KiB"}))
	assert.Equal(t, 64<<10, f.n)
	back, err := parseSize(f.String())
	require.NoError(t, err)
	assert.Equal(t, f.n, back)
	assert.Error(t, fs.Parse([]string{"-size", "lots"}))
}

// The default MaxIdleBytes is 1.25 GiB: info must print it as that, not rounded to one decimal.
func TestFormatBytesExact(t *testing.T) {
	cases := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1 KiB"},
		{1536, "1.5 KiB"},
		{512 << 20, "512 MiB"},
		{1 << 30, "1 GiB"},
		{pool.DefaultMaxIdleBytes, "1.25 GiB"},
		{3 << 29, "1.5 GiB"},
		{1<<30 + 1<<30/3, "1.33 GiB"}, // not a whole number of hundredths: rounded
		{64 << 40, "64 TiB"},
		{-2048, "-2 KiB"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, formatBytes(c.n), "%d bytes", c.n)
	}
}

// compactBytes is what a size flag shows as its value: parseSize must read it back exactly.
func TestCompactBytesRoundTrips(t *testing.T) {
	for _, n := range []int{0, 1, 4096, 64 << 10, 512 << 20, pool.DefaultMaxIdleBytes, 3 << 29, 1<<30 + 1, 1<<30 + 1<<30/3} {
		s := compactBytes(n)
		assert.NotContains(t, s, " ")
		back, err := parseSize(s)
		require.NoError(t, err, s)
		assert.Equal(t, n, back, s)
	}
	assert.Equal(t, "1.25GiB", compactBytes(pool.DefaultMaxIdleBytes))
	assert.Equal(t, "512MiB", compactBytes(512<<20))
}
