package platformtest

import (
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tursodatabase/libsql-client-go/libsql"
	_ "modernc.org/sqlite" // file: credentials open with the sqlite driver, as an application's would
)

// Dial opens a credential as a tenant's application would: its URL with
// its token, through proxy when not "" (see Options.DataProxy).
func Dial(t testing.TB, c platform.Credential, proxy string) *sql.DB {
	t.Helper()
	var opts []libsql.Option
	if c.Token != "" {
		opts = append(opts, libsql.WithAuthToken(c.Token))
	}
	if proxy != "" && !strings.HasPrefix(c.URL, "file:") {
		opts = append(opts, libsql.WithProxy(proxy))
	}
	conn, err := libsql.NewConnector(c.URL, opts...)
	if err != nil {
		t.Fatalf("dial %s: %v", c.URL, err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	return db
}

// testCredentials: a read-write credential reads and writes its tenant,
// a read-only one reads and cannot write, a token expires after the TTL
// asked for, and what cannot be honoured is refused.
func testCredentials(t *testing.T, p platform.Platform, o Options) {
	mustCreate(t, p, "creds")
	rows := 2
	for _, ro := range []bool{false, true} {
		r := platform.CredentialRequest{ReadOnly: ro, TTL: time.Hour}
		before := time.Now()
		c, err := p.Credentials(ctx(t), "creds", r)
		if err != nil {
			t.Fatalf("%s credential: %v", r.Access(), err)
		}
		after := time.Now()
		if c.URL == "" {
			t.Fatalf("%s credential without a URL: %+v", r.Access(), c)
		}
		if c.Token == "" != c.ExpiresAt.IsZero() {
			t.Fatalf("%s credential: a token must expire, and only a token: %+v", r.Access(), c)
		}
		// A token lives the TTL asked for: not less by more than the
		// second exp is counted in, not more by more than the minute
		// Turso rounds up to.
		if c.Token != "" && (c.ExpiresAt.Before(before.Add(r.TTL-time.Second)) || c.ExpiresAt.After(after.Add(r.TTL+time.Minute))) {
			t.Fatalf("%s credential asked for %s expires at %s (asked at %s)", r.Access(), r.TTL, c.ExpiresAt, before)
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), `"token"`) != (c.Token != "") || strings.Contains(string(b), `"expires_at"`) != !c.ExpiresAt.IsZero() {
			t.Fatalf("credential JSON %s", b)
		}

		proxy := ""
		if o.DataProxy != nil {
			proxy = o.DataProxy(p)
		}
		db := Dial(t, c, proxy)
		var n int
		if err := db.QueryRowContext(ctx(t), `SELECT count(*) FROM t`).Scan(&n); err != nil || n != rows {
			t.Fatalf("%s credential reads %d rows, %v; want %d", r.Access(), n, err, rows)
		}
		_, err = db.ExecContext(ctx(t), `INSERT INTO t(v) VALUES ('through a credential')`)
		if ro && err == nil {
			t.Fatalf("a read-only credential wrote")
		} else if !ro && err != nil {
			t.Fatalf("a read-write credential cannot write: %v", err)
		}
		if !ro {
			rows++
		}
		if n := count(t, p, "creds", "t"); n != rows {
			t.Fatalf("%s credential: the tenant has %d rows, want %d", r.Access(), n, rows)
		}
	}

	for _, ttl := range []time.Duration{0, -time.Hour, platform.MinCredentialTTL - time.Second, platform.MaxCredentialTTL + time.Second, 30 * 24 * time.Hour} {
		_, err := p.Credentials(ctx(t), "creds", platform.CredentialRequest{TTL: ttl})
		wantCode(t, err, fleet.EINVALID)
		if msg := fleet.ErrorMessage(err); !strings.Contains(msg, platform.FormatTTL(platform.MinCredentialTTL)) || !strings.Contains(msg, platform.FormatTTL(platform.MaxCredentialTTL)) {
			t.Fatalf("TTL %s refused without saying the bounds: %s", ttl, msg)
		}
	}
	for _, ttl := range []time.Duration{platform.MinCredentialTTL, platform.MaxCredentialTTL} {
		if _, err := p.Credentials(ctx(t), "creds", platform.CredentialRequest{ReadOnly: true, TTL: ttl}); err != nil {
			t.Fatalf("TTL %s, a bound, refused: %v", ttl, err)
		}
	}
	_, err := p.Credentials(ctx(t), "absent", platform.CredentialRequest{TTL: time.Hour})
	wantCode(t, err, fleet.ENOTFOUND)
	for _, n := range InvalidNames {
		_, err := p.Credentials(ctx(t), n, platform.CredentialRequest{TTL: time.Hour})
		wantCode(t, err, fleet.EINVALID)
	}
	if got := strings.Join(names(t, p), ","); got != "creds" {
		t.Fatalf("after credentials the platform lists %s", got)
	}
}
