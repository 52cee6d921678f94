package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"slices"
	"strings"

	"github.com/zeropool-go/zeropool/offheap"
	"github.com/zeropool-go/zeropool/pool"
)

// section is one titled block of key-value lines in the info report.
type section struct {
	title string
	rows  [][2]string
}

func (s *section) add(key, format string, args ...any) {
	s.rows = append(s.rows, [2]string{key, fmt.Sprintf(format, args...)})
}

func runInfo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("info", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: zeropool info\n\nPrints this machine's facts (CPUs, page size, THP, mlock limits and whether pinning\nworks, backends) and the defaults pool.New() uses here.")
	}
	if code, ok := parseArgs(fs, args, stderr); !ok {
		return code
	}
	if err := renderSections(stdout, gatherInfo()); err != nil {
		fmt.Fprintln(stderr, "zeropool info:", err)
		return exitFail
	}
	return exitOK
}

// gatherInfo collects the report. A fact that cannot be read is shown with the reason, never
// dropped: the report is most useful on exactly the machines where something is odd.
func gatherInfo() []section {
	cpus := runtime.NumCPU()
	m := section{title: "machine"}
	m.add("go", "%s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	m.add("kernel", "%s", orErr(kernel()))
	m.add("cpus", "%d", cpus)
	m.add("GOMAXPROCS", "%d", runtime.GOMAXPROCS(0))
	m.add("page size", "%s (%d bytes)", formatBytes(int64(offheap.PageSize())), offheap.PageSize())
	if mode, err := sysfsChoice(thpPath); err != nil {
		m.add("THP", "unknown: %v", err)
	} else {
		m.add("THP", "%s (%s)", mode, thpPath)
	}
	// The pool asks for huge pages on large buffers (MADV_HUGEPAGE); with defrag "madvise" or
	// "always" their first touch may wait for the kernel to compact memory.
	if mode, err := sysfsChoice(thpDefragPath); err != nil {
		m.add("THP defrag", "unknown: %v", err)
	} else {
		m.add("THP defrag", "%s (%s)", mode, thpDefragPath)
	}
	if n, err := maxMapCount(); err != nil {
		m.add("vm.max_map_count", "unknown: %v", err)
	} else {
		m.add("vm.max_map_count", "%d (mappings per process; the pool uses one per 2 MiB slab or large buffer)", n)
	}

	pin := section{title: "pinning (Config.Pinned, offheap.Pin)"}
	soft, hard, limErr := memlockLimit()
	if limErr != nil {
		pin.add("RLIMIT_MEMLOCK", "unknown: %v", limErr)
	} else {
		pin.add("RLIMIT_MEMLOCK", "soft %s, hard %s", formatLimit(soft), formatLimit(hard))
	}
	capOK, capErr := hasCapIPCLock()
	switch {
	case capErr != nil:
		pin.add("CAP_IPC_LOCK", "unknown: %v", capErr)
	case capOK:
		pin.add("CAP_IPC_LOCK", "yes (RLIMIT_MEMLOCK does not bind this process)")
	default:
		pin.add("CAP_IPC_LOCK", "no")
	}
	pin.add("pinning works", "%s", pinVerdict(probePin(), capOK && capErr == nil, soft, limErr == nil))

	be := section{title: "backends (offheap)"}
	names := offheap.Backends()
	be.add("compiled in", "%s", strings.Join(names, ", "))
	if err := offheap.CheckBackend(""); err != nil {
		be.add("default", "%s: cannot be used: %v", offheap.DefaultBackend(), err)
	} else {
		be.add("default", "%s (%s overrides)", offheap.DefaultBackend(), offheap.EnvBackend)
	}
	for _, n := range names {
		if err := offheap.CheckBackend(n); err != nil {
			be.add(n, "does not open: %v", err)
		} else {
			be.add(n, "opens")
		}
	}
	for _, n := range []string{"cgo", "purego", "syscall"} {
		if !slices.Contains(names, n) {
			be.add(n, "not compiled in (%s)", howToGet(n))
		}
	}

	def := section{title: fmt.Sprintf("defaults: pool.DefaultConfig(%d), what pool.New() uses here", cpus)}
	def.rows = configRows(pool.DefaultConfig(cpus))
	return []section{m, pin, be, def}
}

func howToGet(backend string) string {
	if slices.Contains(offheap.Backends(), "portable") {
		return "Linux's; this build has the portable backend only"
	}
	switch backend {
	case "cgo":
		return "build with CGO_ENABLED=1 and a C compiler"
	case "purego":
		return "build with -tags zeropool_purego; make lib builds the library, ZEROPOOL_LIB points to it"
	}
	return "always compiled in"
}

// configRows lists every Config field with its value. Fields without a row of their own here
// are listed too, with their plain value, so that the report stays complete as Config grows.
func configRows(c pool.Config) [][2]string {
	backend := c.Backend
	if backend == "" {
		backend = fmt.Sprintf(`"" (%s, else the first compiled in: now %s)`, offheap.EnvBackend, offheap.DefaultBackend())
	}
	minSize := formatBytes(int64(c.MinBufferSize))
	if c.MinBufferSize == 0 {
		minSize = "0 (every size is kept)"
	}
	rows := [][2]string{
		{"MinBufferSize", minSize},
		{"MaxBufferSize", formatBytes(int64(c.MaxBufferSize)) + " (larger buffers get a mapping of their own, unmapped on Put)"},
		{"LocalCacheSize", fmt.Sprintf("%d buffers per P per size class", c.LocalCacheSize)},
		{"NumShards", fmt.Sprintf("%d depot shards per size class", c.NumShards)},
		{"MaxBuffersPerShard", fmt.Sprintf("%d per size class", c.MaxBuffersPerShard)},
		{"MaxIdleBytes", formatBytes(c.MaxIdleBytes) + " (bound on idle memory; Put beyond it unmaps)"},
		{"Pinned", fmt.Sprint(c.Pinned)},
		{"RequirePinned", fmt.Sprintf("%t (a failed pin is an error from TryGet, not a count in Stats)", c.RequirePinned)},
		{"Secure", fmt.Sprintf("%t (secrets: wiped on Put, no core dump, zeros after fork, guard pages, pinned)", c.Secure)},
		{"Debug", fmt.Sprintf("%t (idle buffers inaccessible: a use after Put faults; for tests)", c.Debug)},
		{"Backend", backend},
	}
	shown := make(map[string]bool, len(rows))
	for _, r := range rows {
		shown[r[0]] = true
	}
	v := reflect.ValueOf(c)
	for i := range v.NumField() {
		if f := v.Type().Field(i); f.IsExported() && !shown[f.Name] {
			rows = append(rows, [2]string{f.Name, fmt.Sprint(v.Field(i).Interface())})
		}
	}
	return rows
}

// pinProbe is the outcome of locking a small test mapping.
type pinProbe struct {
	pages  int
	locked bool
	err    error // why not: the mapping failed, or the kernel refused the lock
}

// probePin maps a few pages with offheap.Pin and asks whether the kernel locked them: the
// limits say what should happen, this says what does.
func probePin() pinProbe {
	const pages = 4
	p := pinProbe{pages: pages}
	b, err := offheap.Alloc(pages*offheap.PageSize(), offheap.Pin())
	if err != nil {
		p.err = err
		return p
	}
	defer offheap.Free(b)
	in, err := offheap.Stat(b)
	if err != nil {
		p.err = err
		return p
	}
	p.locked, p.err = in.Locked, in.LockErr
	if !p.locked && p.err == nil {
		p.err = errors.New("the mapping reports no lock and no error")
	}
	return p
}

// pinVerdict turns the probe and the limits into one line: can a pinned pool pin, and how much.
func pinVerdict(p pinProbe, capIPCLock bool, soft uint64, softKnown bool) string {
	if !p.locked {
		return fmt.Sprintf("no: locking %d pages failed: %v%s; pinned pools still work, unpinned, and count Stats.PinFailures",
			p.pages, p.err, lockErrnoHint(p.err))
	}
	switch {
	case capIPCLock:
		return fmt.Sprintf("yes (a test mapping of %d pages was locked; no limit applies)", p.pages)
	case softKnown && soft == rlimInfinity:
		return fmt.Sprintf("yes (a test mapping of %d pages was locked; RLIMIT_MEMLOCK is unlimited)", p.pages)
	case softKnown:
		return fmt.Sprintf("yes, up to %s locked per process (RLIMIT_MEMLOCK); beyond it mappings stay unpinned and count as Stats.PinFailures",
			formatBytes(int64(soft)))
	}
	return fmt.Sprintf("yes (a test mapping of %d pages was locked)", p.pages)
}

func orErr(s string, err error) string {
	if err != nil {
		return "unknown: " + err.Error()
	}
	return s
}

func renderSections(w io.Writer, sections []section) error {
	width := 0
	for _, s := range sections {
		for _, r := range s.rows {
			width = max(width, len(r[0]))
		}
	}
	var b strings.Builder
	for i, s := range sections {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(s.title + "\n")
		for _, r := range s.rows {
			fmt.Fprintf(&b, "  %-*s  %s\n", width, r[0], r[1])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
