package dashboards

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"strconv"
	"time"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// okabeIto is the Okabe–Ito palette, distinguishable by colour-blind
// readers; black is left for text.
var okabeIto = []string{"#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442"}

const (
	colourHighlight = "#D55E00" // vermillion: the collectivity being read
	colourOthers    = "#56B4E9" // sky blue: its peers
	colourBenchmark = "#000000"
	colourApart     = "#BBBBBB" // grey: shown, not ranked
)

// cell is one table cell: Text is shown (French formatting), Raw goes to
// the CSV export (machine-readable), Href makes the cell a link.
type cell struct {
	Text, Raw, Href string
	// FileHref replaces Href in a site opened from disk (site.js), where
	// the release is the folder beside the site, not /data/latest/.
	FileHref string
	Num      bool
	Hash     bool // a checksum: small monospace, wrapped
}

func textCell(s string) cell { return cell{Text: s, Raw: s} }

func intCell(n int64) cell {
	return cell{Text: frInt(n), Raw: strconv.FormatInt(n, 10), Num: true}
}

func numCell(v float64, ok bool, format func(float64) string) cell {
	if !ok {
		return cell{Text: "–", Num: true}
	}
	return cell{Text: format(v), Raw: strconv.FormatFloat(v, 'g', -1, 64), Num: true}
}

func dateCell(t time.Time, loc *time.Location) cell {
	if t.IsZero() {
		return cell{Text: "–"}
	}
	return cell{Text: frDate(t, loc), Raw: t.In(loc).Format(time.DateOnly)}
}

// dataTable is the accessible equivalent of a chart (and its CSV).
type dataTable struct {
	Caption string
	Head    []string
	Rows    [][]cell
}

// chart is one chart with its text and table equivalents.
type chart struct {
	ID         string // [A-Za-z0-9_]: also a file name under embed/
	Title      string
	Summary    string // one sentence computed from the data
	Definition string // from the catalogue
	Tall       bool
	APIHref    string // the same data from the query API (served by the daemon)
	Table      dataTable
	Option     json.RawMessage // ECharts option (go-echarts)
	// TableHTML is Table rendered once by the "table" template (html/template
	// escapes it), shared by the page and the chart's embed page.
	TableHTML template.HTML
}

// optionJSON turns a go-echarts chart into the JSON option site.js passes
// to echarts.setOption. Tooltips are forced to rich text in site.js so no
// data string is ever parsed as HTML.
func optionJSON(c interface {
	Validate()
	JSON() map[string]interface{}
}) (json.RawMessage, error) {
	c.Validate()
	obj := c.JSON()
	obj["animation"] = false
	obj["aria"] = map[string]any{"enabled": false} // the page carries the text alternative
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("marshal chart option: %w", err)
	}
	return b, nil
}

func globalOpts(legend bool) []charts.GlobalOpts {
	return []charts.GlobalOpts{
		charts.WithAnimation(false),
		charts.WithColorsOpts(opts.Colors(okabeIto)),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(legend), Top: "0"}),
		charts.WithGridOpts(opts.Grid{Left: "3%", Right: "4%", Top: "40", Bottom: "3%", ContainLabel: opts.Bool(true)}),
	}
}

// round keeps charts' JSON small and free of float noise.
func round(v float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(v*p) / p
}

type barItem struct {
	Label     string
	Value     float64
	Highlight bool
	Apart     bool // not ranked: drawn greyed
}

// metricBars is a bar chart of one metric across collectivities, with the
// benchmark (named benchName) as a mark line. scale converts the metric to
// the unit shown on the axis (100 for a ratio shown in %).
func metricBars(items []barItem, axisName string, scale float64, benchmark float64, hasBenchmark bool, benchName string) (json.RawMessage, error) {
	bar := charts.NewBar()
	bar.SetGlobalOptions(append(globalOpts(false),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", AxisLabel: &opts.AxisLabel{Interval: "0", Rotate: rotateFor(len(items))}}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: axisName}),
	)...)
	labels := make([]string, len(items))
	data := make([]opts.BarData, len(items))
	for i, it := range items {
		labels[i] = it.Label
		colour := colourOthers
		switch {
		case it.Highlight:
			colour = colourHighlight
		case it.Apart:
			colour = colourApart
		}
		data[i] = opts.BarData{Name: it.Label, Value: roundSig(it.Value*scale, 4), ItemStyle: &opts.ItemStyle{Color: colour}}
	}
	bar.SetXAxis(labels)
	seriesOpts := []charts.SeriesOpts{}
	if hasBenchmark {
		seriesOpts = append(seriesOpts,
			charts.WithMarkLineNameYAxisItemOpts(opts.MarkLineNameYAxisItem{Name: benchName, YAxis: roundSig(benchmark*scale, 4)}),
			charts.WithMarkLineStyleOpts(opts.MarkLineStyle{
				Symbol:    []string{"none", "none"},
				LineStyle: &opts.LineStyle{Color: colourBenchmark, Type: "dashed", Width: 2},
				Label:     &opts.Label{Show: opts.Bool(true), Formatter: benchName, Position: "insideEndTop"},
			}))
	}
	bar.AddSeries(axisName, data, seriesOpts...)
	opt, err := optionJSON(bar)
	if err != nil || !hasBenchmark {
		return opt, err
	}
	// ECharts rounds a mark line's value to 2 decimals by default, which
	// draws a small rate (0,0025 %) at 0: keep the digits the value needs.
	return withMarkLinePrecision(opt, decimalsFor(benchmark*scale, 4))
}

