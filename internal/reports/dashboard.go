package reports

import (
	"context"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// Dashboard is the overview's metrics as of today.
func (s *Service) Dashboard(ctx context.Context) (Dashboard, error) {
	gen, err := s.db.MetricsGeneration(ctx)
	if err != nil {
		return Dashboard{}, err
	}
	today := s.Today()
	return cached(s, ctx, gen, "dashboard\x00"+day(today), func(ctx context.Context) (Dashboard, error) {
		d := Dashboard{Generation: gen}
		has, err := s.db.HasMetrics(ctx)
		if err != nil || !has {
			return d, err
		}
		d.HasMetrics = true
		monthFrom, _, prevFrom, prevTo := comparedDays(today.AddDate(0, 0, 1-today.Day()), today)
		d.Today, d.Month = day(today), today.Format(fleet.MonthLayout)
		d.MonthFrom, d.PrevFrom, d.PrevTo = day(monthFrom), day(prevFrom), day(prevTo)

		yesterday := today.AddDate(0, 0, -1)
		if d.TodayTiles, err = s.tiles(ctx, today, today, yesterday, yesterday); err != nil {
			return d, err
		}
		for i := range d.TodayTiles {
			d.TodayTiles[i].Partial, d.TodayTiles[i].PrevLabel = true, "yesterday"
		}
		if d.MonthTiles, err = s.tiles(ctx, monthFrom, today, prevFrom, prevTo); err != nil {
			return d, err
		}
		actFrom := today.AddDate(0, 0, -29)
		act, err := s.db.DailyTotals(ctx, day(actFrom), day(today))
		if err != nil {
			return d, err
		}
		d.Activity, d.ActivityFrom, d.ActivityTo = padDays(actFrom, today, act), day(actFrom), day(today)
		top, err := s.topStores(ctx, gen, TopStoresQuery{Month: monthFrom, Sort: fleet.RankByRevenue, Desc: true, Page: 1, PerPage: 10})
		if err != nil {
			return d, err
		}
		d.TopStores = top.Stores
		return d, nil
	})
}

// tiles sums the days from..to against prevFrom..prevTo.
func (s *Service) tiles(ctx context.Context, from, to, prevFrom, prevTo time.Time) ([]Tile, error) {
	sum := func(f, t time.Time) (Day, bool, error) {
		rows, err := s.db.DailyTotals(ctx, day(f), day(t))
		if err != nil {
			return Day{}, false, err
		}
		return SumDays(padDays(f, t, rows)), len(rows) > 0, nil
	}
	cur, _, err := sum(from, to)
	if err != nil {
		return nil, err
	}
	prev, hasPrev, err := sum(prevFrom, prevTo)
	if err != nil {
		return nil, err
	}
	active, err := s.db.ActiveStores(ctx, day(from), day(to))
	if err != nil {
		return nil, err
	}
	prevActive, err := s.db.ActiveStores(ctx, day(prevFrom), day(prevTo))
	if err != nil {
		return nil, err
	}
	tile := func(label string, money bool, v, p int64) Tile {
		return Tile{Label: label, Money: money, Value: v, Prev: p, HasPrev: hasPrev}
	}
	return []Tile{
		tile("Revenue", true, cur.Revenue, prev.Revenue),
		tile("Orders", false, cur.Orders, prev.Orders),
		tile("Active carts", false, cur.ActiveCarts, prev.ActiveCarts),
		tile("New products", false, cur.NewProducts, prev.NewProducts),
		tile("Active stores", false, active, prevActive),
	}, nil
}
