package main

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// implColors gives every impl the same color in every panel; zeropool stands out.
var implColors = map[string]color.RGBA{
	"zeropool":           {0xd6, 0x27, 0x28, 0xff},
	"make":               {0x7f, 0x7f, 0x7f, 0xff},
	"sync.Pool":          {0x1f, 0x77, 0xb4, 0xff},
	"libp2p":             {0x2c, 0xa0, 0x2c, 0xff},
	"mcache":             {0x94, 0x67, 0xbd, 0xff},
	"bytebufferpool":     {0x17, 0xbe, 0xcf, 0xff},
	"resident":           {0x33, 0x33, 0x33, 0xff},
	"memguard-NewBuffer": {0x8c, 0x56, 0x4b, 0xff},
	"memguard-FromBytes": {0xe3, 0x77, 0xc2, 0xff},
}

var otherColors = []color.RGBA{{0xbc, 0xbd, 0x22, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0xaa, 0xaa, 0xff, 0xff}}

func colorOf(impl string) color.Color {
	if c, ok := implColors[impl]; ok {
		return c
	}
	h := 0
	for _, r := range impl {
		h += int(r)
	}
	return otherColors[h%len(otherColors)]
}

// group is one cluster of bars: a workload, one bar per impl.
type group struct {
	label  string
	impls  []string
	values []float64
}

// bars draws groups of bars at x = 0, 1, 2…, each bar from base to its value, so that a log
// axis (where 0 does not exist) works as well as a linear one.
type bars struct {
	groups   []group
	base     float64
	barWidth vg.Length
	labels   func(v float64) string // text above each bar; nil: none
}

func (b *bars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	sty := draw.TextStyle{Color: color.Black, Font: font.From(plot.DefaultFont, 7), XAlign: draw.XCenter, YAlign: draw.YBottom, Handler: plot.DefaultTextHandler}
	for i, g := range b.groups {
		n := vg.Length(len(g.impls))
		x0 := trX(float64(i)) - n*b.barWidth/2
		for j, v := range g.values {
			if math.IsNaN(v) {
				continue
			}
			l := x0 + vg.Length(j)*b.barWidth
			r := l + b.barWidth*0.9
			y0, y1 := trY(b.base), trY(math.Max(v, b.base))
			if v > b.base {
				pts := []vg.Point{{X: l, Y: y0}, {X: r, Y: y0}, {X: r, Y: y1}, {X: l, Y: y1}}
				c.FillPolygon(colorOf(g.impls[j]), c.ClipPolygonXY(pts))
			} else { // a zero: a thin line in the impl's color, so that it still shows
				c.StrokeLine2(draw.LineStyle{Color: colorOf(g.impls[j]), Width: vg.Points(2)}, l, y0, r, y0)
			}
			if b.labels != nil {
				c.FillText(sty, vg.Point{X: (l + r) / 2, Y: y1 + 1}, b.labels(v))
			}
		}
	}
}

func (b *bars) DataRange() (xmin, xmax, ymin, ymax float64) {
	ymax = b.base
	for _, g := range b.groups {
		for _, v := range g.values {
			if !math.IsNaN(v) {
				ymax = math.Max(ymax, v)
			}
		}
	}
	return -0.5, float64(len(b.groups)) - 0.5, b.base, ymax
}

// swatch is a legend thumbnail: a filled square in an impl's color.
type swatch struct{ c color.Color }

func (s swatch) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}}
	c.FillPolygon(s.c, pts)
}

// powerTicks labels the powers of ten between min and max with format and marks the rest of
// each decade without a label.
type powerTicks struct{ format func(float64) string }

func (t powerTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		v := math.Pow(10, e)
		if v >= min*0.999 && v <= max*1.001 {
			ticks = append(ticks, plot.Tick{Value: v, Label: t.format(v)})
		}
		for k := 2.0; k < 10; k++ {
			if w := k * v; w > min && w < max {
				ticks = append(ticks, plot.Tick{Value: w})
			}
		}
	}
	return ticks
}

