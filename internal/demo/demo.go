// Package demo generates realistic, deterministic history for demo stores:
// a fleet of shops of very different sizes whose products, orders and carts
// look enough like real traffic that charts, aggregates and ETL jobs built
// on them behave as they would in production.
package demo

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Layout is the timestamp form every generated row uses: SQLite's
// CURRENT_TIMESTAMP, in UTC, so generated rows sort and compare like the
// rows the schema's defaults would have written.
const Layout = "2006-01-02 15:04:05"

// Profile describes one demo store.
type Profile struct {
	// Name is a valid tenant name such as "blue-fern-books".
	Name string
	// Scale is the store's current order volume relative to a median
	// store; 1 is about 7 orders a day. Across a fleet it is lognormal, so
	// a few stores dwarf the rest.
	Scale float64
	// Growth is the daily growth rate of order volume. Scale holds at the
	// end of the period, so a growing store had less traffic before:
	// about (1+Growth)^-age of it, age in days.
	Growth float64
	// Idle stores have had no orders or carts for the last 2-4 weeks, or
	// are completely empty; which one follows from Seed.
	Idle bool
	// Seed makes everything Fill writes for this store reproducible.
	Seed int64
}

// Stats counts the rows Fill wrote.
type Stats struct{ Products, Orders, Carts int }

const (
	ordersPerScale = 7.0 // orders a day of a Scale 1 store
	scaleSigma     = 1.4 // lognormal sigma of Scale: ~25x between median and top of 50
	idleShare      = 0.08
	day            = 86400

	// Distinct PCG streams so that a store's traits, its rows and the
	// fleet's profiles never share random numbers: adding a day of
	// history must not change a store's category.
	streamProfiles = 0x9e3779b97f4a7c15
	streamTraits   = 0xbf58476d1ce4e5b9
	streamRows     = 0x94d049bb133111eb
	streamCarts    = 0x2545f4914f6cdd1d
)

// Profiles returns n store profiles, the same for the same seed: unique
// tenant names, lognormal sizes (with 50 stores, the biggest does roughly
// 150-300 orders a day, the median about 7, the smallest a few a month),
// mostly positive growth, and about 8% idle stores, none among the biggest.
func Profiles(n int, seed int64) []Profile {
	if n <= 0 {
		return nil
	}
	r := rand.New(rand.NewPCG(uint64(seed), streamProfiles))

	// Stratified quantiles rather than plain draws: with only 50 stores,
	// independent lognormal draws too often miss the long tail or the
	// single giant, and the demo should always show both.
	scales := make([]float64, n)
	for i := range scales {
		p := (float64(i) + 0.2 + 0.6*r.Float64()) / float64(n)
		scales[i] = math.Exp(scaleSigma * math.Sqrt2 * math.Erfinv(2*p-1))
	}
	// scales is ascending here; the biggest stores stay busy so the fleet's
	// headline numbers never come from a store that has gone quiet.
	idle := make([]bool, n)
	candidates := n - max(1, n/10)
	for k := min(candidates, int(math.Round(idleShare*float64(n)))); k > 0; {
		if i := r.IntN(candidates); !idle[i] {
			idle[i] = true
			k--
		}
	}
	perm := r.Perm(n)

	out := make([]Profile, n)
	used := make(map[string]bool, n)
	for i := range out {
		j := perm[i]
		s := int64(r.Uint64())
		g := 0.003 + 0.0025*r.NormFloat64()
		if idle[j] {
			g = -0.002 * r.Float64() // idle stores were fading before they stopped
		}
		out[i] = Profile{
			Name:   uniqueName(storeName(r, categoryFor(s)), used),
			Scale:  math.Round(scales[j]*1000) / 1000,
			Growth: math.Round(min(0.01, max(-0.002, g))*1e5) / 1e5,
			Idle:   idle[j],
			Seed:   s,
		}
	}
	return out
}

func storeName(r *rand.Rand, c *category) string {
	w := pick(r, c.words)
	switch r.IntN(6) {
	case 0, 1:
		return pick(r, nameBrands) + "-" + w
	case 2, 3:
		return pick(r, nameAdjs) + "-" + pick(r, nameNouns) + "-" + w
	case 4:
		return pick(r, nameNouns) + "-and-" + pick(r, nameNouns)
	default:
		return pick(r, nameBrands) + "-" + w + "-" + pick(r, nameTails)
	}
}

