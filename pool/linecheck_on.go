//go:build zeropool_linecheck

package pool

import "sync/atomic"

// With the zeropool_linecheck build tag, the Get and Put fast paths report every write they
// make to noteWrite: which P wrote, which cache line, of what kind (a buffer's state, a P's
// cache, a magazine), and on behalf of which buffer. While a test has recording on, each line
// is entered in a fixed table with the set of Ps that wrote it and whether it was written for
// more than one buffer. The table is allocated once, and entries are claimed with atomic
// operations, so recording adds no allocation and no lock to the paths it watches.

const lineCheck = true

const lineTableSize = 1 << 16 // entries; a power of two

type lineUse struct {
	line  atomic.Uint64 // the line's address + 1; 0: the entry is free
	kind  atomic.Uint32
	pids  atomic.Uint64 // bit pid&63 for every P that wrote the line
	buf   atomic.Uint64 // the first buffer written for; for state lines
	multi atomic.Bool   // written for a second buffer
	ops   atomic.Uint64 // writes recorded
}

var lineTable struct {
	on      atomic.Bool
	full    atomic.Bool // an entry found no room: the table is too small for the test
	entries [lineTableSize]lineUse
}

func noteWrite(pid int, a addr, kind lineKind, buf addr) {
	if !lineTable.on.Load() {
		return
	}
	line := uint64(a&^(cacheLine-1)) + 1
	h := (line >> 6) * 0x9e3779b97f4a7c15 >> (64 - 16)
	for i := range uint64(lineTableSize) {
		e := &lineTable.entries[(h+i)&(lineTableSize-1)]
		if l := e.line.Load(); l != line && (l != 0 || !e.line.CompareAndSwap(0, line)) && e.line.Load() != line {
			continue // another line's entry
		}
		e.kind.Store(uint32(kind))
		for {
			old := e.pids.Load()
			if e.pids.CompareAndSwap(old, old|1<<(uint(pid)&63)) {
				break
			}
		}
		if !e.buf.CompareAndSwap(0, uint64(buf)) && e.buf.Load() != uint64(buf) {
			e.multi.Store(true)
		}
		e.ops.Add(1)
		return
	}
	lineTable.full.Store(true)
}

// lineRecord is one line's record, for tests.
type lineRecord struct {
	line     addr
	kind     lineKind
	pids     uint64
	buf      addr
	multiBuf bool
	writes   uint64
}

// startLineCheck clears the table and turns recording on.
func startLineCheck() {
	lineTable.on.Store(false)
	for i := range lineTable.entries {
		e := &lineTable.entries[i]
		e.line.Store(0)
		e.kind.Store(0)
		e.pids.Store(0)
		e.buf.Store(0)
		e.multi.Store(false)
		e.ops.Store(0)
	}
	lineTable.full.Store(false)
	lineTable.on.Store(true)
}

// stopLineCheck turns recording off and returns every line recorded; full reports entries
// that found no room.
func stopLineCheck() (recs []lineRecord, full bool) {
	lineTable.on.Store(false)
	for i := range lineTable.entries {
		e := &lineTable.entries[i]
		if l := e.line.Load(); l != 0 {
			recs = append(recs, lineRecord{addr(l - 1), lineKind(e.kind.Load()), e.pids.Load(),
				addr(e.buf.Load()), e.multi.Load(), e.ops.Load()})
		}
	}
	return recs, lineTable.full.Load()
}
