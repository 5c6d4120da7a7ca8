package web_test

import (
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/demo"
	"github.com/tenantry/tenantry/internal/fleet"
)

// loadMetrics writes generated metrics for n stores over days ending on
// end through the collector's own write path (rollups included), a few
// stores per transaction as collection batches are.
func loadMetrics(t testing.TB, db *central.DB, n, days int, end time.Time) []demo.Profile {
	return loadMetricsBatched(t, db, n, days, end, 7)
}

func loadMetricsBatched(t testing.TB, db *central.DB, n, days int, end time.Time, perBatch int) []demo.Profile {
	t.Helper()
	ctx := context.Background()
	ps := demo.Profiles(n, 11)
	from := end.AddDate(0, 0, 1-days).Format(fleet.DayLayout)
	run := &central.CollectRun{From: from, To: end.Format(fleet.DayLayout), Trigger: "test", StartedBy: "test"}
	if err := db.StartRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(ps); i += perBatch {
		b := central.CollectBatch{RunID: run.ID, From: run.From, To: run.To}
		for _, p := range ps[i:min(i+perBatch, len(ps))] {
			b.Metrics = append(b.Metrics, demo.DailyMetrics(p, days, end)...)
		}
		if _, err := db.WriteCollectBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	return ps
}

// seedRows runs one of seed 000's literal report queries.
func seedRows(t testing.TB, db *central.DB, query string) [][]string {
	t.Helper()
	rows, err := db.SQL().Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		rec := make([]string, len(cols))
		for i, v := range vals {
			switch v := v.(type) {
			case time.Time: // the driver reads the DATE column as a time
				rec[i] = v.UTC().Format(fleet.DayLayout)
			case float64:
				rec[i] = strconv.FormatFloat(v, 'f', 2, 64)
			default:
				rec[i] = fmt.Sprint(v)
			}
		}
		out = append(out, rec)
	}
	return out
}

// Seed 000's three report queries, literally.
const (
	seedTopStores = `SELECT
database_name,
SUM(total_revenue) as revenue,
SUM(total_orders) as orders
FROM metrics
WHERE date >= date('now', 'start of month')
GROUP BY database_name
ORDER BY revenue DESC
LIMIT 10;`
	seedDailyActivity = `SELECT
date,
SUM(total_orders) as platform_orders,
SUM(active_carts) as platform_active_carts
FROM metrics
WHERE date >= date('now', '-30 days')
GROUP BY date
ORDER BY date;`
	seedAverageRevenue = `SELECT
date,
ROUND(AVG(total_revenue), 2) as avg_store_revenue
FROM metrics
GROUP BY date
ORDER BY date DESC
LIMIT 30;`
)

