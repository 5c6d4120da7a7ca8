package central_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

func TestAuditLogFilters(t *testing.T) {
	db, clk := openDB(t)
	ctx := context.Background()
	entries := []fleet.AuditEntry{
		{Actor: "ada", Action: "tenant.create", Tenant: "shop"},                                        // 1, at start
		{Actor: "bob", Action: "tenant.delete", Tenant: "shop", Outcome: "error", Error: "it is busy"}, // 2, start+1h
		{Actor: "ada", Action: "user.add", Detail: "bob"},                                              // 3, start+2h
		{Actor: "cli", Action: "tenant.create", Tenant: "bakery"},                                      // 4, start+3h
	}
	for _, e := range entries {
		must(t, db.Audit(ctx, e))
		clk.Add(time.Hour)
	}
	for _, c := range []struct {
		name string
		f    central.AuditFilter
		want []int64
	}{
		{"everything, newest first", central.AuditFilter{}, []int64{4, 3, 2, 1}},
		{"one actor", central.AuditFilter{Actor: "ada"}, []int64{3, 1}},
		{"one tenant", central.AuditFilter{Tenant: "shop"}, []int64{2, 1}},
		{"one action", central.AuditFilter{Action: "tenant.create"}, []int64{4, 1}},
		{"failures", central.AuditFilter{Outcome: "error"}, []int64{2}},
		{"successes", central.AuditFilter{Outcome: "ok"}, []int64{4, 3, 1}},
		{"actor and action", central.AuditFilter{Actor: "ada", Action: "tenant.create"}, []int64{1}},
		{"from, inclusive", central.AuditFilter{From: start.Add(time.Hour)}, []int64{4, 3, 2}},
		{"until, exclusive", central.AuditFilter{Until: start.Add(2 * time.Hour)}, []int64{2, 1}},
		{"an hour's window", central.AuditFilter{From: start.Add(time.Hour), Until: start.Add(2 * time.Hour)}, []int64{2}},
		{"paging back", central.AuditFilter{Before: 3, Limit: 1}, []int64{2}},
		{"a limit", central.AuditFilter{Limit: 2}, []int64{4, 3}},
		{"nothing matches", central.AuditFilter{Actor: "eve"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			es, err := db.AuditLog(ctx, c.f)
			must(t, err)
			var got []int64
			for _, e := range es {
				got = append(got, e.ID)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("entries %v, want %v", got, c.want)
			}
		})
	}
}

// An entry gets the clock's time and outcome ok unless told otherwise;
// long details and errors are cut, not refused.
func TestAuditDefaults(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	at := start.Add(-48 * time.Hour)
	must(t, db.Audit(ctx, fleet.AuditEntry{Actor: "ada", Action: "x", Detail: strings.Repeat("d", 3000), Error: strings.Repeat("e", 3000), Outcome: "error"}))
	must(t, db.Audit(ctx, fleet.AuditEntry{Actor: "ada", Action: "y", At: at}))
	es, err := db.AuditLog(ctx, central.AuditFilter{})
	must(t, err)
	if len(es) != 2 {
		t.Fatalf("%d entries", len(es))
	}
	if e := es[0]; !e.At.Equal(at) || e.Outcome != "ok" {
		t.Errorf("entry with a time: %+v", e)
	}
	if e := es[1]; !e.At.Equal(start) || e.Outcome != "error" || len([]rune(e.Detail)) != 2001 || len([]rune(e.Error)) != 2001 {
		t.Errorf("long entry: at %v, outcome %s, detail %d runes, error %d runes", e.At, e.Outcome, len([]rune(e.Detail)), len([]rune(e.Error)))
	}
	// Written even when the request that made it is gone.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	must(t, db.Audit(cancelled, fleet.AuditEntry{Actor: "ada", Action: "z"}))
}
