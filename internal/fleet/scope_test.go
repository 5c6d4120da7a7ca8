package fleet_test

import (
	"encoding/json"
	"testing"

	"github.com/tenantry/tenantry/internal/fleet"
)

// TestScopeText: a scope's text form says what it picks and reads back
// as the same tenants; anything else is refused.
func TestScopeText(t *testing.T) {
	for _, tc := range []struct {
		sc   fleet.Scope
		text string
		back fleet.Scope
	}{
		{fleet.Scope{}, "all tenants", fleet.Scope{}},
		{fleet.Scope{Pattern: " shop-* "}, "pattern shop-*", fleet.Scope{Pattern: "shop-*"}},
		{fleet.Scope{Pattern: "list x"}, "pattern list x", fleet.Scope{Pattern: "list x"}},
		{fleet.Scope{List: "a,b\nc"}, "list a, b, c", fleet.Scope{List: "a, b, c"}},
		{fleet.Scope{List: "  "}, "all tenants", fleet.Scope{}},
	} {
		if got := tc.sc.String(); got != tc.text {
			t.Errorf("%+v says %q, want %q", tc.sc, got, tc.text)
		}
		back, err := fleet.ParseScope(tc.text)
		if err != nil || back != tc.back {
			t.Errorf("ParseScope(%q) = %+v, %v; want %+v", tc.text, back, err, tc.back)
		}
		b, err := json.Marshal(map[string]fleet.Scope{"scope": tc.sc})
		var got map[string]fleet.Scope
		if err != nil || string(b) != `{"scope":"`+tc.text+`"}` || json.Unmarshal(b, &got) != nil || got["scope"] != tc.back {
			t.Errorf("%+v as JSON: %s %v, back %+v", tc.sc, b, err, got)
		}
	}
	for _, s := range []string{"", "all", "pattern", "everything"} {
		if _, err := fleet.ParseScope(s); fleet.ErrorCode(err) != fleet.EINVALID {
			t.Errorf("ParseScope(%q): %v", s, err)
		}
	}
}