// uniqueName suffixes "-2", "-3", … because tenant names are primary keys.
func uniqueName(base string, used map[string]bool) string {
	name := base
	for i := 2; used[name]; i++ {
		sfx := "-" + strconv.Itoa(i)
		name = strings.TrimRight(base[:min(len(base), 63-len(sfx))], "-") + sfx
	}
	used[name] = true
	return name
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// traits are the per-store constants that depend only on the profile's
// Seed, so a hand-made Profile gets a consistent store too.
type traits struct {
	cat        *category
	priceLevel float64 // multiplies every list price: boutique vs discount
	cartRatio  float64 // abandoned carts per order
	staleShare float64 // abandoned carts nobody ever marks abandoned
	empty      bool    // when idle: never had any data
	quietDays  int     // when idle: days without activity before the end
}

func traitsFor(seed int64) traits {
	r := rand.New(rand.NewPCG(uint64(seed), streamTraits))
	return traits{
		cat:        &categories[r.IntN(len(categories))],
		priceLevel: math.Exp(0.25 * r.NormFloat64()),
		cartRatio:  1.5 + 2*r.Float64(),
		empty:      r.Float64() < 0.3,
		quietDays:  14 + r.IntN(15),
		// Drawn last so the traits above stay what they were. Most shops
		// have no job that expires carts, or one that misses many, so a
		// good share of abandoned carts stays 'active' for ever: that is
		// what seed 000's active_carts counts on every past day.
		staleShare: 0.15 + 0.3*r.Float64(),
	}
}

func categoryFor(seed int64) *category { return traitsFor(seed).cat }

// Weekly shape, Sunday first as time.Weekday counts: weekends are busiest,
// Monday is the dip.
var weekday = [7]float64{1.35, 0.82, 0.95, 1.0, 1.0, 1.1, 1.45}

// Diurnal shape by UTC hour: a quiet night, a lunchtime rise and an
// evening peak.
var hourly = [24]float64{
	0.9, 0.6, 0.4, 0.3, 0.3, 0.4, 0.7, 1.2, 1.8, 2.3, 2.6, 2.8,
	3.0, 3.0, 2.8, 2.7, 2.7, 2.9, 3.2, 3.5, 3.6, 3.2, 2.4, 1.5,
}

var hourlyCum = func() (c [24]float64) {
	sum := 0.0
	for i, w := range hourly {
		sum += w
		c[i] = sum
	}
	for i := range c {
		c[i] /= sum
	}
	return c
}()

// Fill writes days days of history, the whole UTC days end-days+1 through
// end, into an already migrated store database, in one transaction.
// Nothing is dated after now, so a period ending today stops at the current
// time; a zero now means the end of the last day.
//
// Fill is safe to call concurrently on different databases. It appends:
// rows already in db are kept.
func Fill(ctx context.Context, db *sql.DB, p Profile, days int, end, now time.Time) (Stats, error) {
	if days <= 0 {
		return Stats{}, fmt.Errorf("demo: days must be positive, got %d", days)
	}
	g := newGen(p, days, end, now)
	if g.empty {
		return Stats{}, nil
	}

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return Stats{}, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	st, err := g.run(ctx, tx)
	if err != nil {
		return Stats{}, err
	}
	if err := tx.Commit(); err != nil {
		return Stats{}, err
	}
	return st, nil
}

// gen holds one Fill's state. Times are Unix seconds: formatting happens
// only on the way into SQL.
type gen struct {
	p     Profile
	t     traits
	r     *rand.Rand
	rc    *rand.Rand // which old carts stay active: apart from r so the other rows do not depend on it
	days  int
	start int64 // first second of the period
	limit int64 // last second anything may happen at
	ref   int64 // "now" for deciding which carts are still active
	empty bool

	prices   []int64 // product prices in creation order
	created  []int64 // product creation times, ascending
	names    map[string]bool
	buf      []byte
	ts       map[int64]string // day start -> "2006-01-02 " prefix
	products batch
	orders   batch
	carts    batch
	st       Stats
}

func newGen(p Profile, days int, end, now time.Time) *gen {
	end = end.UTC()
	lastDay := time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, time.UTC).Unix()
	g := &gen{
		p:     p,
		t:     traitsFor(p.Seed),
		r:     rand.New(rand.NewPCG(uint64(p.Seed), streamRows)),
		rc:    rand.New(rand.NewPCG(uint64(p.Seed), streamCarts)),
		days:  days,
		start: lastDay - int64(days-1)*day,
		limit: lastDay + day - 1,
		names: map[string]bool{},
		ts:    map[int64]string{},
	}
	if !now.IsZero() {
		g.limit = min(g.limit, now.Unix())
	}
	g.ref = g.limit
	if p.Idle {
		g.empty = g.t.empty
		g.limit = min(g.limit, lastDay+day-int64(g.t.quietDays)*day)
	}
	if g.limit < g.start {
		g.empty = true
	}
	return g
}

