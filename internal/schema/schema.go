// Package schema rolls the store schema (goose migrations, embedded from
// migrations/tenant or read from a directory) across tenant databases. Each
// tenant's version lives in the tenant database itself, in goose's table;
// the central registry mirrors it.
package schema

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/migrations"
	_ "modernc.org/sqlite" // checks run on an in-memory SQLite database
)

// VersionTable is goose's table, kept in each tenant database.
const VersionTable = "goose_db_version"

// dialect is goose's dialect for SQLite and libSQL alike.
const dialect = goose.DialectTurso

// Migration is one migration file.
type Migration struct {
	Version int64
	Name    string // file name, e.g. 00002_product_sku.sql
	SQL     string // the whole file
}

// Set is a tenant schema: goose migrations checked to apply cleanly, in
// order, to an empty database.
type Set struct {
	fsys       fs.FS
	source     string // where the files come from, for people
	migrations []Migration
	// baseline is the first migration's version, and baselineTables the
	// tables it creates: a database that holds them all but has no goose
	// table was made before goose (by plain SQLite) and is adopted at the
	// baseline version instead of failing on "table already exists".
	baseline       int64
	baselineTables []string
}

var embedded = sync.OnceValue(func() *Set {
	s, err := newSet(migrations.Tenant(), "built in (migrations/tenant)")
	if err != nil {
		panic(fmt.Sprintf("embedded tenant migrations: %v", err)) // a build defect
	}
	return s
})

// Embedded is the store schema built into Tenantry.
func Embedded() *Set { return embedded() }

// Load reads a schema from a directory of goose SQL migrations, the whole
// history from the first version. It refuses a directory whose migrations
// do not apply cleanly, in order, to an empty database.
func Load(dir string) (*Set, error) {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return nil, fleet.Errorf(fleet.EINVALID, "Tenant migrations directory %s cannot be read.", dir)
	}
	return newSet(os.DirFS(dir), dir)
}

func newSet(fsys fs.FS, source string) (*Set, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	s := &Set{fsys: fsys, source: source}
	for _, n := range names {
		num, _, ok := strings.Cut(n, "_")
		v, err := goose.NumericComponent(n)
		if !ok || err != nil || v < 1 || strings.TrimLeft(num, "0123456789") != "" {
			return nil, fleet.Errorf(fleet.EINVALID, "Migration %s: the name must be VERSION_name.sql, VERSION a positive number.", n)
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		s.migrations = append(s.migrations, Migration{Version: v, Name: path.Base(n), SQL: string(b)})
	}
	if len(s.migrations) == 0 {
		return nil, fleet.Errorf(fleet.EINVALID, "No migrations (*.sql) in %s.", source)
	}
	slices.SortFunc(s.migrations, func(a, b Migration) int { return cmp.Compare(a.Version, b.Version) })
	for i := 1; i < len(s.migrations); i++ {
		if s.migrations[i].Version == s.migrations[i-1].Version {
			return nil, fleet.Errorf(fleet.EINVALID, "Migrations %s and %s have the same version.", s.migrations[i-1].Name, s.migrations[i].Name)
		}
	}
	s.baseline = s.migrations[0].Version
	if err := s.check(); err != nil {
		return nil, err
	}
	return s, nil
}

// check applies every migration to an empty in-memory database, so that a
// broken file is refused before any tenant sees it, and learns the tables
// the first migration creates.
func (s *Set) check() error {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // one in-memory database
	p, err := s.provider(db)
	if err != nil {
		return fleet.Errorf(fleet.EINVALID, "Tenant migrations in %s: %v.", s.source, err)
	}
	if _, err := p.UpTo(ctx, s.baseline); err != nil {
		return fleet.Errorf(fleet.EINVALID, "Tenant migrations in %s do not apply to an empty database: %s.", s.source, reason(err))
	}
	tables, err := userTables(ctx, db)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if t != VersionTable {
			s.baselineTables = append(s.baselineTables, t)
		}
	}
	if len(s.baselineTables) == 0 {
		return fleet.Errorf(fleet.EINVALID, "The first tenant migration in %s creates no table.", s.source)
	}
	if _, err := p.Up(ctx); err != nil {
		return fleet.Errorf(fleet.EINVALID, "Tenant migrations in %s do not apply to an empty database: %s.", s.source, reason(err))
	}
	return nil
}

func (s *Set) provider(db *sql.DB) (*goose.Provider, error) {
	return goose.NewProvider(dialect, db, s.fsys, goose.WithDisableGlobalRegistry(true))
}

// Source says where the migrations come from.
func (s *Set) Source() string { return s.source }

// Latest is the newest version.
func (s *Set) Latest() int64 { return s.migrations[len(s.migrations)-1].Version }

// Name is a version's file name, or "" for an unknown version.
func (s *Set) Name(v int64) string {
	if i, ok := slices.BinarySearchFunc(s.migrations, v, func(m Migration, v int64) int { return cmp.Compare(m.Version, v) }); ok {
		return s.migrations[i].Name
	}
	return ""
}

// After are the migrations newer than version v, oldest first.
func (s *Set) After(v int64) []Migration {
	i, _ := slices.BinarySearchFunc(s.migrations, v+1, func(m Migration, v int64) int { return cmp.Compare(m.Version, v) })
	return s.migrations[i:]
}

// Applied is one row of a tenant's goose table.
type Applied struct {
	Version int64
	At      string // goose's timestamp, UTC "YYYY-MM-DD HH:MM:SS"
}

