package central_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

func TestCreateAPIToken(t *testing.T) {
	db, clk := openDB(t)
	ctx := context.Background()
	_, _, err := db.CreateAPIToken(ctx, "taken", fleet.RoleViewer, "ada", 0)
	must(t, err)
	_, _, err = db.CreateAPIToken(ctx, "revoked", fleet.RoleViewer, "ada", 0)
	must(t, err)
	_, err = db.RevokeAPIToken(ctx, "revoked", "ada")
	must(t, err)
	for _, c := range []struct {
		name, role string
		lifetime   time.Duration
		want       string
	}{
		{"ci", fleet.RoleAdmin, 0, ""},
		{"ci.deploy-2", fleet.RoleViewer, 90 * 24 * time.Hour, ""},
		{"longest", fleet.RoleViewer, fleet.MaxTokenLifetime, ""},
		{"revoked", fleet.RoleViewer, 0, ""}, // a revoked token's name is free again
		{"taken", fleet.RoleViewer, 0, fleet.ECONFLICT},
		{"too-long-lived", fleet.RoleViewer, fleet.MaxTokenLifetime + time.Second, fleet.EINVALID},
		{"negative", fleet.RoleViewer, -time.Second, fleet.EINVALID},
		{"ada@example.com", fleet.RoleViewer, 0, fleet.EINVALID},
		{"", fleet.RoleViewer, 0, fleet.EINVALID},
		{"ci2", "owner", 0, fleet.EINVALID},
	} {
		secret, tok, err := db.CreateAPIToken(ctx, c.name, c.role, "ada", c.lifetime)
		wantCode(t, err, c.want)
		if err != nil {
			continue
		}
		if !strings.HasPrefix(secret, central.TokenPrefix) || !strings.HasPrefix(secret, tok.Prefix) || len(tok.Prefix) != len(central.TokenPrefix)+6 {
			t.Errorf("%s: secret %q, prefix %q", c.name, secret, tok.Prefix)
		}
		wantExpiry := time.Time{}
		if c.lifetime > 0 {
			wantExpiry = clk.Now().Add(c.lifetime)
		}
		if !tok.ExpiresAt.Equal(wantExpiry) || tok.Role != c.role || tok.CreatedBy != "ada" {
			t.Errorf("%s: token %+v, want expiry %v", c.name, tok, wantExpiry)
		}
		got, err := db.APITokenAuth(ctx, secret)
		must(t, err)
		if got.ID != tok.ID {
			t.Errorf("%s: the secret authenticates token %d, want %d", c.name, got.ID, tok.ID)
		}
	}
	if n := count(t, db, `SELECT count(*) FROM api_tokens WHERE token_hash LIKE 'tnt_%'`); n != 0 {
		t.Errorf("%d secrets stored in the clear", n)
	}
}

func TestAPITokensLiveFirstNewestFirst(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	if ts, err := db.APITokens(ctx); err != nil || ts == nil || len(ts) != 0 {
		t.Fatalf("no tokens: %#v, %v; want an empty list (a JSON [])", ts, err)
	}
	for _, n := range []string{"a", "b", "c", "d"} {
		_, _, err := db.CreateAPIToken(ctx, n, fleet.RoleViewer, "ada", 0)
		must(t, err)
	}
	for _, n := range []string{"c", "a"} {
		_, err := db.RevokeAPIToken(ctx, n, "bob")
		must(t, err)
	}
	ts, err := db.APITokens(ctx)
	must(t, err)
	var got []string
	for _, tok := range ts {
		got = append(got, tok.Name)
	}
	if g := strings.Join(got, " "); g != "d b c a" {
		t.Errorf("listed %q, want live ones then revoked, newest first", g)
	}
}

func TestRevokeAPIToken(t *testing.T) {
	db, clk := openDB(t)
	ctx := context.Background()
	secret, _, err := db.CreateAPIToken(ctx, "ci", fleet.RoleAdmin, "ada", 0)
	must(t, err)
	clk.Add(time.Hour)
	tok, err := db.RevokeAPIToken(ctx, "ci", "bob")
	must(t, err)
	if tok.RevokedBy != "bob" || !tok.RevokedAt.Equal(clk.Now()) {
		t.Errorf("revoked %+v", tok)
	}
	_, err = db.APITokenAuth(ctx, secret)
	wantCode(t, err, fleet.EUNAUTHORIZED)
	if !strings.Contains(err.Error(), "revoked") {
		t.Errorf("%q does not say the token was revoked", err)
	}
	for _, c := range []struct{ name, want string }{
		{"ci", fleet.ENOTFOUND}, // already revoked
		{"never", fleet.ENOTFOUND},
		{"Not A Name", fleet.EINVALID},
	} {
		_, err := db.RevokeAPIToken(ctx, c.name, "bob")
		wantCode(t, err, c.want)
	}
}