func (g *gen) run(ctx context.Context, tx *sql.Tx) (Stats, error) {
	g.products = batch{tx: tx, table: "products", cols: "name, price, description, created_at, updated_at", ncol: 5}
	g.orders = batch{tx: tx, table: "orders", cols: "total_amount, status, created_at, updated_at", ncol: 4}
	g.carts = batch{tx: tx, table: "carts", cols: "status, created_at, updated_at", ncol: 3}
	defer g.products.close()
	defer g.orders.close()
	defer g.carts.close()

	if err := g.catalogue(ctx); err != nil {
		return Stats{}, err
	}
	if err := g.traffic(ctx); err != nil {
		return Stats{}, err
	}
	for _, b := range []*batch{&g.products, &g.orders, &g.carts} {
		if err := b.flush(ctx); err != nil {
			return Stats{}, err
		}
	}
	return g.st, nil
}

// volume is the expected number of orders on day d of the period, before
// day-to-day noise.
func (g *gen) volume(d int) float64 {
	wd := time.Unix(g.start+int64(d)*day, 0).UTC().Weekday()
	return ordersPerScale * g.p.Scale * weekday[wd] * math.Exp(g.p.Growth*float64(d-(g.days-1)))
}

// catalogue creates the initial import at the very start of the period,
// so the first orders have something to buy, then a trickle of new
// products that grows with the store.
func (g *gen) catalogue(ctx context.Context) error {
	n := int((25 + 35*math.Pow(g.p.Scale, 0.75)) * (0.7 + 0.6*g.r.Float64()))
	t := g.start + int64(g.r.IntN(120))
	for range n {
		if t > g.limit {
			break
		}
		if err := g.product(ctx, t); err != nil {
			return err
		}
		t += 1 + int64(g.r.IntN(4)) // an import script's pace
	}
	rate := 0.12 * math.Pow(g.p.Scale, 0.85)
	var times []int64
	for d := 1; d < g.days; d++ {
		k := poisson(g.r, rate*math.Exp(g.p.Growth*float64(d-(g.days-1))))
		times = g.times(times[:0], d, k)
		for _, t := range times {
			if err := g.product(ctx, t); err != nil {
				return err
			}
		}
	}
	return nil
}

func (g *gen) product(ctx context.Context, t int64) error {
	c := g.t.cat
	it := pick(g.r, c.items)
	var name string
	for try := 0; ; try++ {
		q := pick(g.r, c.quals)
		if c.itemInParens && g.r.IntN(2) == 0 {
			q = "The " + title(pick(g.r, nameAdjs)) + " " + title(pick(g.r, nameNouns))
		}
		if c.itemInParens {
			name = q + " (" + it.name + ")"
		} else {
			name = q + " " + it.name
		}
		if it.sized && g.r.IntN(3) > 0 {
			name += " - " + pick(g.r, c.variants)
		}
		if try >= 4 && !c.itemInParens {
			// Big catalogues exhaust the plain combinations; real shops
			// then sell ranges and editions.
			name = pick(g.r, collections) + " " + name
		}
		if !g.names[name] {
			break
		}
		if try == 10 {
			name += " No. " + strconv.Itoa(len(g.names)+1)
			break
		}
	}
	g.names[name] = true

	price := charm(g.r, float64(it.price)*g.t.priceLevel*math.Exp(0.3*g.r.NormFloat64()))
	var desc any
	if g.r.Float64() >= 0.05 { // some shops never write descriptions
		desc = pick(g.r, c.blurbs) + " " + pick(g.r, closers)
	}
	updated := t
	if g.r.Float64() < 0.25 { // edited later: price change, new photos
		if u := t + int64(g.r.ExpFloat64()*20*day); u <= g.limit {
			updated = u
		}
	}
	g.prices = append(g.prices, price)
	g.created = append(g.created, t)
	g.st.Products++
	return g.products.add(ctx, name, price, desc, g.stamp(t), g.stamp(updated))
}

