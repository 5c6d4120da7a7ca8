package tokens_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/tokens"
)

func open(t *testing.T) *central.DB {
	t.Helper()
	db, err := central.Open(context.Background(), "file:"+t.TempDir()+"/central.db", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestTokenServiceAudit: each create and revoke, done or refused, is one
// audit entry with name, role and expiry; a secret pasted into the name
// is not written down; nothing is made from bad input.
func TestTokenServiceAudit(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	svc := tokens.New(db)
	secret, tok, err := svc.Create(ctx, "ann@example.com", "deploy", fleet.RoleAdmin, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Now().Add(90 * 24 * time.Hour); tok.ExpiresAt.Sub(want).Abs() > time.Minute {
		t.Errorf("default expiry %s, want about %s", tok.ExpiresAt, want)
	}
	for _, bad := range [][3]string{{secret, "admin", "90d"}, {"ok", "owner", "90d"}, {"ok", "admin", "90 days"}} {
		if _, _, err := svc.Create(ctx, "ann@example.com", bad[0], bad[1], bad[2]); fleet.ErrorCode(err) != fleet.EINVALID {
			t.Errorf("create %q: %v, want invalid", bad, err)
		}
	}
	if _, err := svc.Revoke(ctx, "ann@example.com", "deploy"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Revoke(ctx, "ann@example.com", "deploy"); fleet.ErrorCode(err) != fleet.ENOTFOUND {
		t.Errorf("revoke twice: %v", err)
	}
	ts, _ := svc.List(ctx)
	if len(ts) != 1 || svc.Status(ts[0]) != tokens.StatusRevoked {
		t.Fatalf("tokens: %+v", ts)
	}
	es, err := db.AuditLog(ctx, central.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(es) - 1; i >= 0; i-- {
		e := es[i]
		got = append(got, e.Action+" "+e.Outcome)
		if strings.Contains(e.Detail+e.Error, secret[len(central.TokenPrefix):]) {
			t.Errorf("audit entry holds the secret: %+v", e)
		}
		if e.Actor != "ann@example.com" {
			t.Errorf("actor %q", e.Actor)
		}
	}
	want := "api_token.create ok,api_token.create error,api_token.create error,api_token.create error,api_token.revoke ok,api_token.revoke error"
	if strings.Join(got, ",") != want {
		t.Errorf("audit:\n%s\nwant\n%s", strings.Join(got, ","), want)
	}
	if d := es[len(es)-1].Detail; !strings.HasPrefix(d, "deploy: admin, expires ") {
		t.Errorf("create's detail %q", d)
	}
}

func TestStatus(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		tok  fleet.APIToken
		want string
	}{
		{fleet.APIToken{}, tokens.StatusLive},
		{fleet.APIToken{ExpiresAt: now.Add(time.Hour)}, tokens.StatusLive},
		{fleet.APIToken{ExpiresAt: now.Add(-time.Hour)}, tokens.StatusExpired},
		{fleet.APIToken{ExpiresAt: now.Add(-time.Hour), RevokedAt: now.Add(-2 * time.Hour)}, tokens.StatusRevoked},
	} {
		if got := tokens.Status(tc.tok, now); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.tok, got, tc.want)
		}
	}
}
