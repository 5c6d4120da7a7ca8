package components

import (
	"encoding/json"
	"math"
)

// ChartSpec is a chart of figures per day (or, with Bars, a bar per
// label), drawn in the browser by static/charts.js with uPlot. Pages always show the same figures in a table
// too: the chart is for the eye, the table for the exact numbers and for
// browsers without JavaScript.
type ChartSpec struct {
	Title  string   // what the chart shows, for screen readers
	X      []string // days, YYYY-MM-DD, oldest first; with Bars, labels
	Series []ChartSeries
	// Bars draws one horizontal bar per label of X, the first on top, with
	// the first series' values: a ranking rather than a time line.
	Bars     bool
	Currency string // ISO 4217 code of the money series; "" means USD
	Height   int    // plot height in CSS pixels; 0 means 260
}

// ChartSeries is one line: a value per day of ChartSpec.X. A chart with
// both money and count series gets a money axis on the left and a count
// axis on the right.
type ChartSeries struct {
	Label   string
	Values  []float64 // per day; minor units when Money
	Money   bool
	Percent bool // a change in percent, shown as "+12.3%"
}

// defaultChartHeight matches the space app.css keeps for a chart, so the
// page does not jump when it is drawn.
const defaultChartHeight = 260

// chartData is the JSON charts.js reads. Money is converted to major units
// here so the script only formats numbers.
type chartData struct {
	Title  string        `json:"title"`
	X      []string      `json:"x"`
	Series []chartSeries `json:"series"`
	Prefix string        `json:"prefix"` // before money amounts: "$", "CHF "
	Height int           `json:"height"`
	Bars   bool          `json:"bars,omitempty"`
}

type chartSeries struct {
	Label   string     `json:"label"`
	Money   bool       `json:"money"`
	Percent bool       `json:"percent,omitempty"`
	Values  []*float64 `json:"values"` // null is a gap (a value that is not a number)
}

func newChartData(spec ChartSpec) chartData {
	d := chartData{
		Title:  spec.Title,
		X:      spec.X,
		Series: make([]chartSeries, 0, len(spec.Series)),
		Prefix: CurrencyPrefix(spec.Currency),
		Height: spec.Height,
		Bars:   spec.Bars,
	}
	if d.X == nil {
		d.X = []string{}
	}
	if d.Height <= 0 {
		d.Height = defaultChartHeight
	}
	for _, s := range spec.Series {
		// uPlot wants exactly one value per day: pad with gaps, drop extras.
		values := make([]*float64, len(d.X))
		for i := range values {
			if i >= len(s.Values) || math.IsNaN(s.Values[i]) || math.IsInf(s.Values[i], 0) {
				continue
			}
			v := s.Values[i]
			if s.Money {
				v /= 100
			}
			values[i] = &v
		}
		d.Series = append(d.Series, chartSeries{Label: s.Label, Money: s.Money, Percent: s.Percent, Values: values})
	}
	return d
}

// chartJSON is the data-chart attribute. It cannot fail: newChartData
// leaves out the values JSON has no number for.
func chartJSON(spec ChartSpec) string {
	b, err := json.Marshal(newChartData(spec))
	if err != nil {
		return "{}"
	}
	return string(b)
}

// chartLabel is the chart's accessible name.
func chartLabel(spec ChartSpec) string {
	if spec.Title == "" {
		return "Chart; the table has the same figures"
	}
	return spec.Title + "; the table has the same figures"
}
