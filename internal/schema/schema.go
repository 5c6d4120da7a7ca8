// Package schema applies the store schema (migrations/tenant) to tenant
// databases with goose, and reads each tenant's version.
package schema

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"

	"github.com/pressly/goose/v3"
	"github.com/tenantry/tenantry/migrations"
)

// VersionTable is goose's table, kept in each tenant database.
const VersionTable = "goose_db_version"

// latest parses the migration file names ("00001_name.sql") once; they
// are embedded, so a bad name is a build defect.
var latest = sync.OnceValue(func() int64 {
	names, err := fs.Glob(migrations.Tenant(), "*.sql")
	if err != nil || len(names) == 0 {
		panic("no tenant migrations embedded")
	}
	var v int64
	for _, n := range names {
		num, _, _ := strings.Cut(n, "_")
		x, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			panic(fmt.Sprintf("tenant migration %s: bad version", n))
		}
		v = max(v, x)
	}
	return v
})

// Latest is the newest tenant schema version.
func Latest() int64 { return latest() }

// Migrate brings a tenant database to the latest version, each migration in
// its own transaction, and returns the version it is at.
func Migrate(ctx context.Context, db *sql.DB) (int64, error) {
	p, err := goose.NewProvider(goose.DialectTurso, db, migrations.Tenant())
	if err != nil {
		return 0, err
	}
	if _, err := p.Up(ctx); err != nil {
		return 0, fmt.Errorf("apply store schema: %w", err)
	}
	return Version(ctx, db)
}

// Version reads a tenant's schema version without writing anything: 0 when
// it has no goose table.
func Version(ctx context.Context, db *sql.DB) (int64, error) {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, VersionTable).Scan(&n); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	var v int64
	err := db.QueryRowContext(ctx, `SELECT coalesce(max(version_id), 0) FROM `+VersionTable+` WHERE is_applied`).Scan(&v)
	return v, err
}
