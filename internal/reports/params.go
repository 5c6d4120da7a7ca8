package reports

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// The reports' parameters are the same for the HTML pages and the API:
// both fronts read them with these functions, so a bad value is refused
// with the same message wherever it is sent.

// TopStoresPageSize is how many stores a page of the ranking shows, as
// seed 000's "top 10"; per= asks for up to MaxTopStoresPage.
const (
	TopStoresPageSize = 10
	MaxTopStoresPage  = 500
	maxPage           = 1_000_000
)

// TopStoresQuery asks for a page of a month's ranking of stores.
type TopStoresQuery struct {
	Month   time.Time // the month's first day (UTC)
	Sort    fleet.RankBy
	Desc    bool
	Page    int // 1-based
	PerPage int
}

// Key identifies the query, for caches of its result and of what is
// derived from it.
func (q TopStoresQuery) Key() string {
	return fmt.Sprintf("top\x00%s\x00%s\x00%t\x00%d\x00%d", q.Month.Format(fleet.MonthLayout), q.Sort, q.Desc, q.Page, q.PerPage)
}

// ParseTopStores reads month (YYYY-MM, default the month of today), sort
// (default revenue), desc (default: descending but for name), page and
// per (default TopStoresPageSize, at most MaxTopStoresPage).
func ParseTopStores(v url.Values, today time.Time) (TopStoresQuery, error) {
	q := TopStoresQuery{Month: today.AddDate(0, 0, 1-today.Day()), Sort: fleet.DefaultRankBy, Page: 1, PerPage: TopStoresPageSize}
	if m := v.Get("month"); m != "" {
		t, err := fleet.ParseMonth(m)
		if err != nil {
			return q, err
		}
		q.Month = t
	}
	if s := v.Get("sort"); s != "" {
		var err error
		if q.Sort, err = fleet.ParseRankBy(s); err != nil {
			return q, err
		}
	}
	q.Desc = q.Sort.DescByDefault()
	if s := v.Get("desc"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return q, fleet.Errorf(fleet.EINVALID, "desc must be true or false, not %q.", fleet.Truncate(s, 20))
		}
		q.Desc = b
	}
	var err error
	if q.Page, err = intParam(v, "page", 1, 1, maxPage); err != nil {
		return q, err
	}
	if q.PerPage, err = intParam(v, "per", TopStoresPageSize, 1, MaxTopStoresPage); err != nil {
		return q, err
	}
	return q, nil
}

// intParam reads an integer parameter within [lo, hi].
func intParam(v url.Values, name string, def, lo, hi int) (int, error) {
	s := v.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fleet.Errorf(fleet.EINVALID, "%s must be a whole number from %d to %d, not %q.", name, lo, hi, fleet.Truncate(s, 20))
	}
	return n, nil
}

// ParseRange reads from and to (YYYY-MM-DD, inclusive, at most
// fleet.MaxRangeDays); neither means the last 30 days ending today.
func ParseRange(v url.Values, today time.Time) (from, to time.Time, err error) {
	f, t := v.Get("from"), v.Get("to")
	switch {
	case f == "" && t == "":
		return today.AddDate(0, 0, -29), today, nil
	case f == "" || t == "":
		return from, to, fleet.Errorf(fleet.EINVALID, "Give both from and to (YYYY-MM-DD), or neither for the last 30 days.")
	}
	return fleet.ParseRange(f, t)
}

// checkRange refuses a range ParseRange would refuse, for callers that
// built their times themselves.
func checkRange(from, to time.Time) error {
	_, _, err := fleet.ParseRange(day(from), day(to))
	return err
}
