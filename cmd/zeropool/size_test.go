package main

import (
	"errors"
	"flag"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
