package collect_test

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"modernc.org/sqlite"
)

// floorEnv carries the floor's orders to its child process.
const floorEnv = "TENANTRY_COLLECT_FLOOR"

// floorRun is what the floor is told to do.
type floorRun struct {
	Dir     string // the tenants directory: every *.db in it
	Lo, Hi  string // the days' index range, [Lo, Hi)
	Workers int
}

// floorQuery is the least a collection must read from a store: orders
// and revenue, active carts and new products, grouped by day, each table
// once through its index. It trusts every timestamp to be a UTC text
// (no DATE(), no other forms) and reads no schema version.
const floorQuery = `
SELECT 'o', substr(created_at, 1, 10) AS d, count(*), sum(total_amount) FROM orders
 WHERE created_at >= ?1 AND created_at < ?2 GROUP BY d
UNION ALL
SELECT 'c', substr(updated_at, 1, 10) AS d, count(*), 0 FROM carts
 WHERE status = 'active' AND updated_at >= ?1 AND updated_at < ?2 GROUP BY d
UNION ALL
SELECT 'p', substr(created_at, 1, 10) AS d, count(*), 0 FROM products
 WHERE created_at >= ?1 AND created_at < ?2 GROUP BY d`

// TestCollectFloorChild is the collection benchmark's floor: a bare
// program doing only the work a collection cannot do without. N workers
// take the stores from the directory listing; each opens its store with a
// fresh connection of the driver (no pool, no checks of what is opened),
// runs floorQuery once and reads its rows. No registry, no central
// database, no retries, no exactness. It does nothing in a normal test
// run.
func TestCollectFloorChild(t *testing.T) {
	spec := os.Getenv(floorEnv)
	if spec == "" {
		t.Skip("the collection benchmark's floor")
	}
	var run floorRun
	if err := json.Unmarshal([]byte(spec), &run); err != nil {
		t.Fatal(err)
	}
	es, err := os.ReadDir(run.Dir)
	if err != nil {
		t.Fatal(err)
	}
	paths := make(chan string)
	var wg sync.WaitGroup
	var rows int64
	var mu sync.Mutex
	for range run.Workers {
		wg.Go(func() {
			var n int64
			for p := range paths {
				k, err := floorOne(p, run.Lo, run.Hi)
				if err != nil {
					t.Error(p, err)
				}
				n += k
			}
			mu.Lock()
			rows += n
			mu.Unlock()
		})
	}
	for _, e := range es {
		if filepath.Ext(e.Name()) == ".db" {
			paths <- filepath.Join(run.Dir, e.Name())
		}
	}
	close(paths)
	wg.Wait()
	if rows == 0 {
		t.Fatal("the floor read no rows")
	}
}

func floorOne(path, lo, hi string) (int64, error) {
	c, err := (&sqlite.Driver{}).Open("file:" + path + "?mode=ro")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	s, err := c.Prepare(floorQuery)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	rows, err := s.(driver.StmtQueryContext).QueryContext(context.Background(),
		[]driver.NamedValue{{Ordinal: 1, Value: lo}, {Ordinal: 2, Value: hi}})
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	row := make([]driver.Value, 4)
	for {
		if err := rows.Next(row); errors.Is(err, io.EOF) {
			return n, nil
		} else if err != nil {
			return n, err
		}
		n++
	}
}
