package platform_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
)

func TestParseCredentialRequest(t *testing.T) {
	for _, tc := range []struct {
		access, ttl string
		want        platform.CredentialRequest
	}{
		{"read-only", "15m", platform.CredentialRequest{ReadOnly: true, TTL: 15 * time.Minute}},
		{"read-write", "1h30m", platform.CredentialRequest{TTL: 90 * time.Minute}},
		{"read-write", "", platform.CredentialRequest{TTL: platform.DefaultCredentialTTL}},
		{"read-only", "24h", platform.CredentialRequest{ReadOnly: true, TTL: 24 * time.Hour}},
		{"read-only", "1m", platform.CredentialRequest{ReadOnly: true, TTL: time.Minute}},
	} {
		got, err := platform.ParseCredentialRequest(tc.access, tc.ttl)
		if err != nil || got != tc.want {
			t.Errorf("%q %q: %+v, %v; want %+v", tc.access, tc.ttl, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ access, ttl, want string }{
		{"", "1h", "read-only or read-write"},
		{"admin", "1h", "read-only or read-write"},
		{"READ-ONLY", "1h", "read-only or read-write"},
		{"read-only", "1d", "like 15m"},
		{"read-only", "soon", "like 15m"},
		{"read-only", "59s", "between 1m and 24h"},
		{"read-only", "24h1s", "between 1m and 24h"},
		{"read-only", "-1h", "between 1m and 24h"},
	} {
		_, err := platform.ParseCredentialRequest(tc.access, tc.ttl)
		if fleet.ErrorCode(err) != fleet.EINVALID || !strings.Contains(fleet.ErrorMessage(err), tc.want) {
			t.Errorf("%q %q: %v; want EINVALID saying %q", tc.access, tc.ttl, err, tc.want)
		}
	}
}

func TestFormatTTL(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Hour: "1h", 90 * time.Minute: "1h30m", time.Minute: "1m", 24 * time.Hour: "24h", 45 * time.Second: "45s", 0: "0s", 61 * time.Second: "1m1s"} {
		if got := platform.FormatTTL(d); got != want {
			t.Errorf("%s: %q, want %q", d, got, want)
		}
	}
}
