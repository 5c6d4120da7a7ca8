package web

import (
	"testing"

	"github.com/tenantry/tenantry/internal/paths"
)

// TestBelow: a route joins its group relative to the group's prefix, and
// one outside the group is refused when the server is built, not routed
// under a doubled prefix.
func TestBelow(t *testing.T) {
	if got := below(paths.Users, paths.UserRoleRoute); got != "/:id/role" {
		t.Errorf("below = %q", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("a route outside its group was taken")
		}
	}()
	below(paths.Users, paths.TokenRevokeRoute)
}
