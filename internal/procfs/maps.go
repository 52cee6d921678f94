package procfs

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// MapsEntry is one line of /proc/self/maps: one map entry (VMA) of the process.
type MapsEntry struct {
	Lo, Hi uintptr // the range [Lo, Hi)
	Perms  string  // "rw-p", "---p", "r--s", ...
	Name   string  // the file or pseudo-name ("[heap]", "/secretmem (deleted)"), "" if anonymous
}

// Maps returns the map entries of this process, in address order.
func Maps() ([]MapsEntry, error) {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	return ParseMaps(b)
}

// ParseMaps parses the contents of a maps file. A process at vm.max_map_count has some 65,000
// entries, so the parse allocates little per line.
func ParseMaps(maps []byte) ([]MapsEntry, error) {
	out := make([]MapsEntry, 0, bytes.Count(maps, []byte{'\n'}))
	for len(maps) > 0 {
		line := maps
		if i := bytes.IndexByte(maps, '\n'); i >= 0 {
			line, maps = maps[:i], maps[i+1:]
		} else {
			maps = nil
		}
		e, ok := parseMapsLine(line)
		if !ok {
			return nil, fmt.Errorf("maps: bad line %q", line)
		}
		out = append(out, e)
	}
	return out, nil
}

// parseMapsLine parses "lo-hi perms offset dev inode [name]".
func parseMapsLine(line []byte) (MapsEntry, bool) {
	var e MapsEntry
	lo, rest, ok := bytes.Cut(line, []byte{'-'})
	if !ok {
		return e, false
	}
	hi, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return e, false
	}
	perms, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok || len(perms) != 4 {
		return e, false
	}
	l, ok1 := parseHex(lo)
	h, ok2 := parseHex(hi)
	if !ok1 || !ok2 {
		return e, false
	}
	e.Lo, e.Hi = l, h
	switch string(perms) { // the common ones without an allocation
	case "rw-p":
		e.Perms = "rw-p"
	case "r--p":
		e.Perms = "r--p"
	case "---p":
		e.Perms = "---p"
	default:
		e.Perms = string(perms)
	}
	// offset, device and inode, then the name, if any
	for range 3 {
		rest = bytes.TrimLeft(rest, " ")
		if _, rest, ok = bytes.Cut(rest, []byte{' '}); !ok {
			return e, rest == nil || len(bytes.TrimSpace(rest)) == 0
		}
	}
	if name := bytes.TrimSpace(rest); len(name) > 0 {
		e.Name = string(name)
	}
	return e, true
}

func parseHex(b []byte) (uintptr, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var v uintptr
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		default:
			return 0, false
		}
		v = v<<4 | uintptr(c)
	}
	return v, true
}

// Covered returns how many bytes of [lo, hi) the entries cover.
func Covered(entries []MapsEntry, lo, hi uintptr) uintptr {
	var n uintptr
	for _, e := range entries {
		if a, b := max(lo, e.Lo), min(hi, e.Hi); a < b {
			n += b - a
		}
	}
	return n
}

// MapCount returns how many map entries the process has, as vm.max_map_count counts them
// (the [vsyscall] page is not one of them).
func MapCount() (int, error) {
	entries, err := Maps()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if e.Name != "[vsyscall]" {
			n++
		}
	}
	return n, nil
}

// MaxMapCount returns vm.max_map_count, the most map entries a process may have.
func MaxMapCount() (int, error) {
	b, err := os.ReadFile("/proc/sys/vm/max_map_count")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}
