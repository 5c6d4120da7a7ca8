package reports_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/reports"
)

func TestParseTopStores(t *testing.T) {
	today := date("2026-11-20")
	for _, tc := range []struct {
		query string
		want  reports.TopStoresQuery
		err   string // part of the message; "" for none
	}{
		{"", reports.TopStoresQuery{Month: date("2026-11-01"), Sort: "revenue", Desc: true, Page: 1, PerPage: reports.TopStoresPageSize}, ""},
		{"month=2026-02&sort=name&page=3&per=500", reports.TopStoresQuery{Month: date("2026-02-01"), Sort: "name", Page: 3, PerPage: 500}, ""},
		{"sort=name&desc=true", reports.TopStoresQuery{Month: date("2026-11-01"), Sort: "name", Desc: true, Page: 1, PerPage: 10}, ""},
		{"sort=change&desc=false", reports.TopStoresQuery{Month: date("2026-11-01"), Sort: "change", Page: 1, PerPage: 10}, ""},
		{"month=2026-13", reports.TopStoresQuery{}, `"2026-13" is not a month: use YYYY-MM`},
		{"month=2026-1", reports.TopStoresQuery{}, "is not a month"},
		{"sort=bogus", reports.TopStoresQuery{}, `Cannot sort by "bogus": use revenue, orders, aov, change or name.`},
		{"desc=maybe", reports.TopStoresQuery{}, `desc must be true or false, not "maybe".`},
		{"page=0", reports.TopStoresQuery{}, `page must be a whole number from 1 to 1000000, not "0".`},
		{"page=x", reports.TopStoresQuery{}, "page must be a whole number"},
		{"per=501", reports.TopStoresQuery{}, `per must be a whole number from 1 to 500, not "501".`},
	} {
		v, _ := url.ParseQuery(tc.query)
		got, err := reports.ParseTopStores(v, today)
		switch {
		case tc.err != "":
			if fleet.ErrorCode(err) != fleet.EINVALID || !strings.Contains(fleet.ErrorMessage(err), tc.err) {
				t.Errorf("%q: %v, want %q", tc.query, err, tc.err)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.query, err)
		case !got.Month.Equal(tc.want.Month) || got.Sort != tc.want.Sort || got.Desc != tc.want.Desc || got.Page != tc.want.Page || got.PerPage != tc.want.PerPage:
			t.Errorf("%q: %+v, want %+v", tc.query, got, tc.want)
		}
	}
}

func TestParseRange(t *testing.T) {
	today := date("2026-11-20")
	for _, tc := range []struct {
		query, from, to, err string
	}{
		{"", "2026-10-22", "2026-11-20", ""},
		{"from=2026-11-01&to=2026-11-01", "2026-11-01", "2026-11-01", ""},
		{"from=2026-11-01", "", "", "Give both from and to (YYYY-MM-DD), or neither for the last 30 days."},
		{"to=2026-11-01", "", "", "Give both from and to"},
		{"from=2026-11-20&to=2026-11-01", "", "", "The range ends (2026-11-01) before it starts (2026-11-20)."},
		{"from=2020-01-01&to=2026-11-01", "", "", "at most 1099 (three years)"},
		{"from=2026-02-30&to=2026-03-01", "", "", `"2026-02-30" is not a date`},
	} {
		v, _ := url.ParseQuery(tc.query)
		from, to, err := reports.ParseRange(v, today)
		switch {
		case tc.err != "":
			if fleet.ErrorCode(err) != fleet.EINVALID || !strings.Contains(fleet.ErrorMessage(err), tc.err) {
				t.Errorf("%q: %v, want %q", tc.query, err, tc.err)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.query, err)
		case from.Format(fleet.DayLayout) != tc.from || to.Format(fleet.DayLayout) != tc.to:
			t.Errorf("%q: %s to %s, want %s to %s", tc.query, from, to, tc.from, tc.to)
		}
	}
}
