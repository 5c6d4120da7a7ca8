package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
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

// FuzzValidateName checks the name rule against a byte-by-byte reading
// of it (a DNS label): accepted exactly when it is one, and an accepted
// name is safe as a file name, a URL path segment and a namespace.
// Refusals are invalid-input errors with a readable, bounded message.
func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"store-1", "../x", "a-", strings.Repeat("a", 64), "é", "a\nb", "a\x00", "A", "-", "0", "a--b", "..", "%2e%2e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := fleet.ValidateName(s)
		label := len(s) >= 1 && len(s) <= fleet.MaxNameLen && s[0] != '-' && s[len(s)-1] != '-'
		for i := 0; i < len(s) && label; i++ {
			c := s[i]
			label = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
		}
		if (err == nil) != label {
			t.Fatalf("ValidateName(%q) = %v, but it is a DNS label: %v", s, err, label)
		}
		if err == nil {
			if filepath.Base(s) != s || url.PathEscape(s) != s || strings.Contains(s, "..") {
				t.Fatalf("accepted %q, unsafe as a path", s)
			}
			return
		}
		msg := fleet.ErrorMessage(err)
		if fleet.ErrorCode(err) != fleet.EINVALID || !strings.HasPrefix(msg, "Tenant name") || len(msg) > 400 {
			t.Fatalf("ValidateName(%q): %q (%s)", s, msg, fleet.ErrorCode(err))
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

// TestWrapKeepsTheCause: a classified error says its own message and
// code, while errors.Is and errors.As still reach what caused it.
func TestWrapKeepsTheCause(t *testing.T) {
	cause := &os.PathError{Op: "open", Path: "/secret/path", Err: context.DeadlineExceeded}
	err := fmt.Errorf("read: %w", fleet.Wrap(fleet.EUNAVAILABLE, cause, "Timed out after %s.", "5s"))
	if fleet.ErrorCode(err) != fleet.EUNAVAILABLE || fleet.ErrorMessage(err) != "Timed out after 5s." {
		t.Fatalf("%q %q", fleet.ErrorCode(err), fleet.ErrorMessage(err))
	}
	if err.Error() != "read: Timed out after 5s." {
		t.Fatalf("the cause shows in the message: %q", err)
	}
	var pe *os.PathError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &pe) || pe != cause {
		t.Fatalf("the cause is lost: %v", err)
	}
	if fleet.Errorf(fleet.EINVALID, "No cause.").Unwrap() != nil {
		t.Fatal("Errorf has a cause")
	}
}