func csvRecords(t testing.TB, res *http.Response) [][]string {
	t.Helper()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("CSV: status %d, type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	recs, err := csv.NewReader(res.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestReportsEqualSeedQueries proves each report's numbers are what the
// seed's literal SQL returns on the same metrics table, in HTML, JSON and
// CSV, and stay so after a collection changes the numbers.
func TestReportsEqualSeedQueries(t *testing.T) {
	e := newEnv(t)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	loadMetrics(t, e.db, 40, 75, today)
	// Rewrite some stores' days, as a re-collection would: the rollups must
	// follow the difference. Some are dated after today (within the month,
	// where seed 000's "this month" and ours agree).
	end := today.AddDate(0, 0, 3)
	if end.Month() != today.Month() {
		end = today
	}
	loadMetrics(t, e.db, 9, 20, end)
	var seen []central.Observed
	for _, p := range demo.Profiles(40, 11) {
		seen = append(seen, central.Observed{Name: p.Name, URL: "file:/x/" + p.Name + ".db", ModifiedAt: today})
	}
	if _, err := e.db.Reconcile(context.Background(), "local", seen, nil); err != nil {
		t.Fatal(err)
	}
	c := e.login("viewer@example.com")

	check := func() {
		t.Helper()
		// Top stores this month.
		want := seedRows(t, e.db, seedTopStores)
		top := jsonBody[struct {
			Month  string `json:"month"`
			Total  int64  `json:"total"`
			Stores []struct {
				Rank    int    `json:"rank"`
				Name    string `json:"database_name"`
				Revenue int64  `json:"revenue"`
				Orders  int64  `json:"orders"`
			} `json:"stores"`
		}](t, c.get("/reports/top-stores", "Accept", "application/json"))
		if top.Month != today.Format("2006-01") || len(top.Stores) != len(want) || len(want) != 10 {
			t.Fatalf("top stores: month %s, %d rows; seed has %d", top.Month, len(top.Stores), len(want))
		}
		for i, w := range want {
			g := top.Stores[i]
			got := []string{g.Name, strconv.FormatInt(g.Revenue, 10), strconv.FormatInt(g.Orders, 10)}
			tied := i+1 < len(want) && want[i+1][1] == w[1] || i > 0 && want[i-1][1] == w[1]
			if got[1] != w[1] || !tied && (got[0] != w[0] || got[2] != w[2]) || g.Rank != i+1 {
				t.Errorf("top store %d: got %v, seed %v", i+1, got, w)
			}
		}
		recs := csvRecords(t, c.get("/reports/top-stores.csv"))
		if int64(len(recs)-1) != top.Total || recs[1][1] != top.Stores[0].Name || recs[1][2] != strconv.FormatInt(top.Stores[0].Revenue, 10) {
			t.Errorf("top stores CSV: %d rows (want %d), first %v", len(recs)-1, top.Total, recs[1])
		}

		// Daily activity over seed 000's window: from 30 days ago.
		from, to := today.AddDate(0, 0, -30).Format(fleet.DayLayout), end.Format(fleet.DayLayout)
		q := "?from=" + from + "&to=" + to
		want = seedRows(t, e.db, seedDailyActivity)
		act := jsonBody[struct {
			Days []struct {
				Date        string `json:"date"`
				Stores      int64  `json:"stores"`
				Orders      int64  `json:"platform_orders"`
				ActiveCarts int64  `json:"platform_active_carts"`
			} `json:"days"`
		}](t, c.get("/reports/daily-activity"+q, "Accept", "application/json"))
		var got [][]string
		for _, d := range act.Days {
			if d.Stores > 0 {
				got = append(got, []string{d.Date, strconv.FormatInt(d.Orders, 10), strconv.FormatInt(d.ActiveCarts, 10)})
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || len(want) != 31+int(end.Sub(today).Hours()/24) {
			t.Errorf("daily activity:\n got %v\nseed %v", got, want)
		}
		recs = csvRecords(t, c.get("/reports/daily-activity.csv"+q))
		if len(recs) != len(act.Days)+1 || recs[0][2] != "platform_orders" {
			t.Errorf("daily activity CSV: %d rows for %d days, header %v", len(recs), len(act.Days), recs[0])
		}

		// Average revenue per store: seed 000's last 30 days with rows.
		want = seedRows(t, e.db, seedAverageRevenue)
		avg := jsonBody[struct {
			Days []struct {
				Date    string  `json:"date"`
				Average float64 `json:"avg_store_revenue"`
			} `json:"days"`
		}](t, c.get("/reports/average-revenue?from="+end.AddDate(0, 0, -29).Format(fleet.DayLayout)+"&to="+to, "Accept", "application/json"))
		got = nil
		for i := len(avg.Days) - 1; i >= 0; i-- {
			got = append(got, []string{avg.Days[i].Date, strconv.FormatFloat(avg.Days[i].Average, 'f', 2, 64)})
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("average revenue:\n got %v\nseed %v", got, want)
		}
	}
	check()
	checkActiveStores(t, e, c, today)

	// A collection that changes today's numbers is seen at once.
	loadMetrics(t, e.db, 3, 1, today)
	check()
	checkActiveStores(t, e, c, today)

	// The pages render the same numbers; a tenant's page shows its history.
	name := seen[0].Name
	doc := c.doc(c.get("/reports/top-stores"))
	if doc.Find(`[data-testid="top-store-row"]`).Length() != 10 {
		t.Errorf("top stores page shows %d rows", doc.Find(`[data-testid="top-store-row"]`).Length())
	}
	for _, path := range []string{"/", "/reports/daily-activity", "/reports/average-revenue", "/tenants/" + name} {
		if res := c.get(path); res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", path, res.StatusCode)
		}
	}
}

// checkActiveStores proves the overview's active stores (stores with an
// order), kept in rollups, equal counts over the metrics table.
func checkActiveStores(t *testing.T, e *env, c *client, today time.Time) {
	t.Helper()
	count := func(from, to time.Time) int64 {
		var n int64
		if err := e.db.SQL().QueryRow(`SELECT count(DISTINCT database_name) FROM metrics WHERE date BETWEEN ? AND ? AND total_orders > 0`,
			from.Format(fleet.DayLayout), to.Format(fleet.DayLayout)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	vm := jsonBody[struct {
		TodayTiles, MonthTiles []struct {
			Label       string
			Value, Prev int64
		}
	}](t, c.get("/", "Accept", "application/json"))
	monthFrom := today.AddDate(0, 0, 1-today.Day())
	prevFrom := monthFrom.AddDate(0, -1, 0)
	prevTo := prevFrom.AddDate(0, 0, today.Day()-1)
	if last := monthFrom.AddDate(0, 0, -1); prevTo.After(last) {
		prevTo = last
	}
	for _, w := range []struct {
		what      string
		got, want int64
	}{
		{"today", vm.TodayTiles[4].Value, count(today, today)},
		{"yesterday", vm.TodayTiles[4].Prev, count(today.AddDate(0, 0, -1), today.AddDate(0, 0, -1))},
		{"this month", vm.MonthTiles[4].Value, count(monthFrom, today)},
		{"the same days last month", vm.MonthTiles[4].Prev, count(prevFrom, prevTo)},
	} {
		if w.got != w.want || w.want == 0 {
			t.Errorf("active stores %s: overview says %d, the metrics table %d", w.what, w.got, w.want)
		}
	}
	if vm.MonthTiles[4].Label != "Active stores" {
		t.Errorf("the fifth tile is %q", vm.MonthTiles[4].Label)
	}
}

func TestReportsRefuseBadParameters(t *testing.T) {
	e := newEnv(t)
	c := e.login("viewer@example.com")
	for _, path := range []string{
		"/reports/top-stores?month=2026-13",
		"/reports/top-stores?month=2026-1",
		"/reports/top-stores?month=abc",
		"/reports/top-stores?sort=bogus",
		"/reports/top-stores?page=0",
		"/reports/top-stores?page=x",
		"/reports/top-stores?desc=maybe",
		"/reports/top-stores.csv?month=2026-00",
		"/reports/daily-activity?from=2026-11-20&to=2026-11-01",
		"/reports/daily-activity?from=2020-01-01&to=2026-11-01",
		"/reports/daily-activity?from=yesterday&to=today",
		"/reports/daily-activity?from=2026-11-01",
		"/reports/average-revenue?from=2026-02-30&to=2026-03-01",
		"/reports/average-revenue.csv?from=2026-11-20&to=2026-11-01",
	} {
		res := c.get(path)
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 400", path, res.StatusCode)
			continue
		}
		if doc := c.doc(res); doc.Find("main").Text() == "" {
			t.Errorf("GET %s: no message", path)
		}
		body := jsonBody[map[string]string](t, c.get(path, "Accept", "application/json"))
		if body["code"] != fleet.EINVALID || body["error"] == "" {
			t.Errorf("GET %s as JSON: %v", path, body)
		}
	}
}

// TestEmptyReports shows what to do next rather than a blank page.
func TestEmptyReports(t *testing.T) {
	e := newEnv(t)
	c := e.login("viewer@example.com")
	for _, path := range []string{"/", "/reports/top-stores", "/reports/daily-activity", "/reports/average-revenue"} {
		if res := c.get(path); res.StatusCode != http.StatusOK {
			t.Errorf("GET %s on an empty console: %d", path, res.StatusCode)
		}
	}
	if res := c.get("/reports/top-stores.csv"); len(csvRecords(t, res)) != 1 {
		t.Error("empty top stores CSV should hold only its header")
	}
}

// TestSplicedPagesDecode fetches every page holding a cached fragment as a
// browser would (gzip) and without compression: the two decode to the same
// page, the fragment's HTML is in it, and a second fetch (from the cache)
// is the same again. JSON on the same routes still goes through the gzip
// middleware.
func TestSplicedPagesDecode(t *testing.T) {
	e := newEnv(t)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	ps := loadMetrics(t, e.db, 12, 40, today)
	var seen []central.Observed
	for _, p := range ps {
		seen = append(seen, central.Observed{Name: p.Name, URL: "file:/x/" + p.Name + ".db", ModifiedAt: today})
	}
	if _, err := e.db.Reconcile(context.Background(), "local", seen, nil); err != nil {
		t.Fatal(err)
	}
	c := e.login("viewer@example.com")
	fetch := func(path, accept, encoding string) (string, *http.Response) {
		t.Helper()
		res := c.get(path, "Accept-Encoding", encoding, "Accept", accept)
		body := io.Reader(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, res.StatusCode)
		}
		if res.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(res.Body)
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			zr.Multistream(false)
			body = zr
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return string(b), res
	}
	for path, marker := range map[string]string{
		"/":                       `data-testid="activity"`,
		"/reports/top-stores":     `data-testid="top-stores-table"`,
		"/reports/daily-activity": `id="activity-chart-title"`,
		"/reports/average-revenue?from=" + today.AddDate(0, 0, -39).Format(fleet.DayLayout) + "&to=" + today.Format(fleet.DayLayout): `id="average-chart-title"`,
		"/tenants/" + ps[0].Name: `data-testid="history-totals"`,
	} {
		zipped, res := fetch(path, "text/html", "gzip")
		if res.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("GET %s: Content-Encoding %q, Vary %q", path, res.Header.Get("Content-Encoding"), res.Header.Get("Vary"))
		}
		plain, res := fetch(path, "text/html", "identity")
		if res.Header.Get("Content-Encoding") != "" {
			t.Errorf("GET %s without gzip: Content-Encoding %q", path, res.Header.Get("Content-Encoding"))
		}
		again, _ := fetch(path, "text/html", "gzip")
		if zipped != plain || again != zipped {
			t.Errorf("GET %s: gzip (%d bytes), plain (%d) and again (%d) differ", path, len(zipped), len(plain), len(again))
		}
		if !strings.Contains(plain, marker) || !strings.HasSuffix(strings.TrimSpace(plain), "</html>") || strings.Contains(plain, "<!--fragment") {
			t.Errorf("GET %s: page lacks %s, its end, or holds a fragment mark", path, marker)
		}
	}
	if _, res := fetch("/reports/daily-activity?from="+today.AddDate(0, 0, -364).Format(fleet.DayLayout)+"&to="+today.Format(fleet.DayLayout), "application/json", "gzip"); res.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("JSON: Content-Encoding %q, want the middleware's gzip", res.Header.Get("Content-Encoding"))
	}
}

// TestTopStoresMonthToDate sets the clock on the 1st, the 15th and the
// last day of a month: the ranking compares the month so far with the
// same days of the month before (clamped to its length), as the
// overview's tiles do, and says so; a finished month compares whole
// months. The page, its JSON and its CSV agree, the numbers are sums over
// the metrics table for those days, and the change order follows them.
func TestTopStoresMonthToDate(t *testing.T) {
	for _, tc := range []struct {
		today, month                     string
		from, to, prevFrom, prevTo, note string
	}{
		{"2026-03-01", "", "2026-03-01", "2026-03-01", "2026-02-01", "2026-02-01", "Change compares 1 Mar with 1 Feb"},
		{"2026-03-15", "", "2026-03-01", "2026-03-15", "2026-02-01", "2026-02-15", "Change compares 1\u201315 Mar with 1\u201315 Feb"},
		{"2026-03-31", "", "2026-03-01", "2026-03-31", "2026-02-01", "2026-02-28", "Change compares 1\u201331 Mar with 1\u201328 Feb"},
		{"2026-04-30", "", "2026-04-01", "2026-04-30", "2026-03-01", "2026-03-30", "Change compares 1\u201330 Apr with 1\u201330 Mar"},
		{"2026-04-15", "2026-03", "2026-03-01", "2026-03-31", "2026-02-01", "2026-02-28", "Change compares revenue with February 2026"},
	} {
		t.Run(tc.today+"/"+tc.month, func(t *testing.T) {
			today, _ := time.Parse(fleet.DayLayout, tc.today)
			e := newEnvWith(t, t.TempDir(), nil, nil)
			e.clock.Set(today.Add(13 * time.Hour))
			loadMetrics(t, e.db, 25, 75, today)
			c := e.login("viewer@example.com")
			q := "?sort=change&per=100"
			if tc.month != "" {
				q += "&month=" + tc.month
			}
			sum := func(name, from, to string) (int64, bool) {
				var n sql.NullInt64
				if err := e.db.SQL().QueryRow(`SELECT sum(total_revenue) FROM metrics WHERE database_name = ? AND date BETWEEN ? AND ?`,
					name, from, to).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n.Int64, n.Valid
			}
			r := jsonBody[struct {
				CompareFrom string `json:"compare_from"`
				CompareTo   string `json:"compare_to"`
				PrevFrom    string `json:"previous_from"`
				PrevTo      string `json:"previous_to"`
				Total       int    `json:"total"`
				Stores      []struct {
					Name      string   `json:"database_name"`
					Revenue   int64    `json:"revenue"`
					Prev      *int64   `json:"previous_revenue"`
					ChangePct *float64 `json:"change_pct"`
				} `json:"stores"`
			}](t, c.get("/reports/top-stores"+q, "Accept", "application/json"))
			if got := []string{r.CompareFrom, r.CompareTo, r.PrevFrom, r.PrevTo}; fmt.Sprint(got) != fmt.Sprint([]string{tc.from, tc.to, tc.prevFrom, tc.prevTo}) {
				t.Errorf("JSON compares %v", got)
			}
			if r.Total != 25 || len(r.Stores) != 25 {
				t.Fatalf("%d stores of %d", len(r.Stores), r.Total)
			}
			recs := csvRecords(t, c.get("/reports/top-stores.csv"+q))
			if len(recs) != len(r.Stores)+1 {
				t.Fatalf("CSV: %d rows for %d stores", len(recs)-1, len(r.Stores))
			}
			last := math.Inf(1)
			for i, st := range r.Stores {
				rev, _ := sum(st.Name, tc.from, tc.to)
				prev, hasPrev := sum(st.Name, tc.prevFrom, tc.prevTo)
				if st.Revenue != rev || hasPrev != (st.Prev != nil) || hasPrev && *st.Prev != prev {
					t.Errorf("%s: revenue %d, previous %v; the metrics table has %d and %d (%t)", st.Name, st.Revenue, st.Prev, rev, prev, hasPrev)
				}
				change := ""
				if st.ChangePct != nil {
					change = strconv.FormatFloat(*st.ChangePct, 'f', 2, 64)
					if *st.ChangePct > last {
						t.Errorf("%s: change %.2f after %.2f, sorted by change descending", st.Name, *st.ChangePct, last)
					}
					last = *st.ChangePct
				} else {
					last = math.Inf(-1) // stores without a change come last
				}
				if rec := recs[i+1]; rec[1] != st.Name || rec[2] != i64s(st.Revenue) || rec[6] != change || hasPrev && rec[5] != i64s(prev) {
					t.Errorf("CSV row %d: %v; JSON %s %d, previous %d, change %q", i+1, rec, st.Name, st.Revenue, prev, change)
				}
			}
			doc := c.doc(c.get("/reports/top-stores" + q))
			if note := doc.Find(`[data-testid="compare-note"]`).Text(); !strings.HasPrefix(note, tc.note) {
				t.Errorf("footer: %q, want it to start %q", note, tc.note)
			}
			rows := doc.Find(`[data-testid="top-store-row"]`)
			if rows.Length() != 25 || rows.First().AttrOr("data-name", "") != r.Stores[0].Name {
				t.Errorf("page: %d rows, first %q; JSON's first %q", rows.Length(), rows.First().AttrOr("data-name", ""), r.Stores[0].Name)
			}
		})
	}
}

func i64s(n int64) string { return strconv.FormatInt(n, 10) }