func TestAPITokenAuth(t *testing.T) {
	for _, c := range []struct {
		name   string
		secret func(secret string) string
		after  time.Duration
		says   string // "" for accepted
	}{
		{"valid", nil, 0, ""},
		{"a moment before expiry", nil, 24*time.Hour - time.Millisecond, ""},
		{"at expiry", nil, 24 * time.Hour, "expired"},
		{"not a token", func(string) string { return "Bearer xyz" }, 0, "not a Tenantry API token"},
		{"unknown", func(s string) string { return s + "x" }, 0, "Unknown API token"},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, clk := openDB(t)
			ctx := context.Background()
			secret, _, err := db.CreateAPIToken(ctx, "ci", fleet.RoleAdmin, "ada", 24*time.Hour)
			must(t, err)
			if c.secret != nil {
				secret = c.secret(secret)
			}
			clk.Add(c.after)
			tok, err := db.APITokenAuth(ctx, secret)
			if c.says == "" {
				if err != nil || tok.Name != "ci" {
					t.Fatalf("%+v, %v", tok, err)
				}
				return
			}
			wantCode(t, err, fleet.EUNAUTHORIZED)
			if !strings.Contains(err.Error(), c.says) {
				t.Errorf("%q does not say %q", err, c.says)
			}
		})
	}
}

// A token's last use is written at most once a minute.
func TestAPITokenLastUsed(t *testing.T) {
	db, clk := openDB(t)
	ctx := context.Background()
	secret, _, err := db.CreateAPIToken(ctx, "ci", fleet.RoleAdmin, "ada", 0)
	must(t, err)
	lastUsed := func() time.Time {
		ts, err := db.APITokens(ctx)
		must(t, err)
		return ts[0].LastUsedAt
	}
	for _, c := range []struct {
		step time.Duration
		want time.Time
	}{
		{0, start},
		{time.Minute, start},
		{time.Second, start.Add(61 * time.Second)},
	} {
		clk.Add(c.step)
		_, err := db.APITokenAuth(ctx, secret)
		must(t, err)
		if got := lastUsed(); !got.Equal(c.want) {
			t.Errorf("at %v: last used %v, want %v", clk.Now().Sub(start), got, c.want)
		}
	}
}

// Each token may make limit requests a minute; the count starts again
// with each minute.
func TestAPIRateHit(t *testing.T) {
	db, clk := openDB(t)
	ctx := context.Background()
	clk.Set(time.Date(2026, 3, 18, 10, 0, 45, 0, time.UTC))
	for i, want := range []bool{true, true, true, false, false} {
		ok, wait, err := db.APIRateHit(ctx, 1, 3)
		must(t, err)
		if ok != want || !ok && wait != 15*time.Second || ok && wait != 0 {
			t.Errorf("hit %d: ok %t, wait %v; want %t (15s to wait when refused)", i+1, ok, wait, want)
		}
	}
	if ok, _, _ := db.APIRateHit(ctx, 2, 3); !ok {
		t.Error("another token shares the first one's count")
	}
	clk.Add(15 * time.Second)
	if ok, _, _ := db.APIRateHit(ctx, 1, 3); !ok {
		t.Error("refused in a new minute")
	}
	if n := count(t, db, `SELECT count(*) FROM api_rate WHERE token_id = 1`); n != 1 {
		t.Errorf("%d minutes counted for token 1, want only the current one", n)
	}
}

func TestOnceJob(t *testing.T) {
	db, clk := openDB(t)
	ctx := context.Background()
	o := central.Once{Actor: "api:ci", Key: "k", Hash: "h"}
	j := &fleet.Job{Kind: fleet.JobCreate, Tenant: "shop"}
	must(t, db.ClaimTenantJob(ctx, &fleet.Tenant{Name: "shop", Status: fleet.StatusCreating, CreatedAt: start}, j, &o))
	for _, c := range []struct {
		name  string
		o     central.Once
		after time.Duration
		want  int64
		code  string
	}{
		{"the same request", o, 0, j.ID, ""},
		{"a new key", central.Once{Actor: o.Actor, Key: "k2", Hash: o.Hash}, 0, 0, ""},
		{"another actor's key", central.Once{Actor: "api:other", Key: o.Key, Hash: "x"}, 0, 0, ""},
		{"another request", central.Once{Actor: o.Actor, Key: o.Key, Hash: "x"}, 0, 0, fleet.EINVALID},
		{"a moment before the key expires", o, central.IdempotencyTTL - time.Millisecond, j.ID, ""},
		{"expired", central.Once{Actor: o.Actor, Key: o.Key, Hash: "x"}, central.IdempotencyTTL, 0, ""},
	} {
		clk.Set(start.Add(c.after))
		id, err := db.OnceJob(ctx, c.o)
		wantCode(t, err, c.code)
		if id != c.want {
			t.Errorf("%s: job %d, want %d", c.name, id, c.want)
		}
	}
}
