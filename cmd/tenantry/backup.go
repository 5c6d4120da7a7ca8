package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/tenantdb"
	"github.com/tursodatabase/libsql-client-go/libsql"
)

// backupReport is what backup prints.
type backupReport struct {
	File      string           `json:"file"`
	Bytes     int64            `json:"bytes"`
	Integrity string           `json:"integrity"`
	Tables    map[string]int64 `json:"tables"`
	Took      time.Duration    `json:"-"`
}

// backup writes a consistent copy of the central database to a new SQLite
// file while servers may be using it: a local file through VACUUM INTO
// (one read transaction, so writers carry on), a remote one through the
// server's SQL dump. The copy is made next to FILE, checked, and only
// then given FILE's name, so FILE is never a half-written or corrupt
// copy.
func (e *env) backup(args []string) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	force := fs.Bool("force", false, "replace FILE if it exists")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args, e.stderr, "backup FILE [--force] [--json]", 1)
	if err != nil {
		return err
	}
	start := time.Now()
	dest, err := filepath.Abs(pos[0])
	if err != nil {
		return err
	}
	dir := filepath.Dir(dest)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("directory %s does not exist; create it first", dir)
	}
	if st, err := os.Stat(dest); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a directory; name the backup file", dest)
	} else if err == nil && !*force {
		return fmt.Errorf("%s exists; pass --force to replace it (nothing was written)", dest)
	}
	// A directory of its own next to FILE: on the same file system, so the
	// finished copy is renamed into place, and anything SQLite leaves
	// beside the copy while checking it goes with the directory.
	work, err := os.MkdirTemp(dir, "."+filepath.Base(dest)+".tmp-")
	if err != nil {
		return fmt.Errorf("cannot write in %s: %w", dir, err)
	}
	defer os.RemoveAll(work)
	tmp := filepath.Join(work, "central.db")

	if tenantdb.IsFileURL(e.cfg.CentralURL) {
		err = e.backupFile(tmp)
	} else {
		err = e.backupRemote(tmp)
	}
	if err != nil {
		return err
	}
	rep, err := checkBackup(e.ctx, tmp)
	if err != nil {
		return err
	}
	// It holds password hashes and sessions: for its owner's eyes only.
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	if *force {
		err = os.Rename(tmp, dest)
	} else if err = os.Link(tmp, dest); errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s appeared while the backup was made; pass --force to replace it (nothing was written)", dest)
	}
	if err != nil {
		return fmt.Errorf("move the backup into place: %w", err)
	}
	_ = syncFile(dir) // the new name survives a power cut
	rep.File, rep.Took = dest, time.Since(start)
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(rep)
	}
	fmt.Fprintf(e.stdout, "backup: %s (%s) in %s, integrity %s: %s\n", rep.File, humanBytes(rep.Bytes), rep.Took.Round(time.Millisecond),
		rep.Integrity, rep.summary())
	return nil
}

// backupFile copies the local central database with VACUUM INTO: a
// consistent snapshot taken in one read transaction, which in WAL mode
// neither waits for nor blocks the server's writes.
func (e *env) backupFile(tmp string) error {
	path, err := tenantdb.FilePath(e.cfg.CentralURL)
	if err != nil {
		return err
	}
	if st, err := os.Stat(path); err != nil || st.IsDir() {
		return fmt.Errorf("no central database at %s (check --data or --central)", path)
	}
	u, err := tenantdb.FileURL(path, false)
	if err != nil {
		return err
	}
	db, err := tenantdb.Open(u)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(e.ctx, `VACUUM INTO ?`, tmp); err != nil {
		return fmt.Errorf("copy the central database %s: %w", path, err)
	}
	return nil
}

