package collect_test

import (
	"testing"

	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/fleet"
)

// The daily activity chart's second line is the fleet's active carts per
// day. Demo shops, like real ones, leave abandoned carts active, so a
// collection over the demo's history counts some on (nearly) every day,
// not only on the last one or two; the counts still equal seed 000's query.
func TestDemoHistoryHasActiveCartsEveryDay(t *testing.T) {
	const days = 30
	f := newFleet(t, 6, days, collect.Options{})
	from, to := f.end.AddDate(0, 0, -(days-1)), f.end
	if s := f.run(from, to); s.OK != 6 || s.Failed != 0 {
		t.Fatalf("collection: %+v", s)
	}
	f.checkAgainstSeed(from, to, nil)

	perDay := map[string]int64{}
	for k, m := range f.table() {
		perDay[k[0]] += m.ActiveCarts
	}
	var withCarts int
	for _, d := range fleet.Days(from, to) {
		if perDay[d] > 0 {
			withCarts++
		}
	}
	t.Logf("active carts on %d of %d days", withCarts, days)
	if withCarts < days*9/10 {
		t.Errorf("active carts on only %d of %d days: %v", withCarts, days, perDay)
	}
}
