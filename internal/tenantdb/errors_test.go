package tenantdb_test

import (
	"bufio"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/platform/sqld/sqldtest"
	"github.com/tenantry/tenantry/internal/tenantdb"
	"modernc.org/libc"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// classified checks what Classify makes of err: code (none: err comes
// back as it was), the same text, and a chain that still reaches err.
func classified(t *testing.T, err error, code string) error {
	t.Helper()
	if err == nil {
		t.Fatal("no error to classify")
	}
	if got := tenantdb.Code(err); got != code {
		t.Errorf("Code(%q) = %q, want %q", err, got, code)
	}
	c := tenantdb.Classify(err)
	switch {
	case code == "" && c != err:
		t.Errorf("Classify(%q) = %#v, want it unchanged", err, c)
	case code != "" && fleet.ErrorCode(c) != code:
		t.Errorf("Classify(%q) has code %q, want %q", err, fleet.ErrorCode(c), code)
	case c.Error() != err.Error():
		t.Errorf("Classify changed the text %q to %q", err, c)
	case !errors.Is(c, err):
		t.Errorf("Classify(%q) lost the cause", err)
	}
	return c
}

// sqliteCode is the SQLite result code in err's chain, 0 if none.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// TestClassifyLocal: errors that real SQLite files give get their codes
// from SQLite's result codes, and the driver's error stays reachable.
func TestClassifyLocal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	u, err := tenantdb.FileURL(path, false)
	if err != nil {
		t.Fatal(err)
	}
	db, err := tenantdb.Open(u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT UNIQUE); INSERT INTO t VALUES (1, 'a')`); err != nil {
		t.Fatal(err)
	}
	exec := func(q string) func() error {
		return func() error { _, err := db.Exec(q); return err }
	}
	for _, c := range []struct {
		name string
		err  func() error
		code string
		want int // the SQLite result code still in the chain
	}{
		{"UNIQUE", exec(`INSERT INTO t VALUES (2, 'a')`), fleet.ECONFLICT, sqlite3.SQLITE_CONSTRAINT_UNIQUE},
		{"PRIMARY KEY", exec(`INSERT INTO t VALUES (1, 'b')`), fleet.ECONFLICT, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY},
		{"locked", func() error { return locked(t, db, path) }, fleet.EUNAVAILABLE, sqlite3.SQLITE_BUSY},
		{"NOT NULL", exec(`CREATE TABLE n(v NOT NULL); INSERT INTO n VALUES (NULL)`), "", sqlite3.SQLITE_CONSTRAINT_NOTNULL},
		{"no such table", exec(`SELECT * FROM nope`), "", sqlite3.SQLITE_ERROR},
		{"interrupted", func() error { return interrupted(t, db) }, "", sqlite3.SQLITE_INTERRUPT},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := classified(t, c.err(), c.code)
			if got := sqliteCode(err); got != c.want {
				t.Errorf("%q: result code %d in the chain, want %d", err, got, c.want)
			}
			if got := tenantdb.Interrupted(err); got != (c.want == sqlite3.SQLITE_INTERRUPT) {
				t.Errorf("Interrupted(%q) = %v", err, got)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = db.ExecContext(ctx, `SELECT 1`)
	classified(t, err, "") // the caller stopped: no use trying again
	ctx, cancel = context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	_, err = db.ExecContext(ctx, `SELECT 1`)
	if err = classified(t, err, fleet.EUNAVAILABLE); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%v is not the deadline", err)
	}
}

// locked is a read of path while another connection holds it locked,
// from a connection that does not wait.
func locked(t *testing.T, db *sql.DB, path string) error {
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), `BEGIN EXCLUSIVE`); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(context.Background(), `ROLLBACK`)
	probe, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	var n int
	return probe.QueryRow(`SELECT count(*) FROM t`).Scan(&n)
}

// interrupted is a statement that never ends on its own, stopped by
// SQLite's interrupt, the way the driver stops one whose context ended.
// The interrupt is repeated until it lands: one before the statement
// starts does nothing.
func interrupted(t *testing.T, db *sql.DB) error {
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var h uintptr
	if err := conn.Raw(func(dc any) (err error) { h, err = tenantdb.HandleOf(dc); return err }); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		var n int
		done <- conn.QueryRowContext(context.Background(),
			`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c`).Scan(&n)
	}()
	tls := libc.NewTLS()
	defer tls.Close()
	for {
		select {
		case err := <-done:
			return err
		case <-time.After(time.Millisecond):
			sqlite3.Xsqlite3_interrupt(tls, h)
		}
	}
}

// TestConsoleGuardErrors: each guard of a console connection is told
// apart by SQLite's result code, not its message.
func TestConsoleGuardErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`CREATE TABLE t(v)`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	c, err := tenantdb.OpenConsoleFile(context.Background(), path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	query := func(q string) error {
		rows, err := c.QueryContext(context.Background(), q)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
		}
		return rows.Err()
	}
	guards := map[string]func(error) bool{
		"NotAuthorized":  tenantdb.NotAuthorized,
		"TooBig":         tenantdb.TooBig,
		"TooManyColumns": tenantdb.TooManyColumns,
	}
	for _, c := range []struct{ sql, guard string }{
		{`DELETE FROM t`, "NotAuthorized"},
		{`ATTACH ':memory:' AS m`, "NotAuthorized"},
		{fmt.Sprintf(`SELECT randomblob(%d)`, tenantdb.MaxValueLength+1), "TooBig"},
		{"SELECT 1" + strings.Repeat(", 1", tenantdb.MaxResultColumns), "TooManyColumns"},
		{`SELECT * FROM nope`, ""},
		{`SELECT`, ""},
	} {
		err := query(c.sql)
		if err == nil {
			t.Errorf("%s: ran", c.sql)
			continue
		}
		for name, is := range guards {
			if got := is(err); got != (name == c.guard) {
				t.Errorf("%s: %s(%q) = %v", c.sql, name, err, got)
			}
		}
		classified(t, err, "")
	}
}

// TestNoSuchTable: the table is named exactly, in any schema, with or
// without the text SQLite or sqld put around it.
func TestNoSuchTable(t *testing.T) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, local := db.Exec(`SELECT * FROM goose_db_version`)
	_, qualified := db.Exec(`SELECT * FROM main.goose_db_version`)
	_, other := db.Exec(`SELECT * FROM goose_db_version_old`)
	_, column := db.Exec(`SELECT goose_db_version`)
	for _, c := range []struct {
		err  error
		want bool
	}{
		{local, true},
		{qualified, true},
		{other, false},
		{column, false}, // "no such column"
		{errors.New("failed to execute SQL:\nSQLite error: no such table: t.goose_db_version"), true}, // libsql-client-go
		{errors.New("SQLite error: no such table: goose_db_version_old"), false},
		{nil, false},
	} {
		if got := tenantdb.NoSuchTable(c.err, "goose_db_version"); got != c.want {
			t.Errorf("NoSuchTable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// hranaServer answers Hrana pipelines as a database server that is
// failing would: /status/N answers status N; /busy answers that the
// statement found the database locked (as sqld words it); /hang does not
// answer until the test ends.
func hranaServer(t *testing.T) *httptest.Server {
	end := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		switch parts[0] {
		case "status":
			status, _ := strconv.Atoi(parts[1])
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"error":"the server says %d"}`, status)
		case "busy":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"baton":null,"base_url":null,"results":[`+
				`{"type":"error","error":{"message":"SQLite error: database is locked","code":"SQLITE_BUSY"}},`+
				`{"type":"ok","response":{"type":"close"}}]}`)
		case "hang":
			<-end // libsql-client-go closes its streams without a deadline
		}
	}))
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(end) }) // runs first
	return s
}

// remoteErrors runs one statement on u both ways a remote database is
// read: QueryOnce, and libsql-client-go through OpenRemote.
func remoteErrors(t *testing.T, ctx context.Context, u string) (once, client error) {
	t.Helper()
	r := tenantdb.Remote{URL: u}
	_, once = r.QueryOnce(ctx, `SELECT 1`)
	db, err := tenantdb.OpenRemote(r)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, client = db.ExecContext(ctx, `SELECT 1`)
	return once, client
}

// TestClassifyRemote: a server's refusals, by HTTP status or by sqld's
// result code, and a network that fails, are classified whichever client
// met them; QueryOnce's keep the status in a *StatusError.
func TestClassifyRemote(t *testing.T) {
	s := hranaServer(t)
	ctx := context.Background()
	for status, code := range map[int]string{
		429: fleet.EUNAVAILABLE, 502: fleet.EUNAVAILABLE, 503: fleet.EUNAVAILABLE, 504: fleet.EUNAVAILABLE,
		400: "", 401: "", 404: "", 500: "",
	} {
		once, client := remoteErrors(t, ctx, s.URL+"/status/"+strconv.Itoa(status))
		// QueryOnce classified its own error already.
		if want := cmp.Or(code, fleet.EINTERNAL); fleet.ErrorCode(once) != want {
			t.Errorf("%d: QueryOnce's %q has code %q, want %q", status, once, fleet.ErrorCode(once), want)
		}
		var se *tenantdb.StatusError
		if !errors.As(once, &se) || se.Status != status || se.Message != fmt.Sprintf("the server says %d", status) {
			t.Errorf("%d: QueryOnce's %q has no *StatusError of it", status, once)
		}
		if want := fmt.Sprintf("failed to execute SQL: error code %d: the server says %d", status, status); once.Error() != want {
			t.Errorf("%d: QueryOnce says %q, want %q", status, once, want)
		}
		classified(t, client, code)
	}

	once, client := remoteErrors(t, ctx, s.URL+"/busy")
	if fleet.ErrorCode(once) != fleet.EUNAVAILABLE || once.Error() != "SQLite error: database is locked" {
		t.Errorf("a statement that found the database locked: %q (%s)", once, fleet.ErrorCode(once))
	}
	classified(t, client, fleet.EUNAVAILABLE)

	hang, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	once, client = remoteErrors(t, hang, s.URL+"/hang")
	for _, err := range []error{once, tenantdb.Classify(client)} {
		if fleet.ErrorCode(err) != fleet.EUNAVAILABLE || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("a server that does not answer in time: %q (%s)", err, fleet.ErrorCode(err))
		}
	}

	// A port nobody listens on refuses the connection.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	once, client = remoteErrors(t, ctx, closed)
	for _, err := range []error{once, tenantdb.Classify(client)} {
		var oe *net.OpError
		if fleet.ErrorCode(err) != fleet.EUNAVAILABLE || !errors.Is(err, syscall.ECONNREFUSED) || !errors.As(err, &oe) {
			t.Errorf("a closed port: %q (%s)", err, fleet.ErrorCode(err))
		}
	}

	// A server that reads the request and hangs up without answering.
	l, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if req, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
				io.Copy(io.Discard, req.Body)
			}
			c.Close()
		}
	}()
	once, client = remoteErrors(t, ctx, "http://"+l.Addr().String())
	for _, err := range []error{once, tenantdb.Classify(client)} {
		if fleet.ErrorCode(err) != fleet.EUNAVAILABLE ||
			!(errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)) {
			t.Errorf("a server that hangs up: %q (%s)", err, fleet.ErrorCode(err))
		}
	}
}

// TestClassifySqld: a real sqld's constraint violations are conflicts
// through either client, and its missing namespace is a 404 saying so.
func TestClassifySqld(t *testing.T) {
	s := sqldtest.Start(t, sqldtest.Options{NoAuth: true})
	req, err := http.NewRequest(http.MethodPost, s.AdminURL+"/v1/namespaces/ns/create", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ctx := context.Background()
	r := tenantdb.Remote{URL: s.URL, Namespace: "ns"}
	db, err := tenantdb.OpenRemote(r)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO t VALUES (1, 'a')`); err != nil {
		t.Fatal(err)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO t VALUES (2, 'a')`)
	classified(t, err, fleet.ECONFLICT)
	_, err = db.ExecContext(ctx, `INSERT INTO t VALUES (1, 'b')`)
	classified(t, err, fleet.ECONFLICT)
	_, err = r.QueryOnce(ctx, `INSERT INTO t VALUES (3, 'a')`)
	if fleet.ErrorCode(err) != fleet.ECONFLICT || !strings.Contains(err.Error(), "UNIQUE constraint failed") {
		t.Errorf("QueryOnce's UNIQUE violation: %q (%s)", err, fleet.ErrorCode(err))
	}
	_, err = r.QueryOnce(ctx, `SELECT * FROM nope`)
	if fleet.ErrorCode(err) != fleet.EINTERNAL || !tenantdb.NoSuchTable(err, "nope") {
		t.Errorf("QueryOnce's missing table: %q (%s)", err, fleet.ErrorCode(err))
	}
	_, err = tenantdb.Remote{URL: s.URL, Namespace: "absent"}.QueryOnce(ctx, `SELECT 1`)
	var se *tenantdb.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusNotFound || !strings.Contains(se.Message, "doesn't exist") {
		t.Errorf("a missing namespace: %q", err)
	}
}

// TestClassifyLeavesOthersAlone: nil, an error already classified and an
// error of no driver come back as they were.
func TestClassifyLeavesOthersAlone(t *testing.T) {
	if tenantdb.Classify(nil) != nil {
		t.Fatal("nil classified")
	}
	mine := fleet.Errorf(fleet.EINVALID, "The database is locked, says the user.")
	if err := tenantdb.Classify(mine); err != mine {
		t.Errorf("a fleet error was classified again: %#v", err)
	}
	_, err := os.Open(filepath.Join(t.TempDir(), "absent"))
	classified(t, err, "")
	// A fleet error's own words are not read; its cause is.
	if code := tenantdb.Code(fleet.Wrap(fleet.EINVALID, errors.New("error code 503: x"), "Said 503.")); code != fleet.EUNAVAILABLE {
		t.Errorf("the cause of a fleet error: %q", code)
	}
	if code := tenantdb.Code(fleet.Errorf(fleet.EINVALID, "UNIQUE constraint failed, says the user.")); code != "" {
		t.Errorf("a fleet error's own words read as the driver's: %q", code)
	}
}
