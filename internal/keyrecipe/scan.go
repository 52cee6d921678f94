//go:build linux

// Package keyrecipe tests the recipe for the copies of a key that no pool can protect: the
// key schedules and cipher states that crypto libraries build on the Go heap from a key kept
// in a Secure pool. It holds Scan, a search of the whole process's readable memory for given
// byte strings, and the tests that use it: with GOEXPERIMENT=runtimesecret, ciphers created,
// used and dropped inside runtime/secret's secret.Do leave no copy of the key behind; without
// it, the copies that remain are counted and logged.
package keyrecipe

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrBadNeedle is returned by Scan for an empty needle or one made only of zero bytes, which
// would match every untouched page.
var ErrBadNeedle = errors.New("keyrecipe: a needle must hold a non-zero byte")

// Range is the address range [Start, End).
type Range struct{ Start, End uintptr }

// RangeOf is the range of b's whole capacity.
func RangeOf(b []byte) Range {
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return Range{start, start + uintptr(cap(b))}
}

func (r Range) contains(a uintptr) bool { return r.Start <= a && a < r.End }

// Hit is one place where a needle was found.
type Hit struct {
	Needle  int     // index into the needles given to Scan
	Addr    uintptr // address of the first byte of the match
	Mapping string  // the line of /proc/self/maps that holds it
}

// Report is what a Scan saw. Hits in skipped ranges are not reported; a skipped range is
// read all the same, except the scan's own read buffer.
type Report struct {
	Hits       []Hit
	Mappings   int   // readable mappings scanned
	Scanned    int64 // bytes read and searched
	Unreadable int64 // bytes of readable mappings that /proc/self/mem refused (EIO: guard pages, memfd_secret, a mapping gone meanwhile)
}

// Count is the number of hits of needle i.
func (r Report) Count(i int) int {
	n := 0
	for _, h := range r.Hits {
		if h.Needle == i {
			n++
		}
	}
	return n
}

const chunkSize = 1 << 20

// Scan reads every readable mapping of the process through /proc/self/mem and reports every
// occurrence of every needle outside the skip ranges. It skips mappings the process cannot
// read ([vvar], [vvar_vclock], [vsyscall] and those without read permission), and reads
// into a mapping of its own, outside the Go heap, that it does not search.
//
// A needle is compared one byte at a time, with ordinary loads, never as a whole in vector
// registers: a signal delivered during the scan saves the registers on the signal stack,
// and a needle held there whole would be found by the scan itself.
func Scan(needles [][]byte, skip ...Range) (Report, error) {
	maxLen := 0
	anchors := make([]int, len(needles))
	for i, n := range needles {
		anchors[i] = -1
		for j, c := range n {
			if c != 0 {
				anchors[i] = j
				break
			}
		}
		if anchors[i] < 0 {
			return Report{}, fmt.Errorf("%w: needle %d", ErrBadNeedle, i)
		}
		maxLen = max(maxLen, len(n))
	}

	buf, err := unix.Mmap(-1, 0, chunkSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return Report{}, fmt.Errorf("keyrecipe: map the read buffer: %w", err)
	}
	own := RangeOf(buf)
	maps, err := readMaps()
	if err != nil {
		return Report{}, errors.Join(err, unmap(buf))
	}
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		return Report{}, errors.Join(fmt.Errorf("keyrecipe: %w", err), unmap(buf))
	}

	var rep Report
	for _, m := range maps {
		if !m.readable || m.special() {
			continue
		}
		rep.Mappings++
		// The read buffer may have been merged with a neighbouring mapping: leave out its
		// bytes only.
		for _, part := range m.without(own) {
			s := scanner{mem: mem, buf: buf, needles: needles, anchors: anchors, maxLen: maxLen, skip: skip, r: part, line: m.line, rep: &rep}
			s.run()
		}
	}
	return rep, errors.Join(mem.Close(), unmap(buf))
}

// without is what is left of r outside o: none, one or two ranges.
func (r Range) without(o Range) []Range {
	if o.End <= r.Start || r.End <= o.Start {
		return []Range{r}
	}
	var out []Range
	if r.Start < o.Start {
		out = append(out, Range{r.Start, o.Start})
	}
	if o.End < r.End {
		out = append(out, Range{o.End, r.End})
	}
	return out
}

func unmap(b []byte) error {
	if err := unix.Munmap(b); err != nil {
		return fmt.Errorf("keyrecipe: unmap the read buffer: %w", err)
	}
	return nil
}