// State is what a tenant database says of its schema.
type State struct {
	Versioned bool      // it has goose's table
	Version   int64     // highest applied version; 0 if none
	Applied   []Applied // oldest first, without goose's version 0
	// Adoptable: no migration recorded, but every table of the baseline
	// migration there: it is baselined at that version before migrating.
	Adoptable bool
}

// Inspect reads a tenant's schema state without writing anything.
func (s *Set) Inspect(ctx context.Context, db *sql.DB) (State, error) {
	var st State
	tables, err := userTables(ctx, db)
	if err != nil {
		return st, err
	}
	if slices.Contains(tables, VersionTable) {
		st.Versioned = true
		if st.Applied, err = applied(ctx, db); err != nil {
			return st, err
		}
		for _, a := range st.Applied {
			st.Version = max(st.Version, a.Version)
		}
		if st.Version > 0 {
			return st, nil
		}
	}
	for _, t := range s.baselineTables {
		if !slices.Contains(tables, t) {
			// Empty, or only part of the schema: migrate from the start
			// (the built-in first migration creates what is missing).
			return st, nil
		}
	}
	st.Adoptable = true
	return st, nil
}

// applied reads goose's table: the applied versions, oldest first.
func applied(ctx context.Context, db *sql.DB) ([]Applied, error) {
	rows, err := db.QueryContext(ctx, `SELECT version_id, coalesce(tstamp, '') FROM `+VersionTable+` WHERE is_applied AND version_id > 0 ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Applied
	for rows.Next() {
		var a Applied
		if err := rows.Scan(&a.Version, &a.At); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Pending are the migrations up to target that st has not applied.
func (s *Set) Pending(st State, target int64) []Migration {
	var out []Migration
	for _, m := range s.migrations {
		if m.Version > target {
			break
		}
		if st.Adoptable && m.Version <= s.baseline {
			continue
		}
		if !slices.ContainsFunc(st.Applied, func(a Applied) bool { return a.Version == m.Version }) {
			out = append(out, m)
		}
	}
	return out
}

// Baseline is the version an adoptable database is baselined at.
func (s *Set) Baseline() int64 { return s.baseline }

// Outcome is what Apply did to one tenant.
type Outcome struct {
	Before    int64   // version before; -1 if the database could not be read
	After     int64   // version after (the last applied, if one failed); -1 likewise
	Baselined bool    // adopted at the baseline version first
	Applied   []int64 // versions applied, in order
}

// Apply brings a tenant database to target: baselines it if it was made
// without goose, then applies each pending migration in its own
// transaction with goose. A failing migration rolls back alone, leaving
// the tenant at the version before it; its error is returned with the
// outcome so far.
func (s *Set) Apply(ctx context.Context, db *sql.DB, target int64) (Outcome, error) {
	st, err := s.Inspect(ctx, db)
	if err != nil {
		return Outcome{Before: -1, After: -1}, err
	}
	o := Outcome{Before: st.Version, After: st.Version}
	if st.Adoptable {
		if err := s.baselineAt(ctx, db, st.Versioned); err != nil {
			return o, fmt.Errorf("baseline at version %d: %w", s.baseline, err)
		}
		o.Baselined, o.After = true, s.baseline
		st = State{Versioned: true, Version: s.baseline, Applied: []Applied{{Version: s.baseline}}}
	}
	if len(s.Pending(st, target)) == 0 {
		return o, nil
	}
	p, err := s.provider(db)
	if err != nil {
		return o, err
	}
	res, err := p.UpTo(ctx, target)
	var partial *goose.PartialError
	if errors.As(err, &partial) {
		res = partial.Applied
	}
	for _, r := range res {
		o.Applied = append(o.Applied, r.Source.Version)
		o.After = max(o.After, r.Source.Version)
	}
	if partial != nil {
		return o, errors.New(reason(err))
	}
	return o, err
}

// baselineAt records the baseline version as applied, without running it,
// in goose's own table and format, in one transaction.
func (s *Set) baselineAt(ctx context.Context, db *sql.DB, versioned bool) error {
	store, err := database.NewStore(database.Dialect(dialect), VersionTable)
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	versions := []int64{s.baseline}
	if !versioned {
		if err := store.CreateVersionTable(ctx, tx); err != nil {
			return err
		}
		versions = []int64{0, s.baseline}
	}
	for _, v := range versions {
		if err := store.Insert(ctx, tx, database.InsertRequest{Version: v}); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// reason is a goose error without goose's wrapping, for people, naming
// the migration that failed.
func reason(err error) string {
	file := ""
	var partial *goose.PartialError
	if errors.As(err, &partial) {
		err, file = partial.Err, path.Base(partial.Failed.Source.Path)+": "
	}
	msg := err.Error()
	for _, prefix := range []string{"failed to run SQL migration: ", "failed to execute SQL query "} {
		if i := strings.Index(msg, prefix); i >= 0 {
			msg = msg[i+len(prefix):]
		}
	}
	// SQLite's messages through the driver read "SQL logic error: duplicate
	// column name: sku (1)": keep what a person needs.
	msg = strings.TrimPrefix(msg, "SQL logic error: ")
	msg = sqliteCode.ReplaceAllString(msg, "")
	return file + strings.Join(strings.Fields(msg), " ")
}

// sqliteCode is the driver's trailing result code, e.g. " (1)".
var sqliteCode = regexp.MustCompile(` \(\d+\)$`)

// userTables lists a database's tables, SQLite's own excluded.
func userTables(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Version reads a tenant's schema version without writing anything: 0
// when it has no goose table.
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
