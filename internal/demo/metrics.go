package demo

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// streamMetrics is the PCG stream of DailyMetrics, apart from Fill's.
const streamMetrics = 0xd6e8feb86659fd93

// DailyMetrics returns what a collection would write for the store over
// the days days ending on end: one row per day, zeros included, drawn
// from the same model as Fill (volume, weekly seasonality, growth, idle
// stores, price level, abandoned carts), without writing a store. Only
// the reports' tests and benchmarks (internal/web) call it, to load years
// of a large fleet's metrics in seconds; it lives here rather than in a
// test package because it draws on the model's unexported traits.
func DailyMetrics(p Profile, days int, end time.Time) []fleet.Metrics {
	tr := traitsFor(p.Seed)
	r := rand.New(rand.NewPCG(uint64(p.Seed), streamMetrics))
	start := end.UTC().Truncate(24*time.Hour).AddDate(0, 0, 1-days)
	basket := 2500 * tr.priceLevel // average order, minor units
	out := make([]fleet.Metrics, days)
	for d := range days {
		date := start.AddDate(0, 0, d)
		m := fleet.Metrics{Date: date.Format(fleet.DayLayout), Tenant: p.Name}
		out[d] = m
		if p.Idle && (tr.empty || d >= days-tr.quietDays) {
			continue
		}
		volume := ordersPerScale * p.Scale * weekday[date.Weekday()] * math.Exp(p.Growth*float64(d-(days-1)))
		m.Orders = int64(poisson(r, volume))
		for range min(m.Orders, 50) { // the rest at the average
			m.Revenue += int64(basket * math.Exp(0.5*r.NormFloat64()-0.125))
		}
		if m.Orders > 50 {
			m.Revenue += int64(basket * float64(m.Orders-50))
		}
		m.ActiveCarts = int64(poisson(r, volume*tr.cartRatio*0.3))
		m.NewProducts = int64(poisson(r, 0.05+0.02*p.Scale))
		out[d] = m
	}
	return out
}
