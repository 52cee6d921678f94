// Command report turns the raw output of the peer benchmark suite (go test -bench, with or
// without -v) into one markdown table of zeropool's medians against the best peer of each
// workload, and a chart of the medians.
//
//	go run ./cmd/report                      # results/raw.txt -> results/table.md, results/chart.png
//	go run ./cmd/report -raw r.txt -table t.md -chart c.png
//	go run ./cmd/report -machine             # the machine's description, as benchfmt config lines
//
// The table goes to standard output too. A workload is a sub-benchmark name without its impl=
// part; an impl's value is the median of its runs (-count), with the spread benchstat prints
// (the half-width of the 95% confidence interval of the median, in % of it).
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

const ours = "zeropool"

// floors are impls that are neither zeropool nor a peer: the physical cost of the workload
// with no allocation at all. They are shown, never chosen as best peer.
var floors = map[string]bool{"resident": true, "built": true, "zeropool-secretmem": true, "secretmem-fresh": true}

func main() {
	raw := flag.String("raw", "results/raw.txt", "raw `file` of go test -bench output")
	table := flag.String("table", "results/table.md", "markdown table to write (empty: none)")
	chart := flag.String("chart", "results/chart.png", "PNG chart to write (empty: none)")
	machine := flag.Bool("machine", false, "print this machine's description as benchfmt config lines and exit")
	flag.Parse()
	if *machine {
		for _, kv := range localMachine() {
			fmt.Printf("%s: %s\n", kv[0], kv[1])
		}
		return
	}
	if err := run(*raw, *table, *chart); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(rawPath, tablePath, chartPath string) error {
	data, err := os.ReadFile(rawPath)
	if err != nil {
		return err
	}
	rs, err := parse(bytes.NewReader(data), rawPath)
	if err != nil {
		return err
	}
	if len(rs.workloads) == 0 {
		return fmt.Errorf("%s: no benchmark results", rawPath)
	}
	md := renderTable(rs)
	fmt.Print(md)
	if tablePath != "" {
		if err := os.WriteFile(tablePath, []byte(md), 0o644); err != nil {
			return err
		}
	}
	if chartPath != "" {
		f, err := os.Create(chartPath)
		if err != nil {
			return err
		}
		if err := drawChart(rs, f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// results is everything read from a raw file.
type results struct {
	config    map[string]string // file configuration: goos, cpu, go, kernel…
	workloads []*workload       // in the order they first appear
	skips     map[string]string // full sub-benchmark name (no Benchmark prefix) -> reason
}

// workload is one sub-benchmark name without its impl part, e.g. HotPath/size=4KiB.
type workload struct {
	name   string
	family string   // HotPath
	params []string // size=4KiB, n=100
	impls  []string // in the order they first appear
	values map[string]map[string][]float64
}

func (w *workload) has(impl, unit string) bool { return len(w.values[impl][unit]) > 0 }

// parse reads go test -bench output with benchfmt. Lines benchfmt cannot read (the bare
// names -v prints before each result, test logs) are skipped; skipped benchmarks and their
// reasons are picked from the text.
func parse(r io.Reader, name string) (*results, error) {
	text, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	rs := &results{config: map[string]string{}, skips: parseSkips(text)}
	byName := map[string]*workload{}
	br := benchfmt.NewReader(bytes.NewReader(text), name)
	for br.Scan() {
		res, ok := br.Result().(*benchfmt.Result)
		if !ok {
			continue // *benchfmt.SyntaxError, *benchfmt.UnitMetadata
		}
		for _, c := range res.Config {
			if c.File {
				if _, seen := rs.config[c.Key]; !seen {
					rs.config[c.Key] = string(c.Value)
				}
			}
		}
		wname, family, params, impl := splitName(res.Name)
		if impl == "" {
			continue
		}
		w := byName[wname]
		if w == nil {
			w = &workload{name: wname, family: family, params: params, values: map[string]map[string][]float64{}}
			byName[wname] = w
			rs.workloads = append(rs.workloads, w)
		}
		if w.values[impl] == nil {
			w.values[impl] = map[string][]float64{}
			w.impls = append(w.impls, impl)
		}
		for _, v := range res.Values {
			unit, val := v.Unit, v.Value
			if v.OrigUnit != "" {
				unit, val = v.OrigUnit, v.OrigValue
			}
			w.values[impl][unit] = append(w.values[impl][unit], val)
		}
	}
	if err := br.Err(); err != nil {
		return nil, err
	}
	slices.SortStableFunc(rs.workloads, func(a, b *workload) int { return familyRank(a.family) - familyRank(b.family) })
	return rs, nil
}

// familyOrder is the order of workload families in the table and the chart: the hot path
// first, the memory-shaped workloads after; families not listed go last, as read.
var familyOrder = []string{"HotPath", "HotPathParallel", "Zipf", "Burst", "ProcsRaised", "Huge", "Waste", "NewPool", "GCSurvival", "HeapGrowth", "Secret", "GRPC", "ReverseProxy"}

func familyRank(f string) int {
	if i := slices.Index(familyOrder, f); i >= 0 {
		return i
	}
	return len(familyOrder)
}

// splitName splits BenchmarkHotPath/size=4KiB/impl=make-2 into the workload HotPath/size=4KiB,
// its family and parameters, and the impl.
func splitName(n benchfmt.Name) (wname, family string, params []string, impl string) {
	base, parts := n.Parts()
	family = strings.TrimPrefix(string(base), "Benchmark")
	wname = family
	for _, p := range parts {
		s := string(p)
		if strings.HasPrefix(s, "-") { // GOMAXPROCS
			continue
		}
		s = strings.TrimPrefix(s, "/")
		if v, ok := strings.CutPrefix(s, "impl="); ok {
			impl = v
			continue
		}
		params = append(params, s)
		wname += "/" + s
	}
	return wname, family, params, impl
}

// parseSkips finds "--- SKIP: BenchmarkX/..." lines and the log line go test printed just
// before them (the reason given to b.Skip).
func parseSkips(text []byte) map[string]string {
	skips := map[string]string{}
	var prev string
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "--- SKIP: Benchmark"); ok {
			reason := ""
			if strings.HasPrefix(prev, "    ") {
				reason = strings.TrimSpace(prev)
				if i := strings.Index(reason, ".go:"); i >= 0 { // file.go:NN: reason
					if j := strings.Index(reason[i+4:], ": "); j >= 0 {
						reason = reason[i+4+j+2:]
					}
				}
			}
			skips[strings.Fields(rest)[0]] = reason
		}
		prev = line
	}
	return skips
}

// localMachine describes the machine this runs on: CPU model, cores, memory, kernel, Go.
func localMachine() [][2]string {
	model := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := "unknown"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	mem := "unknown"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				if kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64); err == nil {
					mem = fmt.Sprintf("%.0f GiB", kb/(1<<20))
				}
			}
		}
	}
	return [][2]string{
		{"cpu-model", model},
		{"cores", strconv.Itoa(runtime.NumCPU())},
		{"memory", mem},
		{"kernel", kernel},
		{"go", runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH},
	}
}

