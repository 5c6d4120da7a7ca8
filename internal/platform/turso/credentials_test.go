package turso_test

import (
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/platform/platformtest"
	"github.com/tenantry/tenantry/internal/platform/sqld/sqldtest"
	"github.com/tenantry/tenantry/internal/platform/turso"
	"github.com/tenantry/tenantry/internal/platform/turso/tursotest"
)

// TestCredentials: each credential is a token minted for its one
// database with the access and expiration asked for, never Tenantry's
// cached group token, and it reaches no other database.
func TestCredentials(t *testing.T) {
	sq := sqldtest.Start(t, sqldtest.Options{})
	p, s := start(t, sq, tursotest.Options{}, nil)
	mustCreate(t, p, "shop-a", `CREATE TABLE t(v)`)
	mustCreate(t, p, "shop-b", `CREATE TABLE t(v)`)
	before := s.TokensMintedFor("database/shop-a")
	c, err := p.Credentials(ctx(t), "shop-a", platform.CredentialRequest{ReadOnly: true, TTL: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Credentials(ctx(t), "shop-a", platform.CredentialRequest{ReadOnly: true, TTL: 90 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if c.URL != "libsql://"+s.Hostname("shop-a") || c.Namespace != "" || c.Token == "" {
		t.Fatalf("credential %+v", c)
	}
	if n := s.TokensMintedFor("database/shop-a") - before; n != 2 {
		t.Fatalf("two credentials minted %d database tokens", n)
	}
	var asked url.Values
	for _, r := range s.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/databases/shop-a/auth/tokens") {
			asked, _ = url.ParseQuery(r.Query)
		}
	}
	if asked.Get("authorization") != "read-only" || asked.Get("expiration") != "2m" {
		t.Fatalf("token asked for with %v; want read-only, 2m (90 s rounded up to a minute)", asked)
	}
	if time.Until(c.ExpiresAt) > 2*time.Minute+time.Second || time.Until(c.ExpiresAt) < time.Minute {
		t.Fatalf("expires at %s, in %s", c.ExpiresAt, time.Until(c.ExpiresAt))
	}

	rw, err := p.Credentials(ctx(t), "shop-a", platform.CredentialRequest{TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// Another database's host name with shop-a's token: refused.
	other := rw
	other.URL = "libsql://" + s.Hostname("shop-b")
	db := platformtest.Dial(t, other, sq.URL)
	if _, err := db.ExecContext(ctx(t), `INSERT INTO t VALUES (1)`); err == nil {
		t.Fatal("a credential of shop-a wrote to shop-b")
	}
	if got := values(t, p, "shop-b", `SELECT count(*) FROM t`); got[0] != "0" {
		t.Fatalf("shop-b has %s rows", got[0])
	}
}

// TestCredentialWithoutExpiry: a token Turso says never expires is not
// what was asked for, and is not handed out.
func TestCredentialWithoutExpiry(t *testing.T) {
	sq := sqldtest.Start(t, sqldtest.Options{})
	s := tursotest.New(t, sq, tursotest.Options{})
	// A Turso that ignores the expiration asked for.
	target, _ := url.Parse(s.URL)
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		q := r.Out.URL.Query()
		if q.Has("expiration") {
			q.Set("expiration", "never")
			r.Out.URL.RawQuery = q.Encode()
		}
	}}
	front := httptest.NewServer(rp)
	t.Cleanup(front.Close)
	p, err := turso.New(turso.Options{Org: s.Org, Token: s.Token, APIURL: front.URL, DataProxy: sq.URL, TempDir: t.TempDir(), ReadyPoll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, p, "forever")
	c, err := p.Credentials(ctx(t), "forever", platform.CredentialRequest{TTL: time.Hour})
	if fleet.ErrorCode(err) != fleet.EUNAVAILABLE || c != (platform.Credential{}) || !strings.Contains(err.Error(), "expires") {
		t.Fatalf("a never-expiring token: %+v, %v", c, err)
	}
}
