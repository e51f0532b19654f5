package dashboards

import (
	"strings"

	"github.com/capstat/capstat/internal/datasets"
)

// metricDef describes how a budget_comparison metric is shown. The
// definition itself is never written here: it comes from the catalogue.
type metricDef struct {
	Col      string // budget_comparison column
	Label    string // short French label (chart title, table header)
	AxisName string
	Scale    float64 // value × Scale is what the chart axis shows
	Format   func(float64) string
	Delta    func(float64) string  // a difference between two values (nil: Format)
	Phrase   func(v string) string // a value in a sentence
}

// homeMetrics are the comparison metrics of the home page, in order.
var homeMetrics = []metricDef{
	{
		Col: "participation_rate", Label: "Taux de participation", AxisName: "%", Scale: 100,
		Format: frPctAuto,
		Delta:  func(v float64) string { return strings.TrimSuffix(frPctAuto(v), nnbsp+"%") + nnbsp + "pt" },
		Phrase: func(v string) string { return "un taux de participation de " + v },
	},
	{
		Col: "proposals_per_10k", Label: "Propositions pour 10 000 habitants", AxisName: "propositions", Scale: 1,
		Format: frRate,
		Phrase: func(v string) string { return v + " propositions pour 10" + nnbsp + "000 habitants" },
	},
	{
		Col: "votes_per_1k", Label: "Votes pour 1 000 habitants", AxisName: "votes", Scale: 1,
		Format: frRate,
		Phrase: func(v string) string { return v + " votes pour 1" + nnbsp + "000 habitants" },
	},
	{
		Col: "winner_rate", Label: "Taux de lauréats", AxisName: "%", Scale: 100,
		Format: func(v float64) string { return frPct(v, 1) },
		Delta:  func(v float64) string { return frDec(v*100, 1) + nnbsp + "pt" },
		Phrase: func(v string) string { return "un taux de lauréats de " + v },
	},
	{
		Col: "eur_per_inhabitant", Label: "Euros par habitant", AxisName: "€", Scale: 1,
		Format: func(v float64) string { return frDec(v, 2) + nnbsp + "€" },
		Phrase: func(v string) string { return v + " par habitant" },
	},
}

// definition returns the French (and, when it adds a formula, English)
// catalogue description of a dataset column.
func definition(cat *datasets.Contract, dataset, column string) string {
	if c, ok := cat.Column(dataset, column); ok {
		return c.DescriptionFR
	}
	return ""
}

// delta formats the difference between two values of the metric
// (percentage points for rates).
func (m metricDef) delta(d float64) string {
	f := m.Format
	if m.Delta != nil {
		f = m.Delta
	}
	return frSigned(d, f)
}