// machineLine describes the machine that produced the results, from the configuration lines
// that `report -machine` put at the head of the raw file; what is missing there is taken from
// this machine and marked so.
func machineLine(rs *results) string {
	local := map[string]string{}
	for _, kv := range localMachine() {
		local[kv[0]] = kv[1]
	}
	guessed := false
	get := func(k string) string {
		if v := rs.config[k]; v != "" {
			return v
		}
		guessed = true
		return local[k]
	}
	model := get("cpu-model")
	line := fmt.Sprintf("%s, %s cores, %s memory, Linux %s, %s", model, get("cores"), get("memory"), get("kernel"), get("go"))
	if guessed {
		line += " (partly this machine's: the raw file does not say)"
	}
	return line
}

// metric is the unit a workload is judged by, and which way is better.
type metric struct {
	unit         string
	higherBetter bool
}

func primary(w *workload) metric {
	for _, impl := range w.impls {
		switch {
		case w.has(impl, "survived-%"):
			return metric{"survived-%", true}
		case w.has(impl, "heap-bytes/pooled-byte"):
			return metric{"heap-bytes/pooled-byte", false}
		case w.has(impl, "cap/n"):
			return metric{"cap/n", false}
		}
	}
	return metric{"ns/op", false}
}

var thresholds = benchmath.DefaultThresholds

