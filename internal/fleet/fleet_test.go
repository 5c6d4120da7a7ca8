package fleet_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/fleet"
)

func TestValidateName(t *testing.T) {
	valid := []string{"a", "0", "store-1", "a-b-c", strings.Repeat("x", 63), "9lives"}
	invalid := []string{"", "-", "-a", "a-", "A", "store_1", "a.b", "a/b", "../x", "..", "a b", "café", "ｓｔｏｒｅ",
		strings.Repeat("x", 64), "a\nb", "a\x00", "store-1 ", " store-1"}
	for _, n := range valid {
		if err := fleet.ValidateName(n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
	for _, n := range invalid {
		err := fleet.ValidateName(n)
		if fleet.ErrorCode(err) != fleet.EINVALID || !strings.Contains(fleet.ErrorMessage(err), "Tenant name") {
			t.Errorf("%q: %v", n, err)
		}
	}
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"store-1", "../x", "a-", strings.Repeat("a", 64), "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if fleet.ValidateName(s) != nil {
			return
		}
		if len(s) > 63 || strings.ContainsAny(s, "/\\.\x00 ") || strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-") || strings.ToLower(s) != s {
			t.Fatalf("accepted %q", s)
		}
	})
}

func TestErrorCodes(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", fleet.Errorf(fleet.ENOTFOUND, "Tenant %q not found.", "x"))
	if fleet.ErrorCode(err) != fleet.ENOTFOUND || fleet.ErrorMessage(err) != `Tenant "x" not found.` {
		t.Fatalf("%q %q", fleet.ErrorCode(err), fleet.ErrorMessage(err))
	}
	other := errors.New("disk on fire at /secret/path")
	if fleet.ErrorCode(other) != fleet.EINTERNAL || strings.Contains(fleet.ErrorMessage(other), "secret") {
		t.Fatal("internal errors must not leak their text")
	}
	if fleet.ErrorCode(nil) != "" {
		t.Fatal("nil has a code")
	}
}
