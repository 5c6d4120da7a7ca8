package sqld_test

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/platform/platformtest"
	"github.com/tenantry/tenantry/internal/platform/sqld"
	"github.com/tenantry/tenantry/internal/platform/sqld/sqldtest"
	"github.com/tenantry/tenantry/internal/tenantdb"
)

// reach is what a token does to a namespace when sent the way an
// application sends it: to ns's public host name, through the test's
// sqld standing in for the TLS proxy.
type reach struct{ read, write bool }

func try(t *testing.T, srv *sqldtest.Server, token, ns string, headers ...string) reach {
	t.Helper()
	r := tenantdb.Remote{URL: strings.Replace(publicURL, sqld.NamespacePlaceholder, ns, 1), Token: token, Proxy: srv.URL}
	if len(headers) > 0 {
		r.Namespace = headers[0] // x-namespace-bin, which sqld prefers to the Host
	}
	open := func() *sql.DB {
		db, err := tenantdb.OpenRemote(r)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	var n int
	got := reach{read: open().QueryRowContext(t.Context(), `SELECT count(*) FROM t`).Scan(&n) == nil}
	_, err := open().ExecContext(t.Context(), `INSERT INTO t(v) VALUES ('by `+ns+`')`)
	got.write = err == nil
	return got
}

func twoTenants(t *testing.T, p *sqld.Platform) {
	t.Helper()
	for _, ns := range []string{"tenant-a", "tenant-b"} {
		if _, err := p.Create(t.Context(), ns); err != nil {
			t.Fatal(err)
		}
		db, err := p.Open(t.Context(), ns)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(t.Context(), `CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)`); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
}

// TestSqldScopeClaims shows, against the real sqld, which claims of a
// token scope it to a namespace in libsql-server 0.24 (see
// libsql-server/src/auth: user_auth_strategies/jwt.rs, authorized.rs):
// "p" with "rw"/"ro" lists of namespaces, or the legacy "id" with "a";
// "p" wins when both are there; a token without them reaches everything;
// "exp" past (beyond sqld's 60 s of leeway) is refused.
func TestSqldScopeClaims(t *testing.T) {
	srv := sqldtest.Start(t, sqldtest.Options{})
	twoTenants(t, newPlatform(t, srv, false))
	past := time.Now().Add(-10 * time.Minute).Unix()
	soon := time.Now().Add(10 * time.Minute).Unix()
	for _, tc := range []struct {
		name   string
		claims map[string]any
		a, b   reach
	}{
		{"p rw", map[string]any{"p": map[string]any{"rw": map[string]any{"ns": []string{"tenant-a"}}}, "exp": soon}, reach{true, true}, reach{}},
		{"p ro", map[string]any{"p": map[string]any{"ro": map[string]any{"ns": []string{"tenant-a"}}}, "exp": soon}, reach{true, false}, reach{}},
		{"legacy rw", map[string]any{"id": "tenant-a", "a": "rw", "exp": soon}, reach{true, true}, reach{}},
		{"legacy ro", map[string]any{"id": "tenant-a", "a": "ro", "exp": soon}, reach{true, false}, reach{}},
		{"p over legacy", map[string]any{"p": map[string]any{"ro": map[string]any{"ns": []string{"tenant-a"}}}, "id": "tenant-b", "a": "rw"}, reach{true, false}, reach{}},
		{"no scope", map[string]any{"exp": soon}, reach{true, true}, reach{true, true}},
		{"expired", map[string]any{"p": map[string]any{"rw": map[string]any{"ns": []string{"tenant-a"}}}, "exp": past}, reach{}, reach{}},
	} {
		tok := srv.Token(t, tc.claims)
		if got := try(t, srv, tok, "tenant-a"); got != tc.a {
			t.Errorf("%s: on its namespace %+v, want %+v", tc.name, got, tc.a)
		}
		if got := try(t, srv, tok, "tenant-b"); got != tc.b {
			t.Errorf("%s: on another namespace %+v, want %+v", tc.name, got, tc.b)
		}
	}
}

// TestCredentialScope: the credentials Tenantry hands out reach their
// namespace with the access asked for and no other namespace, by host
// name or by header, and stop working when they expire.
func TestCredentialScope(t *testing.T) {
	srv := sqldtest.Start(t, sqldtest.Options{})
	p := newPlatform(t, srv, false)
	twoTenants(t, p)
	rw, err := p.Credentials(t.Context(), "tenant-a", platform.CredentialRequest{TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ro, err := p.Credentials(t.Context(), "tenant-a", platform.CredentialRequest{ReadOnly: true, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if rw.URL != "http://tenant-a.db.test" || rw.Namespace != "tenant-a" || rw.Token == "" {
		t.Fatalf("credential %+v", rw)
	}
	for _, tc := range []struct {
		name string
		c    platform.Credential
		want reach
	}{{"read-write", rw, reach{true, true}}, {"read-only", ro, reach{true, false}}} {
		if got := try(t, srv, tc.c.Token, "tenant-a"); got != tc.want {
			t.Errorf("%s credential on its tenant: %+v, want %+v", tc.name, got, tc.want)
		}
		if got := try(t, srv, tc.c.Token, "tenant-b"); got != (reach{}) {
			t.Errorf("%s credential reaches another tenant by host name: %+v", tc.name, got)
		}
		if got := try(t, srv, tc.c.Token, "tenant-a", "tenant-b"); got != (reach{}) {
			t.Errorf("%s credential reaches another tenant by x-namespace-bin: %+v", tc.name, got)
		}
	}
	// DDL is a write: a read-only credential cannot make a table.
	db := platformtest.Dial(t, ro, srv.URL)
	if _, err := db.ExecContext(t.Context(), `CREATE TABLE u(x)`); err == nil {
		t.Fatal("a read-only credential made a table")
	}
	var n int
	b, _ := p.Open(t.Context(), "tenant-b")
	defer b.Close()
	if err := b.QueryRowContext(t.Context(), `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("tenant-b has %d rows, %v: a credential of tenant-a wrote there", n, err)
	}

	// A credential made an hour and more ago, for an hour: expired.
	clock := sqld.Options{URL: srv.URL, AdminURL: srv.AdminURL, SigningKey: srv.Key, Catalog: mustCatalog(t), PublicURL: publicURL,
		Now: func() time.Time { return time.Now().Add(-time.Hour - 2*time.Minute) }}
	old, err := sqld.New(clock)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := old.Credentials(t.Context(), "tenant-a", platform.CredentialRequest{TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !stale.ExpiresAt.Before(time.Now()) {
		t.Fatalf("expires at %s", stale.ExpiresAt)
	}
	if got := try(t, srv, stale.Token, "tenant-a"); got != (reach{}) {
		t.Fatalf("an expired credential still works: %+v", got)
	}
}

// TestCredentialRefusals: sqld credentials are refused, saying what to
// set, when they could not be scoped or would not reach their namespace.
func TestCredentialRefusals(t *testing.T) {
	srv := sqldtest.Start(t, sqldtest.Options{})
	p := newPlatform(t, srv, false)
	if _, err := p.Create(t.Context(), "present"); err != nil {
		t.Fatal(err)
	}
	req := platform.CredentialRequest{TTL: time.Hour}
	check := func(what string, o sqld.Options, want string) {
		t.Helper()
		q, err := sqld.New(o)
		if err != nil {
			t.Fatal(err)
		}
		c, err := q.Credentials(t.Context(), "present", req)
		if fleet.ErrorCode(err) != fleet.EUNAVAILABLE || !strings.Contains(err.Error(), want) || c != (platform.Credential{}) {
			t.Fatalf("%s: %+v, %v; want a refusal that mentions %s", what, c, err, want)
		}
	}
	base := sqld.Options{URL: srv.URL, AdminURL: srv.AdminURL, SigningKey: srv.Key, Catalog: mustCatalog(t), PublicURL: publicURL}
	noURL := base
	noURL.PublicURL = ""
	check("no public URL", noURL, "TENANTRY_SQLD_PUBLIC_URL")
	noKey := base
	noKey.SigningKey = nil
	check("no signing key", noKey, "TENANTRY_SQLD_JWT_KEY_FILE")
	// A key, but a sqld that checks no tokens: any token reaches all.
	open := sqldtest.Start(t, sqldtest.Options{NoAuth: true})
	lax := sqld.Options{URL: open.URL, AdminURL: open.AdminURL, SigningKey: srv.Key, Catalog: mustCatalog(t), PublicURL: publicURL}
	lp, err := sqld.New(lax)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lp.Create(t.Context(), "present"); err != nil {
		t.Fatal(err)
	}
	check("sqld without auth", lax, "every namespace")
}

func TestCheckPublicURL(t *testing.T) {
	for _, ok := range []string{"https://{namespace}.db.example.com", "libsql://{namespace}.db.example.com", "http://{namespace}.localhost:8080", "wss://{namespace}.example.com/"} {
		if err := sqld.CheckPublicURL(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for tmpl, want := range map[string]string{
		"https://db.example.com":                      "{namespace}",
		"https://db.example.com/{namespace}":          "first label",
		"https://x-{namespace}.db.example.com":        "first label",
		"https://{namespace}":                         "first label",
		"https://{namespace}.{namespace}.example.com": "once",
		"ftp://{namespace}.example.com":               "https://",
		"https://u:p@{namespace}.example.com":         "credentials",
		"https://{namespace}.example.com?tls=0":       "query",
		"{namespace}.example.com":                     "https://",
	} {
		err := sqld.CheckPublicURL(tmpl)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "TENANTRY_SQLD_PUBLIC_URL") {
			t.Errorf("%s: %v, want a refusal that mentions %s", tmpl, err, want)
		}
	}
	if _, err := sqld.New(sqld.Options{URL: "http://127.0.0.1:1", AdminURL: "http://127.0.0.1:2", Catalog: mustCatalog(t), PublicURL: "https://db.example.com"}); err == nil {
		t.Fatal("New took a public URL without {namespace}")
	}
}