// summary is the median of impl's values of unit, with its confidence interval; ok is false
// when there are none.
func summary(w *workload, impl, unit string) (benchmath.Summary, *benchmath.Sample, bool) {
	vs := w.values[impl][unit]
	if len(vs) == 0 {
		return benchmath.Summary{}, nil, false
	}
	s := benchmath.NewSample(slices.Clone(vs), &thresholds)
	return benchmath.AssumeNothing.Summary(s, 0.95), s, true
}

func median(w *workload, impl, unit string) (float64, bool) {
	s, _, ok := summary(w, impl, unit)
	return s.Center, ok
}

// bestPeer returns the peer with the best median of m, or "" if there is none.
func bestPeer(w *workload, m metric) (string, float64) {
	best, bv := "", math.NaN()
	for _, impl := range w.impls {
		if impl == ours || floors[impl] {
			continue
		}
		v, ok := median(w, impl, m.unit)
		if !ok {
			continue
		}
		if best == "" || (m.higherBetter && v > bv) || (!m.higherBetter && v < bv) {
			best, bv = impl, v
		}
	}
	return best, bv
}

// formatValue renders v in unit for a person: 31.2 ns, 4.10 ms, 95%, 0.00076.
func formatValue(v float64, unit string) string {
	switch unit {
	case "ns/op", "ns/buf", "ns/page":
		return formatNs(v)
	case "survived-%", "idle-kept-%":
		return fmt.Sprintf("%.0f%%", v)
	case "allocs/op":
		return strconv.FormatFloat(v, 'f', -1, 64)
	case "B/op":
		return formatBytes(v)
	case "MB/s":
		return fmt.Sprintf("%.0f MB/s", v)
	}
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 0.01:
		return fmt.Sprintf("%.3g", v)
	}
	return fmt.Sprintf("%.2g", v)
}

func formatNs(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	case ns >= 100:
		return fmt.Sprintf("%.0f ns", ns)
	}
	return fmt.Sprintf("%.1f ns", ns)
}

// formatBytes renders a byte count with a binary unit: 512 B, 1.2 MiB, 64 MiB.
func formatBytes(v float64) string {
	const units = "KMGT"
	if math.Abs(v) < 1024 {
		return fmt.Sprintf("%.0f B", v)
	}
	i := -1
	for math.Abs(v) >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	s := fmt.Sprintf("%.3g", v)
	return s + " " + units[i:i+1] + "iB"
}

func formatRatio(r float64) string {
	switch {
	case math.IsInf(r, 0) || math.IsNaN(r):
		return "—"
	case r >= 100:
		return fmt.Sprintf("%.0f", r)
	case r >= 0.1:
		return fmt.Sprintf("%.2f", r)
	}
	return fmt.Sprintf("%.2g", r)
}

// cell renders impl's median of unit with its spread: "31.2 ns ±2%".
func cell(w *workload, impl, unit string) string {
	s, _, ok := summary(w, impl, unit)
	if !ok {
		return "—"
	}
	out := formatValue(s.Center, unit)
	if r := s.PctRangeString(); r != "0%" && r != "∞" && r != "?" && unit != "allocs/op" {
		out += " ±" + r
	}
	return out
}

func label(w *workload) string {
	return w.family + " " + strings.Join(w.params, " ")
}

