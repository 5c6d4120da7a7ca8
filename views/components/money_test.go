package components

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

func TestMoney(t *testing.T) {
	for _, tc := range []struct {
		cents    int64
		currency string
		want     string
	}{
		{0, "", "$0.00"},
		{5, "USD", "$0.05"},
		{100, "usd", "$1.00"},
		{123456, "USD", "$1,234.56"},
		{123456, "", "$1,234.56"},
		{-100, "USD", "-$1.00"},
		{-123456789, "EUR", "-€1,234,567.89"},
		{99, "GBP", "£0.99"},
		{150000, "JPY", "¥1,500.00"},
		{123456, "CHF", "CHF 1,234.56"},
		{math.MaxInt64, "USD", "$92,233,720,368,547,758.07"},
		{math.MinInt64, "USD", "-$92,233,720,368,547,758.08"},
	} {
		if got := Money(tc.cents, tc.currency); got != tc.want {
			t.Errorf("Money(%d, %q) = %q, want %q", tc.cents, tc.currency, got, tc.want)
		}
	}
}

func TestMoneyF(t *testing.T) {
	for _, tc := range []struct {
		cents float64
		want  string
	}{
		{0, "$0.00"},
		{12345.67, "$123.46"},
		{12345.5, "$123.46"}, // half away from zero
		{12345.49, "$123.45"},
		{-12345.5, "-$123.46"},
		{0.4, "$0.00"},
		{123456789.01, "$1,234,567.89"},
		{math.NaN(), "—"},
		{math.Inf(1), "—"},
		{1e300, "—"},
	} {
		if got := MoneyF(tc.cents, "USD"); got != tc.want {
			t.Errorf("MoneyF(%v) = %q, want %q", tc.cents, got, tc.want)
		}
	}
}

func TestPercent(t *testing.T) {
	for _, tc := range []struct {
		pct  float64
		want string
	}{
		{12.34, "+12.3%"},
		{-4, "−4.0%"},
		{0, "0.0%"},
		{0.04, "0.0%"},
		{-0.04, "0.0%"},
		{0.05, "+0.1%"},
		{100, "+100.0%"},
		{12345.6, "+12,345.6%"},
		{math.Inf(-1), "−∞%"},
		{math.NaN(), "—"},
	} {
		if got := Percent(tc.pct); got != tc.want {
			t.Errorf("Percent(%v) = %q, want %q", tc.pct, got, tc.want)
		}
	}
}

func renderDoc(t *testing.T, html string) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(html))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestChange(t *testing.T) {
	for _, tc := range []struct {
		pct       float64
		ok        bool
		class, tx string
	}{
		{12.34, true, "change-up", "+12.3%"},
		{-4, true, "change-down", "−4.0%"},
		{0.01, true, "change-flat", "0.0%"},
		{50, false, "change-flat", "—"},
	} {
		var buf bytes.Buffer
		if err := Change(tc.pct, tc.ok).Render(context.Background(), &buf); err != nil {
			t.Fatal(err)
		}
		s := renderDoc(t, buf.String()).Find(`[data-testid="change"]`)
		if !s.HasClass(tc.class) || s.Text() != tc.tx {
			t.Errorf("Change(%v, %v) = %s", tc.pct, tc.ok, buf.String())
		}
	}
}

func TestChart(t *testing.T) {
	spec := ChartSpec{
		Title: "Revenue and orders per day",
		X:     []string{"2026-11-20", "2026-11-21", "2026-11-22"},
		Series: []ChartSeries{
			{Label: "Revenue", Values: []float64{123456, 0, math.NaN()}, Money: true},
			{Label: "Orders", Values: []float64{12, 7}}, // one short: a gap
		},
		Currency: "EUR",
	}
	var buf bytes.Buffer
	if err := Chart("history", spec).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	doc := renderDoc(t, buf.String())
	if doc.Find("script").Length() != 0 || doc.Find("[style]").Length() != 0 {
		t.Error("inline script or style would break the CSP (and htmx drops scripts from swaps)")
	}
	el := doc.Find(`div.chart#history`)
	if label, _ := el.Attr("aria-label"); !strings.HasPrefix(label, "Revenue and orders per day") {
		t.Errorf("aria-label %q", label)
	}
	var got struct {
		X      []string
		Prefix string
		Height int
		Series []struct {
			Label  string
			Money  bool
			Values []*float64
		}
	}
	if err := json.Unmarshal([]byte(el.AttrOr("data-chart", "")), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.X) != 3 || got.X[2] != "2026-11-22" || got.Prefix != "€" || got.Height != defaultChartHeight || len(got.Series) != 2 {
		t.Fatalf("chart data %+v", got)
	}
	rev, orders := got.Series[0], got.Series[1]
	if !rev.Money || rev.Label != "Revenue" || *rev.Values[0] != 1234.56 || *rev.Values[1] != 0 || rev.Values[2] != nil {
		t.Errorf("revenue is not in major units with a gap for NaN: %+v", rev)
	}
	if orders.Money || len(orders.Values) != 3 || *orders.Values[1] != 7 || orders.Values[2] != nil {
		t.Errorf("orders not padded to one value per day: %+v", orders)
	}
}