// decimalsFor is the number of decimals that keep sig significant digits
// of v (0 for large values).
func decimalsFor(v float64, sig int) int {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return max(0, sig-1-int(math.Floor(math.Log10(math.Abs(v)))))
}

// withMarkLinePrecision sets markLine.precision on every series of opt
// that has a mark line (go-echarts has no option for it).
func withMarkLinePrecision(opt json.RawMessage, decimals int) (json.RawMessage, error) {
	var obj map[string]any
	if err := json.Unmarshal(opt, &obj); err != nil {
		return nil, fmt.Errorf("chart option: %w", err)
	}
	series, _ := obj["series"].([]any)
	for _, s := range series {
		if m, ok := s.(map[string]any); ok {
			if ml, ok := m["markLine"].(map[string]any); ok {
				ml["precision"] = decimals
			}
		}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("chart option: %w", err)
	}
	return b, nil
}

func rotateFor(n int) float64 {
	if n > 8 {
		return 45
	}
	return 0
}

// seriesDef is one line of a time chart.
type seriesDef struct {
	Name   string
	Values []int64
}

// phaseArea shades a phase (deposit, vote) on a time chart.
type phaseArea struct {
	Name       string
	Start, End string // category labels (YYYY-MM-DD) present on the axis
}

// timeLines is a line chart over days with phases shaded, every series on
// one scale (two axes made 1 proposal look as tall as 6 votes); the
// table under the chart gives the small counts exactly.
func timeLines(days []string, series []seriesDef, areas []phaseArea, area bool, axisName string) (json.RawMessage, error) {
	line := charts.NewLine()
	line.SetGlobalOptions(append(globalOpts(true),
		charts.WithXAxisOpts(opts.XAxis{Type: "category"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: axisName}),
	)...)
	line.SetXAxis(days)
	for i, s := range series {
		data := make([]opts.LineData, len(s.Values))
		for j, v := range s.Values {
			data[j] = opts.LineData{Value: v}
		}
		so := []charts.SeriesOpts{charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(len(days) < 40)})}
		if area {
			so = append(so, charts.WithAreaStyleOpts(opts.AreaStyle{Opacity: opts.Float(0.15)}))
		}
		if i == 0 && len(areas) > 0 {
			var marks [][]opts.MarkAreaData
			for _, a := range areas {
				marks = append(marks, []opts.MarkAreaData{{Name: a.Name, XAxis: a.Start}, {XAxis: a.End}})
			}
			so = append(so, charts.WithMarkAreaData(marks...),
				charts.WithMarkAreaStyleOpts(opts.MarkAreaStyle{
					ItemStyle: &opts.ItemStyle{Color: "rgba(0, 0, 0, 0.06)"},
					Label:     &opts.Label{Show: opts.Bool(true), Position: "insideTop", Color: "#333333"},
				}))
		}
		line.AddSeries(s.Name, data, so...)
	}
	return optionJSON(line)
}

// shareBars is a horizontal bar chart of shares (0–1) by label, the
// labels (categories, themes) on the vertical axis, first one on top.
func shareBars(labels []string, series []struct {
	Name   string
	Shares []float64
}) (json.RawMessage, error) {
	bar := charts.NewBar()
	bar.SetGlobalOptions(append(globalOpts(true),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: "%"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: labels, Inverse: opts.Bool(true)}),
	)...)
	for _, s := range series {
		data := make([]opts.BarData, len(s.Shares))
		for i, v := range s.Shares {
			data[i] = opts.BarData{Value: round(v*100, 1)}
		}
		bar.AddSeries(s.Name, data)
	}
	return optionJSON(bar)
}

// pointsScatter places proposals by longitude/latitude (no map tiles).
func pointsScatter(points []proposal) (json.RawMessage, error) {
	sc := charts.NewScatter()
	sc.SetGlobalOptions(append(globalOpts(true),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: "Longitude", Scale: opts.Bool(true)}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "Latitude", Scale: opts.Bool(true)}),
	)...)
	var winners, others []opts.ScatterData
	for _, p := range points {
		d := opts.ScatterData{Name: p.Title, Value: []float64{round(p.Lng, 5), round(p.Lat, 5)}, SymbolSize: 9}
		if p.Winner {
			winners = append(winners, d)
		} else {
			others = append(others, d)
		}
	}
	sc.AddSeries("Propositions", others, charts.WithItemStyleOpts(opts.ItemStyle{Color: colourOthers}))
	sc.AddSeries("Lauréates", winners, charts.WithItemStyleOpts(opts.ItemStyle{Color: colourHighlight}))
	return optionJSON(sc)
}

// groupedBars is a vertical bar chart with several series per category;
// the second series, when there is one, gets its own axis on the right
// (its unit differs).
func groupedBars(labels []string, series []struct {
	Name   string
	Values []float64
}) (json.RawMessage, error) {
	bar := charts.NewBar()
	bar.SetGlobalOptions(append(globalOpts(true),
		charts.WithXAxisOpts(opts.XAxis{Type: "category"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value"}),
	)...)
	if len(series) > 1 {
		bar.ExtendYAxis(opts.YAxis{Type: "value", Position: "right"})
	}
	bar.SetXAxis(labels)
	for i, s := range series {
		data := make([]opts.BarData, len(s.Values))
		for j, v := range s.Values {
			data[j] = opts.BarData{Value: roundSig(v, 4)}
		}
		bar.AddSeries(s.Name, data, charts.WithBarChartOpts(opts.BarChart{YAxisIndex: min(i, 1)}))
	}
	return optionJSON(bar)
}
