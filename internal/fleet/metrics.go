package fleet

import "time"

// DayLayout is how days are written everywhere: ISO dates, UTC.
const DayLayout = "2006-01-02"

// Metrics are one store's numbers for one day, exactly as seed 000's
// query defines them.
type Metrics struct {
	Date        string `json:"date"`
	Tenant      string `json:"database_name"`
	Orders      int64  `json:"total_orders"`
	Revenue     int64  `json:"total_revenue"` // minor units (cents)
	ActiveCarts int64  `json:"active_carts"`
	NewProducts int64  `json:"new_products"`
}

// ParseDay reads a YYYY-MM-DD day.
func ParseDay(s string) (time.Time, error) {
	t, err := time.Parse(DayLayout, s)
	if err != nil || t.Format(DayLayout) != s {
		return time.Time{}, Errorf(EINVALID, "%q is not a date: use YYYY-MM-DD, e.g. 2026-11-20.", Truncate(s, 30))
	}
	return t, nil
}

// Days lists the days from..to inclusive.
func Days(from, to time.Time) []string {
	var out []string
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		out = append(out, d.Format(DayLayout))
	}
	return out
}

// MaxRangeDays bounds one collection or report range (about three years).
const MaxRangeDays = 3*366 + 1

// ParseRange reads an inclusive day range and checks it.
func ParseRange(from, to string) (time.Time, time.Time, error) {
	f, err := ParseDay(from)
	if err != nil {
		return f, f, err
	}
	t, err := ParseDay(to)
	if err != nil {
		return f, t, err
	}
	if t.Before(f) {
		return f, t, Errorf(EINVALID, "The range ends (%s) before it starts (%s).", to, from)
	}
	if n := int(t.Sub(f).Hours()/24) + 1; n > MaxRangeDays {
		return f, t, Errorf(EINVALID, "The range %s to %s is %d days; at most %d (three years).", from, to, n, MaxRangeDays)
	}
	return f, t, nil
}

// MonthLayout is how months are written: YYYY-MM.
const MonthLayout = "2006-01"

// ParseMonth reads a YYYY-MM month and returns its first day (UTC).
func ParseMonth(s string) (time.Time, error) {
	t, err := time.Parse(MonthLayout, s)
	if err != nil || t.Format(MonthLayout) != s {
		return time.Time{}, Errorf(EINVALID, "%q is not a month: use YYYY-MM, e.g. 2026-11.", Truncate(s, 30))
	}
	return t, nil
}
