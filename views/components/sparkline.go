package components

import (
	"fmt"
	"strconv"
	"strings"
)

// Sparkline geometry: a small inline chart that fits a table row.
const (
	sparkW = 72
	sparkH = 18
)

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
	var b strings.Builder
	step := float64(sparkW-2) / float64(max(len(days)-1, 1))
	for i, v := range days {
		y := float64(sparkH - 1)
		if peak > 0 {
			y -= float64(v) / float64(peak) * float64(sparkH-2)
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatFloat(1+float64(i)*step, 'f', 1, 64))
		b.WriteByte(',')
		b.WriteString(strconv.FormatFloat(y, 'f', 1, 64))
	}
	return b.String()
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
