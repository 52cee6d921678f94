package main

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// units maps a size suffix, lower-cased, to its multiplier. Binary units are the norm for
// buffers; the one-letter forms are binary too, as in dd and ulimit. kB, MB, GB and TB keep
// their SI meaning, so that "500MB" is what it says.
var units = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
}

var errBadSize = errors.New("bad size")

// parseSize reads a byte count such as 4096, 64KiB, 512MiB, 1.5GiB or 500MB. The result must
// be a whole number of bytes that fits an int.
func parseSize(s string) (int, error) {
	fail := func(why string) (int, error) {
		return 0, fmt.Errorf("%w %q: %s (examples: 4096, 64KiB, 512MiB, 1.5GiB)", errBadSize, s, why)
	}
	t := strings.TrimSpace(s)
	end := 0
	dots := 0
	for end < len(t) && (t[end] >= '0' && t[end] <= '9' || t[end] == '.') {
		if t[end] == '.' {
			dots++
		}
		end++
	}
	num, unit := t[:end], strings.ToLower(strings.TrimSpace(t[end:]))
	if num == "" || num == "." || dots > 1 {
		return fail("want a non-negative number followed by an optional unit")
	}
	mult, ok := units[unit]
	if !ok {
		return fail(fmt.Sprintf("unknown unit %q (want B, KiB, MiB, GiB, TiB, or kB, MB, GB, TB)", t[end:]))
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return fail("not a number")
	}
	r.Mul(r, new(big.Rat).SetInt64(mult))
	if !r.IsInt() {
		return fail("not a whole number of bytes")
	}
	n := r.Num()
	if !n.IsInt64() || n.Int64() > math.MaxInt {
		return fail("too large")
	}
	return int(n.Int64()), nil
}

// sizeFlag is a flag.Value holding a byte count written as parseSize reads it.
type sizeFlag struct{ n int }

func (f *sizeFlag) String() string {
	if f == nil {
		return "0"
	}
	return compactBytes(f.n)
}

func (f *sizeFlag) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	f.n = n
	return nil
}

// binaryUnits are the units formatBytes and compactBytes write, largest first.
var binaryUnits = []struct {
	name string
	size int64
}{{"EiB", 1 << 60}, {"PiB", 1 << 50}, {"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}

// formatBytes renders n bytes with the largest binary unit it reaches and at most two
// decimals, trailing zeros dropped: 512 MiB, 1.5 GiB, 1.25 GiB (the default MaxIdleBytes,
// which pool.FormatBytes's one decimal shows as 1.2 GiB). Values that are no whole number of
// hundredths of their unit are rounded.
func formatBytes(n int64) string {
	abs := n
	if abs < 0 {
		abs = -abs
	}
	for _, u := range binaryUnits {
		if abs >= u.size {
			s := strconv.FormatFloat(float64(n)/float64(u.size), 'f', 2, 64)
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
			return s + " " + u.name
		}
	}
	return fmt.Sprintf("%d B", n)
}

// compactBytes renders n the way parseSize reads it back exactly: 512MiB rather than
// 512 MiB, 1.25GiB, and a plain count of bytes (1073741825B) where formatBytes would round.
// A power-of-two unit gives n exactly in two decimals when n is a whole number of quarters of
// it (100n/unit is whole only then: 100 = 4 × 25 and the unit is a power of two).
func compactBytes(n int) string {
	for _, u := range binaryUnits {
		if int64(n) >= u.size {
			if int64(n)%(u.size/4) == 0 {
				return strings.ReplaceAll(formatBytes(int64(n)), " ", "")
			}
			break
		}
	}
	return fmt.Sprintf("%dB", n)
}