func renderTable(rs *results) string {
	var b strings.Builder
	b.WriteString("# zeropool against its peers\n\n")
	fmt.Fprintf(&b, "Machine: %s.\n\n", machineLine(rs))
	runs := 0
	for _, w := range rs.workloads {
		for _, impl := range w.impls {
			runs = max(runs, len(w.values[impl]["ns/op"]))
		}
	}
	fmt.Fprintf(&b, "Medians of %d runs per impl and workload; ±x%% is the 95%% confidence interval of the median. "+
		"Ratio = zeropool / best peer: below 1 zeropool is faster (uses less heap), except for "+
		"survived-%%, where higher is better. \"~\" marks a difference that is not significant "+
		"(Mann-Whitney U, p ≥ 0.05). Targets are the performance targets of bench/README.md.\n\n", runs)
	b.WriteString("| Workload | Metric | zeropool | Best peer | Peer median | Ratio | zeropool allocs/op | Target / notes |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, w := range rs.workloads {
		m := primary(w)
		peer, pv := bestPeer(w, m)
		zv, zok := median(w, ours, m.unit)
		ratio := "—"
		if zok && peer != "" && pv != 0 {
			ratio = formatRatio(zv / pv)
			_, zs, _ := summary(w, ours, m.unit)
			_, ps, _ := summary(w, peer, m.unit)
			if c := benchmath.AssumeNothing.Compare(zs, ps); c.P >= c.Alpha {
				ratio += " ~"
			}
		}
		zcell := cell(w, ours, m.unit)
		if !zok {
			zcell = "not run"
		}
		peerName := peer
		if peer == "" {
			peerName = "—"
		}
		allocs := "—"
		if w.has(ours, "allocs/op") {
			allocs = cell(w, ours, "allocs/op")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n",
			label(w), m.unit, zcell, peerName, cell(w, peer, m.unit), ratio, allocs, notes(rs, w, m, peer))
	}
	b.WriteString("\nRegenerate: `make bench` (runs the suite, then the report), or from existing raw " +
		"output `cd bench && go run ./cmd/report`. Raw results: results/raw.txt; all impls " +
		"side by side: results/benchstat.txt.\n")
	return b.String()
}

