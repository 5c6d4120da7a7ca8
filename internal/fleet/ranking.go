package fleet

import (
	"slices"
	"strings"
)

// RankBy is an order of a month's ranking of stores (the top stores
// report): the report's sort parameter, its columns, the SQL that sorts.
type RankBy string

// The ranking's orders.
const (
	RankByRevenue RankBy = "revenue" // the month's revenue
	RankByOrders  RankBy = "orders"
	RankByAOV     RankBy = "aov"    // average order value
	RankByChange  RankBy = "change" // revenue against the days compared with
	RankByName    RankBy = "name"   // the store's name

	// DefaultRankBy is the order when none is asked: seed 000's "top
	// performing stores".
	DefaultRankBy = RankByRevenue
)

// RankBys lists every order, as the report's columns show them.
var RankBys = []RankBy{RankByRevenue, RankByOrders, RankByAOV, RankByChange, RankByName}

// ParseRankBy reads an order, refusing any not in RankBys.
func ParseRankBy(s string) (RankBy, error) {
	r := RankBy(s)
	if !slices.Contains(RankBys, r) {
		names := make([]string, len(RankBys))
		for i, r := range RankBys {
			names[i] = string(r)
		}
		last := len(names) - 1
		return "", Errorf(EINVALID, "Cannot sort by %q: use %s or %s.", Truncate(s, 20), strings.Join(names[:last], ", "), names[last])
	}
	return r, nil
}

// DescByDefault reports whether the order starts with the most, as a ranking
// does; only the name starts at A.
func (r RankBy) DescByDefault() bool { return r != RankByName }