// backupRemote copies a central database on a libSQL server (sqld,
// Turso) from the server's SQL dump, one consistent read, loaded into a
// new SQLite file.
func (e *env) backupRemote(tmp string) error {
	var opts []libsql.Option
	if e.cfg.CentralToken != "" {
		opts = append(opts, libsql.WithAuthToken(e.cfg.CentralToken))
	}
	db, err := tenantdb.Open(e.cfg.CentralURL, opts...)
	if err != nil {
		return err
	}
	defer db.Close()
	var version int64
	// The dump leaves the user_version out.
	if err := db.QueryRowContext(e.ctx, `SELECT user_version FROM pragma_user_version`).Scan(&version); err != nil {
		return fmt.Errorf("cannot read the central database at %s: %w", tenantdb.Redact(e.cfg.CentralURL), err)
	}
	dump, err := fetchDump(e.ctx, e.cfg.CentralURL, e.cfg.CentralToken)
	if err != nil {
		return err
	}
	if err := tenantdb.LoadDump(e.ctx, dump, version, tmp); err != nil {
		return fmt.Errorf("the dump of %s did not load into a SQLite file: %w", tenantdb.Redact(e.cfg.CentralURL), err)
	}
	return nil
}

// dumpURL is the HTTP address of a libSQL database's /dump.
func dumpURL(dbURL string) (string, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "libsql", "wss":
		u.Scheme = "https"
	case "ws":
		u.Scheme = "http"
	case "http", "https":
	default:
		return "", fmt.Errorf("cannot back up a central database at a %s: URL", u.Scheme)
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	u.Path = strings.TrimSuffix(u.Path, "/") + "/dump"
	return u.String(), nil
}

func fetchDump(ctx context.Context, dbURL, token string) (string, error) {
	du, err := dumpURL(dbURL)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, du, nil)
	if err != nil {
		return "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("cannot reach the central database for its dump: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
		return "", fmt.Errorf("the central database's server refused its dump: %s %s", res.Status, strings.Join(strings.Fields(string(b)), " "))
	}
	var b strings.Builder
	if _, err := io.Copy(&b, res.Body); err != nil {
		return "", fmt.Errorf("the central database's dump broke off: %w", err)
	}
	return b.String(), nil
}

// checkBackup opens the copy read-only, runs SQLite's integrity check and
// counts every table's rows.
func checkBackup(ctx context.Context, path string) (*backupReport, error) {
	u, err := tenantdb.FileURL(path, true)
	if err != nil {
		return nil, err
	}
	db, err := tenantdb.Open(u)
	if err != nil {
		return nil, err
	}
	defer tenantdb.Forget(u)
	defer db.Close()
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return nil, fmt.Errorf("the backup cannot be opened: %w", err)
	}
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return nil, err
		}
		problems = append(problems, line)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("the backup's integrity check failed to run: %w", err)
	}
	if len(problems) != 1 || problems[0] != "ok" {
		if len(problems) > 3 {
			problems = append(problems[:3], "…")
		}
		return nil, fmt.Errorf("the backup failed its integrity check (nothing was written): %s", strings.Join(problems, "; "))
	}
	counts, err := tenantdb.TableCounts(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("count the backup's rows: %w", err)
	}
	if len(counts) == 0 {
		return nil, errors.New("the backup holds no tables (nothing was written): is this the central database?")
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	return &backupReport{Bytes: st.Size(), Integrity: "ok", Tables: counts}, nil
}

// summary names the rows an operator looks for first, then the rest.
func (r *backupReport) summary() string {
	var parts []string
	var rows int64
	for _, t := range []string{"tenants", "users", "metrics", "jobs", "audit_log"} {
		if n, ok := r.Tables[t]; ok {
			parts = append(parts, fmt.Sprintf("%d %s", n, t))
		}
	}
	for _, n := range r.Tables {
		rows += n
	}
	return fmt.Sprintf("%s; %d tables, %d rows in all", strings.Join(parts, ", "), len(r.Tables), rows)
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// humanBytes is n in B, KB, MB or GB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, suffix := float64(n), []string{"KB", "MB", "GB", "TB"}
	i := -1
	for v >= unit && i < len(suffix)-1 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %s", v, suffix[i])
}