func title(w string) string { return strings.ToUpper(w[:1]) + w[1:] }

// charm rounds a price in cents to how shops write them: mostly .99.
func charm(r *rand.Rand, cents float64) int64 {
	d := max(2, int64(math.Round(cents/100)))
	switch u := r.Float64(); {
	case u < 0.6:
		return d*100 - 1
	case u < 0.85:
		return d * 100
	case u < 0.95:
		return d*100 - 5
	default:
		return d*100 - 50
	}
}

type cart struct {
	created, updated int64
	converted        bool
}

// traffic writes orders and carts day by day, so ids ascend with time as
// they would in a live store.
func (g *gen) traffic(ctx context.Context) error {
	var times []int64
	var carts []cart
	avail := 0
	for d := range g.days {
		// Noise and the odd promotion keep daily charts from looking
		// synthetic.
		lambda := g.volume(d) * math.Exp(0.12*g.r.NormFloat64())
		if g.r.Float64() < 0.02 {
			lambda *= 1.8 + g.r.Float64()
		}
		times = g.times(times[:0], d, poisson(g.r, lambda))
		carts = carts[:0]
		for _, t := range times {
			for avail < len(g.created) && g.created[avail] <= t {
				avail++
			}
			if avail == 0 {
				continue // the shop opens once its catalogue is imported
			}
			total := g.basket(avail)
			status, updated := g.lifecycle(t)
			g.st.Orders++
			if err := g.orders.add(ctx, total, status, g.stamp(t), g.stamp(updated)); err != nil {
				return err
			}
			c := max(g.start+int64(d)*day, t-60-int64(g.r.ExpFloat64()*720))
			carts = append(carts, cart{c, t, true})
		}

		for _, t := range g.times(times[:0], d, poisson(g.r, lambda*g.t.cartRatio)) {
			u := min(g.limit, t+int64(g.r.ExpFloat64()*480))
			carts = append(carts, cart{t, u, false})
		}
		slices.SortFunc(carts, func(a, b cart) int { return cmp.Compare(a.created, b.created) })
		for _, c := range carts {
			status := "abandoned"
			switch {
			case c.converted:
				status = "converted"
			case g.ref-c.updated < day: // still within a shopper's session horizon
				status = "active"
			case g.rc.Float64() < g.t.staleShare: // abandoned, never cleaned up
				status = "active"
			}
			g.st.Carts++
			if err := g.carts.add(ctx, status, g.stamp(c.created), g.stamp(c.updated)); err != nil {
				return err
			}
		}
	}
	return nil
}

// times appends k timestamps on day d following the diurnal curve, sorted,
// dropping those past the limit.
func (g *gen) times(dst []int64, d, k int) []int64 {
	base := g.start + int64(d)*day
	n := len(dst)
	for range k {
		u := g.r.Float64()
		h, _ := slices.BinarySearch(hourlyCum[:], u)
		t := base + int64(min(h, 23))*3600 + int64(g.r.IntN(3600))
		if t <= g.limit {
			dst = append(dst, t)
		}
	}
	slices.Sort(dst[n:])
	return dst
}

// basket prices an order from the catalogue available at the time, with
// early products as the bestsellers.
func (g *gen) basket(avail int) int64 {
	var sub int64
	for k := 0; k == 0 || g.r.Float64() < 0.45; k++ {
		i := int(float64(avail) * math.Pow(g.r.Float64(), 1.8))
		q := int64(1)
		if u := g.r.Float64(); u < 0.03 {
			q = 3
		} else if u < 0.15 {
			q = 2
		}
		sub += q * g.prices[min(i, avail-1)]
	}
	if g.r.Float64() < 0.07 { // discount code
		sub -= sub * int64(10+5*g.r.IntN(3)) / 100
	}
	if c := g.t.cat; sub < c.freeShip {
		sub += c.shipping
	}
	return sub
}