type scanner struct {
	mem     *os.File
	buf     []byte
	needles [][]byte
	anchors []int
	maxLen  int
	skip    []Range
	r       Range  // the part of a mapping to read
	line    string // the mapping's line of /proc/self/maps
	rep     *Report
}

// run reads the range in chunks that overlap by maxLen-1 bytes, so that a match across a
// chunk boundary is seen once.
func (s *scanner) run() {
	for at := s.r.Start; at < s.r.End; {
		n := min(uintptr(len(s.buf)), s.r.End-at)
		last := at+n == s.r.End
		step := n - uintptr(s.maxLen-1)
		if last || n <= uintptr(s.maxLen-1) {
			step, last = n, true
		}
		if !s.read(at, n) {
			// Part of the chunk is refused: go page by page, searching each page alone
			// (a match across a refused page cannot be read anyway).
			s.pageByPage(at, n)
			at += n
			continue
		}
		s.search(at, s.buf[:n], step, last)
		at += step
	}
}

func (s *scanner) pageByPage(at, n uintptr) {
	page := uintptr(os.Getpagesize())
	for p := at; p < at+n; p += page {
		if s.read(p, page) {
			s.search(p, s.buf[:page], page, true)
		} else {
			s.rep.Unreadable += int64(page)
		}
	}
}

func (s *scanner) read(at, n uintptr) bool {
	got, err := s.mem.ReadAt(s.buf[:n], int64(at))
	return err == nil && uintptr(got) == n
}

// search reports the matches in chunk that start before limit (all of them for the last
// chunk of a range: limit is then its length).
func (s *scanner) search(base uintptr, chunk []byte, limit uintptr, last bool) {
	s.rep.Scanned += int64(limit)
	if last {
		s.rep.Scanned += int64(len(chunk)) - int64(limit)
	}
	for i, needle := range s.needles {
		a := s.anchors[i]
		for from := a; from < len(chunk); {
			k := bytes.IndexByte(chunk[from:], needle[a])
			if k < 0 {
				break
			}
			pos := from + k - a
			from += k + 1
			if uintptr(pos) >= limit && !last {
				break
			}
			if pos+len(needle) > len(chunk) {
				break
			}
			if !equalBytewise(chunk[pos:pos+len(needle)], needle) {
				continue
			}
			addr := base + uintptr(pos)
			if !s.skipped(addr) {
				s.rep.Hits = append(s.rep.Hits, Hit{Needle: i, Addr: addr, Mapping: s.line})
			}
		}
	}
}

func (s *scanner) skipped(a uintptr) bool {
	for _, r := range s.skip {
		if r.contains(a) {
			return true
		}
	}
	return false
}

// equalBytewise compares one byte at a time, so that no more than a byte of the needle is in
// a register at once (bytes.Equal would load it 16 or 32 bytes at a time).
//
//go:noinline
func equalBytewise(a, b []byte) bool {
	for i := range b {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

type mapping struct {
	Range
	readable bool
	line     string
}

// special is a mapping of the kernel's that /proc/self/mem does not read.
func (m mapping) special() bool {
	f := strings.Fields(m.line)
	if len(f) < 6 {
		return false
	}
	switch f[5] {
	case "[vvar]", "[vvar_vclock]", "[vsyscall]":
		return true
	}
	return false
}

func readMaps() (_ []mapping, err error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil, fmt.Errorf("keyrecipe: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("keyrecipe: %w", cerr)
		}
	}()
	var out []mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m, err := parseMapsLine(sc.Text())
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("keyrecipe: read /proc/self/maps: %w", err)
	}
	return out, nil
}

// parseMapsLine parses "start-end perms offset dev inode [path]".
func parseMapsLine(line string) (mapping, error) {
	f := strings.Fields(line)
	if len(f) < 5 {
		return mapping{}, fmt.Errorf("keyrecipe: /proc/self/maps line %q", line)
	}
	lo, hi, ok := strings.Cut(f[0], "-")
	start, err1 := strconv.ParseUint(lo, 16, 64)
	end, err2 := strconv.ParseUint(hi, 16, 64)
	if !ok || err1 != nil || err2 != nil || end < start || len(f[1]) < 1 {
		return mapping{}, fmt.Errorf("keyrecipe: /proc/self/maps line %q", line)
	}
	return mapping{Range: Range{uintptr(start), uintptr(end)}, readable: f[1][0] == 'r', line: line}, nil
}
