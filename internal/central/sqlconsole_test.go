package central_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

func TestQueryHistory(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	r := central.QueryRecord{Actor: "ada", Tenant: "shop", SQL: "SELECT :n", Params: map[string]string{"n": "1"}, Write: true,
		Outcome: "failed", Error: strings.Repeat("e", 2500), Rows: 3, Duration: 1500 * time.Microsecond}
	must(t, db.AddQuery(ctx, r))
	must(t, db.AddQuery(ctx, central.QueryRecord{Actor: "bob", SQL: "SELECT 2", Scope: &fleet.Scope{Pattern: "shop-*"}, Outcome: "ok"}))
	if hs, err := db.QueryHistory(ctx, "bob", 10); err != nil || len(hs) != 1 || hs[0].Scope == nil || *hs[0].Scope != (fleet.Scope{Pattern: "shop-*"}) {
		t.Errorf("bob's fan-out comes back as %+v (%v), want its scope", hs, err)
	}
	hs, err := db.QueryHistory(ctx, "ada", 10)
	must(t, err)
	if len(hs) != 1 {
		t.Fatalf("ada's history has %d runs, want 1 (not bob's)", len(hs))
	}
	h := hs[0]
	if h.SQL != r.SQL || !maps.Equal(h.Params, r.Params) || !h.Write || h.Outcome != "failed" || h.Rows != 3 ||
		h.Duration != r.Duration || !h.At.Equal(start) || len([]rune(h.Error)) != 2001 {
		t.Errorf("recorded %+v", h)
	}
	// Recorded even if the client left.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	must(t, db.AddQuery(cancelled, central.QueryRecord{Actor: "ada", SQL: "SELECT 3", Outcome: "ok"}))
}

// Each user's history keeps the newest runs, without touching anyone
// else's.
func TestQueryHistoryKeepsTheNewest(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	const kept = 200
	must(t, db.AddQuery(ctx, central.QueryRecord{Actor: "bob", SQL: "SELECT 'bob'", Outcome: "ok"}))
	for i := range kept + 5 {
		must(t, db.AddQuery(ctx, central.QueryRecord{Actor: "ada", SQL: fmt.Sprintf("SELECT %d", i), Outcome: "ok"}))
	}
	hs, err := db.QueryHistory(ctx, "ada", 1000)
	must(t, err)
	if len(hs) != kept || hs[0].SQL != fmt.Sprintf("SELECT %d", kept+4) || hs[kept-1].SQL != "SELECT 5" {
		t.Errorf("ada's history: %d runs, from %q back to %q", len(hs), hs[0].SQL, hs[len(hs)-1].SQL)
	}
	if hs, _ := db.QueryHistory(ctx, "bob", 10); len(hs) != 1 {
		t.Errorf("bob's history lost runs to ada's: %d left", len(hs))
	}
	if hs, _ := db.QueryHistory(ctx, "ada", 3); len(hs) != 3 {
		t.Errorf("a limit of 3 gave %d", len(hs))
	}
}

func TestSavedQueries(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	var ids []int64
	for _, name := range []string{"orders", "carts"} {
		q, err := db.SaveQuery(ctx, central.SavedQuery{Name: name, SQL: "SELECT 1", Tenant: "shop", CreatedBy: "ada"})
		must(t, err)
		if q.ID == 0 || !q.CreatedAt.Equal(start) {
			t.Fatalf("saved %+v", q)
		}
		ids = append(ids, q.ID)
	}
	_, err := db.SaveQuery(ctx, central.SavedQuery{Name: "orders", SQL: "SELECT 2", CreatedBy: "bob"})
	wantCode(t, err, fleet.ECONFLICT)
	qs, err := db.SavedQueries(ctx)
	must(t, err)
	if len(qs) != 2 || qs[0].Name != "carts" || qs[1].Name != "orders" || qs[1].SQL != "SELECT 1" {
		t.Errorf("saved queries %+v, want by name, the first orders kept", qs)
	}
	q, err := db.SavedQueryByID(ctx, ids[0])
	must(t, err)
	if q.Name != "orders" || q.Tenant != "shop" || q.CreatedBy != "ada" {
		t.Errorf("by id: %+v", q)
	}
	must(t, db.DeleteSavedQuery(ctx, ids[0]))
	for _, err := range []error{db.DeleteSavedQuery(ctx, ids[0]), second(db.SavedQueryByID(ctx, ids[0]))} {
		wantCode(t, err, fleet.ENOTFOUND)
	}
	// The name is free again.
	_, err = db.SaveQuery(ctx, central.SavedQuery{Name: "orders", SQL: "SELECT 2", CreatedBy: "bob"})
	must(t, err)
}

func second[T any](_ T, err error) error { return err }
