package lifecycle_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/lifecycle"
	"github.com/tenantry/tenantry/internal/platform"
	"github.com/tenantry/tenantry/internal/platform/sqld"
	"github.com/tenantry/tenantry/internal/platform/sqld/sqldtest"
)

func credentialEntries(t *testing.T, db *central.DB) []fleet.AuditEntry {
	t.Helper()
	es, err := db.AuditLog(context.Background(), central.AuditFilter{Action: lifecycle.ActionCredentials})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestCredentialsAudited: a credential for a ready tenant is handed out
// and recorded in one audit entry, and its token, a real sqld token, is
// in no audit entry and no log line.
func TestCredentialsAudited(t *testing.T) {
	srv := sqldtest.Start(t, sqldtest.Options{})
	db, err := central.Open(context.Background(), "file:"+filepath.Join(t.TempDir(), "central.db"), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p, err := sqld.New(sqld.Options{URL: srv.URL, AdminURL: srv.AdminURL, SigningKey: srv.Key, Catalog: db.Catalog("sqld"),
		PublicURL: "https://{namespace}.db.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	runner := jobs.NewRunner(db, log)
	life := lifecycle.New(db, p, runner, log)
	if _, err := life.Create(t.Context(), "tester", "store-1"); err != nil {
		t.Fatal(err)
	}
	if err := runner.RunPending(t.Context()); err != nil {
		t.Fatal(err)
	}

	c, err := life.Credentials(t.Context(), "app@example.com", "store-1", platform.CredentialRequest{TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if c.Token == "" || c.URL != "https://store-1.db.example.com" || c.Namespace != "store-1" {
		t.Fatalf("credential %+v", c)
	}
	es := credentialEntries(t, db)
	if len(es) != 1 {
		t.Fatalf("%d audit entries, want 1: %+v", len(es), es)
	}
	e := es[0]
	if e.Actor != "app@example.com" || e.Tenant != "store-1" || e.Outcome != "ok" || !strings.HasPrefix(e.Detail, "read-write for 1h, until ") {
		t.Fatalf("audit entry %+v", e)
	}
	all, err := db.AuditLog(t.Context(), central.AuditFilter{Limit: central.MaxAuditLimit})
	if err != nil {
		t.Fatal(err)
	}
	// The signature alone is enough to use nothing, but it is the part
	// that is never anywhere but in the token.
	sig := c.Token[strings.LastIndexByte(c.Token, '.')+1:]
	for _, e := range all {
		if strings.Contains(e.Detail+e.Error, sig) {
			t.Fatalf("the token is in the audit log: %+v", e)
		}
	}
	if strings.Contains(logs.String(), sig) {
		t.Fatalf("the token is in the log:\n%s", logs.String())
	}
}

// TestCredentialsRefused: an unknown tenant, one that is not ready, an
// invalid name or TTL are refused with their codes, and each refusal is
// audited once.
func TestCredentialsRefused(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if _, err := e.life.Create(ctx, "tester", "store-1"); err != nil {
		t.Fatal(err)
	}
	e.run()
	if _, err := e.life.Credentials(ctx, "app", "store-1", platform.CredentialRequest{ReadOnly: true, TTL: 5 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	// Being deleted: its file is still there, but it gets no credential.
	if _, err := e.life.Delete(ctx, "tester", "store-1"); err != nil {
		t.Fatal(err)
	}
	// Being made: not ready either.
	if _, err := e.life.Create(ctx, "tester", "store-2"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		r      platform.CredentialRequest
		code   string
		detail string
	}{
		{"store-1", platform.CredentialRequest{TTL: time.Hour}, fleet.ECONFLICT, "read-write for 1h"},
		{"store-2", platform.CredentialRequest{TTL: time.Hour}, fleet.ECONFLICT, "read-write for 1h"},
		{"nowhere", platform.CredentialRequest{ReadOnly: true, TTL: time.Hour}, fleet.ENOTFOUND, "read-only for 1h"},
		{"../x", platform.CredentialRequest{TTL: time.Hour}, fleet.EINVALID, "read-write for 1h"},
		{"store-3", platform.CredentialRequest{TTL: 48 * time.Hour}, fleet.EINVALID, "read-write for 48h"},
	} {
		before := len(credentialEntries(t, e.db))
		c, err := e.life.Credentials(ctx, "app", tc.name, tc.r)
		if fleet.ErrorCode(err) != tc.code || c != (platform.Credential{}) {
			t.Fatalf("%s %+v: %+v, %v; want code %s", tc.name, tc.r, c, err, tc.code)
		}
		es := credentialEntries(t, e.db)
		if len(es) != before+1 {
			t.Fatalf("%s: %d audit entries written, want 1", tc.name, len(es)-before)
		}
		if got := es[0]; got.Outcome != "error" || got.Detail != tc.detail || got.Error != fleet.ErrorMessage(err) || got.Actor != "app" {
			t.Fatalf("%s: audit entry %+v", tc.name, got)
		}
		if tc.code == fleet.ECONFLICT && !strings.Contains(err.Error(), "ready tenants only") {
			t.Fatalf("%s: a not-ready refusal says %q", tc.name, err)
		}
	}
}