// lifecycle plays an order placed at t forward to the limit and returns
// its status then and when it last changed, so that recent orders are
// mostly pending and old ones mostly shipped.
func (g *gen) lifecycle(t int64) (string, int64) {
	r := g.r
	type event struct {
		status string
		at     int64
	}
	var ev [3]event
	n := 0
	switch u := r.Float64(); {
	case u < 0.06: // payment failed or the customer changed their mind
		ev[0] = event{"cancelled", t + 60 + int64(r.ExpFloat64()*3*3600)}
		n = 1
	case u < 0.075: // stuck: nobody ever followed up
	default:
		paid := t + 5 + int64(r.ExpFloat64()*120)
		if r.Float64() < 0.15 { // bank transfer
			paid = t + int64(r.ExpFloat64()*18*3600)
		}
		shipped := paid + int64(20*3600*math.Exp(0.6*r.NormFloat64()))
		ev[0], ev[1] = event{"paid", paid}, event{"shipped", shipped}
		n = 2
		if r.Float64() < 0.04 {
			ev[2] = event{"refunded", shipped + int64((2+18*r.Float64())*day)}
			n = 3
		}
	}
	status, at := "pending", t
	for _, e := range ev[:n] {
		if e.at > g.limit {
			break
		}
		status, at = e.status, e.at
	}
	return status, at
}

// stamp formats a Unix time in Layout. It runs for every column of every
// row, so it caches the date part and writes the clock by hand.
func (g *gen) stamp(t int64) string {
	if t < 0 {
		return time.Unix(t, 0).UTC().Format(Layout)
	}
	d := t - t%day
	pfx, ok := g.ts[d]
	if !ok {
		pfx = time.Unix(d, 0).UTC().Format("2006-01-02 ")
		g.ts[d] = pfx
	}
	s := t - d
	b := append(g.buf[:0], pfx...)
	b = append(b, byte('0'+s/36000), byte('0'+s/3600%10), ':',
		byte('0'+s%3600/600), byte('0'+s%600/60), ':',
		byte('0'+s%60/10), byte('0'+s%10))
	g.buf = b
	return string(b)
}

// poisson draws a Poisson count; the normal approximation above 30 keeps a
// 300-orders-a-day store from costing 300 multiplications per day.
func poisson(r *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 30 {
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64())))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// batchRows rows go into one multi-row INSERT: large enough to amortise
// statement overhead, small enough to stay far below SQLite's variable
// limit and to check for cancellation often.
const batchRows = 200

// batch buffers rows for one table and writes them with a prepared
// multi-row INSERT.
type batch struct {
	tx    *sql.Tx
	table string
	cols  string
	ncol  int
	args  []any
	full  *sql.Stmt
}

func (b *batch) add(ctx context.Context, vals ...any) error {
	b.args = append(b.args, vals...)
	if len(b.args) >= batchRows*b.ncol {
		return b.flush(ctx)
	}
	return nil
}

func (b *batch) flush(ctx context.Context) error {
	rows := len(b.args) / b.ncol
	if rows == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var err error
	if rows == batchRows {
		if b.full == nil {
			if b.full, err = b.tx.PrepareContext(ctx, b.sql(rows)); err != nil {
				return err
			}
		}
		_, err = b.full.ExecContext(ctx, b.args...)
	} else {
		_, err = b.tx.ExecContext(ctx, b.sql(rows), b.args...)
	}
	if err != nil {
		return fmt.Errorf("demo: insert into %s: %w", b.table, err)
	}
	clear(b.args) // drop references to the strings just written
	b.args = b.args[:0]
	return nil
}

func (b *batch) sql(rows int) string {
	tuple := "(" + strings.Repeat("?, ", b.ncol-1) + "?)"
	var sb strings.Builder
	sb.WriteString("INSERT INTO " + b.table + " (" + b.cols + ") VALUES ")
	for i := range rows {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(tuple)
	}
	return sb.String()
}

func (b *batch) close() {
	if b.full != nil {
		b.full.Close()
	}
}