// formatTickNs renders a power of ten of nanoseconds: 10 ns, 1 µs, 100 ms.
func formatTickNs(ns float64) string {
	for _, u := range []struct {
		scale float64
		name  string
	}{{1e9, "s"}, {1e6, "ms"}, {1e3, "µs"}} {
		if ns >= u.scale {
			return fmt.Sprintf("%g %s", ns/u.scale, u.name)
		}
	}
	return fmt.Sprintf("%g ns", ns)
}

func decadeBelow(v float64) float64 { return math.Pow(10, math.Floor(math.Log10(v))) }
func decadeAbove(v float64) float64 { return math.Pow(10, math.Ceil(math.Log10(v))) }

// groupsOf collects the medians of unit per workload of the given families; impls without a
// value are left out of their group.
func groupsOf(rs *results, unit string, keep func(*workload) bool, lbl func(*workload) string) []group {
	var gs []group
	for _, w := range rs.workloads {
		if !keep(w) {
			continue
		}
		g := group{label: lbl(w)}
		for _, impl := range w.impls {
			if v, ok := median(w, impl, unit); ok {
				g.impls = append(g.impls, impl)
				g.values = append(g.values, v)
			}
		}
		if !w.has(ours, unit) {
			g.label += "\n(zeropool skipped)"
		}
		if len(g.impls) > 0 {
			gs = append(gs, g)
		}
	}
	return gs
}

func chartLabel(w *workload) string {
	fam := strings.Replace(w.family, "HotPathParallel", "Parallel", 1)
	var ps []string
	for _, p := range w.params {
		if v, ok := strings.CutPrefix(p, "size="); ok {
			p = v
		}
		ps = append(ps, p)
	}
	return fam + "\n" + strings.Join(ps, " ")
}

func newPlot(title string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = 13
	p.Y.Tick.Label.Font.Size = 9
	p.X.Tick.Label.Font.Size = 8
	p.Y.Label.TextStyle.Font.Size = 10
	return p
}

// timePanel is the main panel: ns/op of every impl per timed workload, on a log axis.
func timePanel(rs *results) (*plot.Plot, []string, error) {
	gs := groupsOf(rs, "ns/op", func(w *workload) bool {
		m := primary(w)
		return m.unit == "ns/op"
	}, chartLabel)
	if len(gs) == 0 {
		return nil, nil, errNoData
	}
	lo, hi := math.Inf(1), 0.0
	var impls []string
	for _, g := range gs {
		for j, v := range g.values {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
			if !contains(impls, g.impls[j]) {
				impls = append(impls, g.impls[j])
			}
		}
	}
	p := newPlot("Time per op (median, log scale): lower is better — " + machineLine(rs))
	p.Y.Label.Text = "time per op"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = powerTicks{formatTickNs}
	base := decadeBelow(lo)
	p.Add(plotter.NewGrid())
	p.Add(&bars{groups: gs, base: base, barWidth: vg.Points(9)})
	p.Y.Min, p.Y.Max = base, decadeAbove(hi)
	names := make([]string, len(gs))
	for i, g := range gs {
		names[i] = g.label
	}
	p.NominalX(names...)
	return p, impls, nil
}

// metricPanel draws one custom metric (survived-%, heap-bytes/pooled-byte) per impl.
func metricPanel(rs *results, unit, title string, log bool, format func(float64) string) *plot.Plot {
	gs := groupsOf(rs, unit, func(w *workload) bool { return primary(w).unit == unit }, chartLabel)
	if len(gs) == 0 {
		return nil
	}
	p := newPlot(title)
	p.Y.Label.Text = unit
	b := &bars{groups: gs, barWidth: vg.Points(22), labels: format}
	lo, hi := math.Inf(1), 0.0
	for _, g := range gs {
		for _, v := range g.values {
			if v > 0 {
				lo = math.Min(lo, v)
			}
			hi = math.Max(hi, v)
		}
	}
	p.Add(plotter.NewGrid())
	p.Add(b)
	if log && hi > 0 {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = powerTicks{func(v float64) string { return strconvG(v) }}
		b.base = decadeBelow(lo) / 10
		p.Y.Min, p.Y.Max = b.base, decadeAbove(hi)*10
	} else {
		p.Y.Min, p.Y.Max = 0, math.Max(hi*1.15, 1)
	}
	names := make([]string, len(gs))
	for i, g := range gs {
		names[i] = g.label
		// Spell out the impls under the bars of a single group: there is room.
		if len(gs) == 1 {
			names[i] = g.label + "\n" + strings.Join(g.impls, " · ")
		}
	}
	p.NominalX(names...)
	return p
}

