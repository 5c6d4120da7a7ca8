package components

import (
	"fmt"
	"html"
	"strconv"
	"strings"

	"github.com/a-h/templ"
)

// Sparkline geometry: a small inline chart that fits a table row. Points
// are in tenths of a pixel so they are written as integers.
const (
	sparkW = 72
	sparkH = 18
)

// Sparkline is a tiny server-rendered line of daily values (oldest
// first), with its meaning in words for screen readers and as a tooltip.
// It is written directly (numbers and an escaped label), since a registry
// page draws fifty of them.
func Sparkline(days []int64, what string) templ.Component {
	label := html.EscapeString(sparkLabel(days, what))
	var b strings.Builder
	b.Grow(420)
	b.WriteString(`<svg class="sparkline" viewBox="0 0 ` + strconv.Itoa(sparkW*10) + ` ` + strconv.Itoa(sparkH*10) +
		`" width="` + strconv.Itoa(sparkW) + `" height="` + strconv.Itoa(sparkH) + `" role="img" aria-label="`)
	b.WriteString(label)
	b.WriteString(`" data-testid="sparkline"><title>`)
	b.WriteString(label)
	b.WriteString(`</title><polyline points="`)
	b.WriteString(sparkPoints(days))
	b.WriteString(`" fill="none" stroke="currentColor" stroke-width="15" stroke-linejoin="round" stroke-linecap="round"></polyline></svg>`)
	return templ.Raw(b.String())
}

// sparkPoints is the polyline of daily values, oldest on the left, scaled
// so the busiest day touches the top; a flat zero line sits on the bottom.
func sparkPoints(days []int64) string {
	if len(days) == 0 {
		return ""
	}
	peak := int64(0)
	for _, v := range days {
		peak = max(peak, v)
	}
	buf := make([]byte, 0, len(days)*8)
	step := (sparkW - 2) * 10 / max(len(days)-1, 1)
	for i, v := range days {
		y := int64(sparkH-1) * 10
		if peak > 0 {
			y -= v * int64(sparkH-2) * 10 / peak
		}
		if i > 0 {
			buf = append(buf, ' ')
		}
		buf = strconv.AppendInt(buf, int64(10+i*step), 10)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, y, 10)
	}
	return string(buf)
}

// sparkLabel says in words what the sparkline shows.
func sparkLabel(days []int64, what string) string {
	var total, peak int64
	for _, v := range days {
		total += v
		peak = max(peak, v)
	}
	if total == 0 {
		return fmt.Sprintf("No %s in the last %d days", what, len(days))
	}
	return fmt.Sprintf("Daily %s over the last %d days: %s in all, at most %s a day", what, len(days), Int(total), Int(peak))
}
