package central_test

import (
	"context"
	"slices"
	"testing"

	"github.com/tenantry/tenantry/internal/central"
)

// Each platform has its own catalog; adding is idempotent and says
// whether it added.
func TestCatalog(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	a, b := db.Catalog("sqld"), db.Catalog("other")
	for _, c := range []struct {
		name  string
		added bool
	}{{"shop", true}, {"bakery", true}, {"shop", false}} {
		added, err := a.Add(ctx, c.name)
		must(t, err)
		if added != c.added {
			t.Errorf("Add(%s) = %t, want %t", c.name, added, c.added)
		}
	}
	if added, err := b.Add(ctx, "shop"); err != nil || !added {
		t.Errorf("another platform's catalog shares names: %t, %v", added, err)
	}
	names, err := a.Names(ctx)
	must(t, err)
	if !slices.Equal(names, []string{"bakery", "shop"}) {
		t.Errorf("names %q", names)
	}
	must(t, a.Remove(ctx, "shop"))
	must(t, a.Remove(ctx, "never-there"))
	for _, c := range []struct {
		cat  *central.Catalog
		want []string
	}{{a, []string{"bakery"}}, {b, []string{"shop"}}} {
		names, err := c.cat.Names(ctx)
		must(t, err)
		if !slices.Equal(names, c.want) {
			t.Errorf("names %q, want %q", names, c.want)
		}
	}
}