func strconvG(v float64) string { return fmt.Sprintf("%g", v) }

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// drawChart renders the time panel on top and the two metric panels below it, with one
// legend for all, as a PNG.
func drawChart(rs *results, out io.Writer) error {
	top, impls, err := timePanel(rs)
	if err != nil {
		return err
	}
	surv := metricPanel(rs, "survived-%", "Idle buffers reused after two GCs: higher is better", false,
		func(v float64) string { return fmt.Sprintf("%.0f%%", v) })
	heap := metricPanel(rs, "heap-bytes/pooled-byte", "Go heap bytes per byte held: lower is better", true,
		func(v float64) string { return formatValue(v, "") })
	ngroups := len(top.X.Tick.Marker.Ticks(0, 0))
	width := vg.Length(math.Max(14, 1.0*float64(ngroups))) * vg.Inch
	const topH, legendH, bottomH = 6.0 * vg.Inch, 0.45 * vg.Inch, 3.6 * vg.Inch
	height := topH + legendH + bottomH
	img := vgimg.New(width, height)
	dc := draw.New(img)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())

	area := func(x0, y0, x1, y1 vg.Length) draw.Canvas {
		return draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{Min: vg.Point{X: x0, Y: y0}, Max: vg.Point{X: x1, Y: y1}}}
	}
	pad := 0.15 * vg.Inch
	top.Draw(area(pad, bottomH+legendH, width-pad, height-pad))
	drawLegendRow(area(pad, bottomH, width-pad, bottomH+legendH), allImpls(rs, impls))
	half := width / 2
	if surv != nil {
		surv.Draw(area(pad, pad, half-pad, bottomH-pad))
	}
	if heap != nil {
		heap.Draw(area(half+pad, pad, width-pad, bottomH-pad))
	}
	_, err = vgimg.PngCanvas{Canvas: img}.WriteTo(out)
	return err
}

// allImpls lists the impls of the time panel, then those that appear only in other panels.
func allImpls(rs *results, first []string) []string {
	out := append([]string(nil), first...)
	for _, w := range rs.workloads {
		for _, impl := range w.impls {
			if !contains(out, impl) {
				out = append(out, impl)
			}
		}
	}
	return out
}

// drawLegendRow draws the one legend of the chart: every impl's color and name in a row,
// centered.
func drawLegendRow(c draw.Canvas, impls []string) {
	sty := draw.TextStyle{Color: color.Black, Font: font.From(plot.DefaultFont, 11), YAlign: draw.YCenter, Handler: plot.DefaultTextHandler}
	sw := vg.Points(12)
	gap := vg.Points(8)
	var total vg.Length
	for _, impl := range impls {
		total += sw + gap/2 + sty.Width(impl) + 2*gap
	}
	x := c.Min.X + (c.Max.X-c.Min.X-total)/2
	y := (c.Min.Y + c.Max.Y) / 2
	for _, impl := range impls {
		sq := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{Min: vg.Point{X: x, Y: y - sw/2}, Max: vg.Point{X: x + sw, Y: y + sw/2}}}
		swatch{colorOf(impl)}.Thumbnail(&sq)
		x += sw + gap/2
		c.FillText(sty, vg.Point{X: x, Y: y}, impl)
		x += sty.Width(impl) + 2*gap
	}
}