// notes checks a workload against its performance target (the list in bench/README.md) and
// adds what the ratio alone does not say.
func notes(rs *results, w *workload, m metric, peer string) string {
	zv, zok := median(w, ours, m.unit)
	if !zok {
		for name, reason := range rs.skips {
			if strings.HasPrefix(name, w.name+"/impl="+ours) {
				if reason == "" {
					return "zeropool skipped"
				}
				return "zeropool skipped: " + reason
			}
		}
		return "zeropool has no result"
	}
	mark := func(ok bool) string {
		if ok {
			return "✓"
		}
		return "✗"
	}
	vs := func(impl string) (float64, bool) {
		v, ok := median(w, impl, m.unit)
		if !ok || v == 0 {
			return 0, false
		}
		return zv / v, true
	}
	allocs, _ := median(w, ours, "allocs/op")
	var out []string
	switch w.family {
	case "HotPath":
		if r, ok := vs("sync.Pool"); ok {
			out = append(out, fmt.Sprintf("≤ sync.Pool: %s× %s", formatRatio(r), mark(r <= 1)))
		}
		out = append(out, fmt.Sprintf("0 allocs/op %s", mark(allocs == 0)))
	case "HotPathParallel":
		// Speed-up over the same size on one goroutine: ideal is the number of Ps.
		serial := &workload{}
		for _, o := range rs.workloads {
			if o.family == "HotPath" && slices.Equal(o.params, w.params) {
				serial = o
			}
		}
		if s, ok := median(serial, ours, "ns/op"); ok && zv > 0 {
			procs := rs.config["cores"]
			if procs == "" {
				procs = strconv.Itoa(runtime.NumCPU())
			}
			out = append(out, fmt.Sprintf("scales with cores: %.2f× the 1-goroutine throughput on %s cores", s/zv, procs))
		}
		out = append(out, fmt.Sprintf("0 allocs/op %s", mark(allocs == 0)))
	case "Burst":
		if v, ok := median(w, ours, "ns/buf"); ok {
			out = append(out, "per buffer: "+formatNs(v))
		}
		if r, ok := vs("sync.Pool"); ok {
			out = append(out, fmt.Sprintf("≤ 0.8× sync.Pool: %s× %s", formatRatio(r), mark(r <= 0.8)))
		}
	case "ProcsRaised":
		if r, ok := vs("built"); ok {
			out = append(out, fmt.Sprintf("≤ 1.2× a pool built at that GOMAXPROCS: %s× %s", formatRatio(r), mark(r <= 1.2)))
		}
	case "Waste":
		out = append(out, fmt.Sprintf("cap ≤ 1.25 n: %.3f %s", zv, mark(zv <= 1.25+1.0/64)))
	case "NewPool":
		out = append(out, fmt.Sprintf("< 50 µs: %s %s", formatNs(zv), mark(zv < 50e3)))
		if h, ok := median(w, ours, "heap-bytes/pool"); ok {
			out = append(out, fmt.Sprintf("< 32 KiB of heap: %.1f KiB %s", h/1024, mark(h < 32<<10)))
		}
	case "Huge":
		if r, ok := vs("make"); ok {
			out = append(out, fmt.Sprintf("≥ 10× faster than make: %s× %s", formatRatio(1/r), mark(r <= 0.1)))
		}
		if r, ok := vs("resident"); ok {
			out = append(out, fmt.Sprintf("≤ 1.2× resident: %s× %s", formatRatio(r), mark(r <= 1.2)))
		}
		if v, ok := median(w, ours, "ns/page"); ok {
			out = append(out, "per page: "+formatNs(v))
		}
	case "GCSurvival":
		// The target is about the collector: idle buffers kept across it. Reuse by Get can be
		// lower when the goroutine changed P and the rest sat in the other P's cache.
		if v, ok := median(w, ours, "idle-kept-%"); ok {
			out = append(out, fmt.Sprintf("100%% of idle buffers survive GC: %.0f%% %s", v, mark(v >= 100)))
			if zv < v {
				out = append(out, fmt.Sprintf("reused by the Gets after GC: %.0f%% (the rest stayed idle in another P's cache)", zv))
			}
		} else {
			out = append(out, fmt.Sprintf("100%% survive: %.0f%% %s", zv, mark(zv >= 100)))
		}
		if peer != "" {
			pv, _ := median(w, peer, m.unit)
			out = append(out, fmt.Sprintf("best peer keeps %.0f%%", pv))
		}
	case "HeapGrowth":
		out = append(out, fmt.Sprintf("< 0.01 %s", mark(zv < 0.01)))
	case "GRPC", "ReverseProxy":
		// Integrations: what the pool changes besides time, against the best peer, per
		// request (an op is one RPC or one proxied request).
		for _, u := range []struct{ unit, what string }{
			{"MB/s", "throughput"}, {"GCs/op", "GCs per request"}, {"B/op", "heap per request"},
		} {
			z, zok := median(w, ours, u.unit)
			p, pok := median(w, peer, u.unit)
			if zok && pok {
				out = append(out, fmt.Sprintf("%s %s vs %s", u.what, formatValue(z, u.unit), formatValue(p, u.unit)))
			}
		}
	case "Secret":
		if r, ok := vs(peer); ok {
			out = append(out, fmt.Sprintf("≥ 500× faster than memguard: %s× %s", formatRatio(1/r), mark(1/r >= 500)))
		}
		if v, ok := median(w, "zeropool-secretmem", m.unit); ok {
			out = append(out, "SecretMem pool: "+formatNs(v))
		}
		if v, ok := median(w, "secretmem-fresh", m.unit); ok {
			out = append(out, "a fresh memfd_secret page per secret: "+formatNs(v))
		}
	}
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, "; ")
}

var errNoData = errors.New("nothing to draw")
