// Package reports computes the platform's business reports from the
// central database's metrics and rollups: the dashboard, the month's top
// stores, daily activity, average revenue per store and a tenant's own
// history. The HTML console and the JSON API are two fronts over it: a
// front parses its parameters with ParseTopStores and ParseRange, calls
// the Service and renders or encodes the typed result.
package reports

import (
	"context"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

// Service computes the reports, keeping each result until the metrics
// generation changes.
type Service struct {
	db    *central.DB
	cache Cache
}

// New returns a service reading db; reports are relative to the UTC day
// of db's clock.
func New(db *central.DB) *Service { return &Service{db: db} }

// Today is the current UTC day, which the reports' defaults are relative to.
func (s *Service) Today() time.Time { return s.db.Now().UTC().Truncate(24 * time.Hour) }

func day(t time.Time) string { return t.Format(fleet.DayLayout) }

// cached is Cached on the service's cache.
func cached[T any](s *Service, ctx context.Context, gen int64, key string, compute func(context.Context) (T, error)) (T, error) {
	return Cached(&s.cache, ctx, gen, key, compute)
}

// padDays returns one Day per day from..to, zeros where there is no row.
func padDays(from, to time.Time, rows []central.DayTotals) []Day {
	by := make(map[string]central.DayTotals, len(rows))
	for _, r := range rows {
		by[r.Date] = r
	}
	var out []Day
	for _, d := range fleet.Days(from, to) {
		r := by[d]
		out = append(out, Day{Date: d, Stores: r.Stores, Orders: r.Orders, ActiveCarts: r.ActiveCarts,
			Revenue: r.Revenue, NewProducts: r.NewProducts})
	}
	return out
}

// DailyActivity is the platform's totals for each day from..to
// (inclusive, UTC days).
func (s *Service) DailyActivity(ctx context.Context, from, to time.Time) (DailyActivity, error) {
	if err := checkRange(from, to); err != nil {
		return DailyActivity{}, err
	}
	gen, err := s.db.MetricsGeneration(ctx)
	if err != nil {
		return DailyActivity{}, err
	}
	return s.dailyActivity(ctx, gen, from, to)
}

func (s *Service) dailyActivity(ctx context.Context, gen int64, from, to time.Time) (DailyActivity, error) {
	return cached(s, ctx, gen, "daily\x00"+day(from)+"\x00"+day(to), func(ctx context.Context) (DailyActivity, error) {
		rows, err := s.db.DailyTotals(ctx, day(from), day(to))
		if err != nil {
			return DailyActivity{}, err
		}
		return DailyActivity{From: day(from), To: day(to), Days: padDays(from, to, rows), Generation: gen}, nil
	})
}

// AverageRevenue is the average revenue per store on each day from..to
// that has metrics.
func (s *Service) AverageRevenue(ctx context.Context, from, to time.Time) (AverageRevenue, error) {
	if err := checkRange(from, to); err != nil {
		return AverageRevenue{}, err
	}
	gen, err := s.db.MetricsGeneration(ctx)
	if err != nil {
		return AverageRevenue{}, err
	}
	return cached(s, ctx, gen, "avg\x00"+day(from)+"\x00"+day(to), func(ctx context.Context) (AverageRevenue, error) {
		rows, err := s.db.DailyAverages(ctx, day(from), day(to))
		if err != nil {
			return AverageRevenue{}, err
		}
		r := AverageRevenue{From: day(from), To: day(to), Days: make([]DayAverage, len(rows)), Generation: gen}
		for i, d := range rows {
			r.Days[i] = DayAverage{Date: d.Date, Stores: d.Stores, Revenue: d.Revenue, Average: d.Average}
		}
		return r, nil
	})
}

// TopStores is a page of q.Month's ranking of stores.
func (s *Service) TopStores(ctx context.Context, q TopStoresQuery) (TopStores, error) {
	if q.Page < 1 || q.PerPage < 1 {
		return TopStores{}, fleet.Errorf(fleet.EINVALID, "A page of the ranking is page 1 or later, of at least one store.")
	}
	gen, err := s.db.MetricsGeneration(ctx)
	if err != nil {
		return TopStores{}, err
	}
	r, err := s.topStores(ctx, gen, q)
	if err != nil {
		return r, err
	}
	if next := q.Month.AddDate(0, 1, 0); !next.After(s.Today()) {
		r.NextMonth = next.Format(fleet.MonthLayout)
	}
	return r, nil
}

// comparedDays are the days a month's figures are compared on. A month
// in progress (today's) runs from its first day to today and is compared
// with the same days of the month before, clamped to that month's length
// (March 31st compares with all of February), as the overview's tiles
// are; any other month is compared whole with the whole month before.
func comparedDays(month, today time.Time) (from, to, prevFrom, prevTo time.Time) {
	from, prevFrom = month, month.AddDate(0, -1, 0)
	last := month.AddDate(0, 0, -1) // the month before's last day
	if month.Year() != today.Year() || month.Month() != today.Month() {
		return from, month.AddDate(0, 1, -1), prevFrom, last
	}
	prevTo = prevFrom.AddDate(0, 0, today.Day()-1)
	if prevTo.After(last) {
		prevTo = last
	}
	return from, today, prevFrom, prevTo
}

func (s *Service) topStores(ctx context.Context, gen int64, q TopStoresQuery) (TopStores, error) {
	month, prev := q.Month.Format(fleet.MonthLayout), q.Month.AddDate(0, -1, 0).Format(fleet.MonthLayout)
	from, to, prevFrom, prevTo := comparedDays(q.Month, s.Today())
	// The days compared change with today while the month is in progress.
	return cached(s, ctx, gen, q.Key()+"\x00"+day(to)+"\x00"+day(prevTo), func(ctx context.Context) (TopStores, error) {
		rows, total, err := s.db.MonthRanking(ctx, month, day(prevFrom), day(prevTo), q.Sort, q.Desc, q.PerPage, (q.Page-1)*q.PerPage)
		if err != nil {
			return TopStores{}, err
		}
		r := TopStores{Month: month, PrevMonth: prev, Sort: q.Sort, Desc: q.Desc, Page: q.Page, PerPage: q.PerPage,
			CompareFrom: day(from), CompareTo: day(to), PrevFrom: day(prevFrom), PrevTo: day(prevTo),
			Total: total, Stores: make([]TopStore, len(rows)), Generation: gen}
		for i, row := range rows {
			st := TopStore{Rank: (q.Page-1)*q.PerPage + i + 1, Name: row.Name, Revenue: row.Revenue, Orders: row.Orders}
			if row.Orders != 0 {
				st.AverageOrder = float64(row.Revenue) / float64(row.Orders)
			}
			if row.HasPrev {
				st.PrevRevenue = &rows[i].PrevRevenue
				if row.PrevRevenue != 0 {
					pct := float64(row.Revenue-row.PrevRevenue) * 100 / float64(row.PrevRevenue)
					st.ChangePct = &pct
				}
			}
			r.Stores[i] = st
		}
		return r, nil
	})
}

// TenantHistory is tenant's own metrics over the 90 days ending today.
func (s *Service) TenantHistory(ctx context.Context, tenant string) (TenantHistory, error) {
	gen, err := s.db.MetricsGeneration(ctx)
	if err != nil {
		return TenantHistory{}, err
	}
	to := s.Today()
	from := to.AddDate(0, 0, -89)
	return cached(s, ctx, gen, "tenant\x00"+tenant+"\x00"+day(to), func(ctx context.Context) (TenantHistory, error) {
		rows, err := s.db.TenantMetrics(ctx, tenant, day(from), day(to))
		if err != nil {
			return TenantHistory{}, err
		}
		totals := make([]central.DayTotals, len(rows))
		for i, m := range rows {
			totals[i] = central.DayTotals{Date: m.Date, Stores: 1, Orders: m.Orders, Revenue: m.Revenue, ActiveCarts: m.ActiveCarts, NewProducts: m.NewProducts}
		}
		return TenantHistory{Tenant: tenant, From: day(from), To: day(to), Days: padDays(from, to, totals), Generation: gen}, nil
	})
}
