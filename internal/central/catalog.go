package central

import (
	"context"
)

// Catalog is the list of databases a platform without a list endpoint
// (sqld) keeps in the central database, under the platform's name.
type Catalog struct {
	db       *DB
	platform string
}

// Catalog returns the catalog of one platform.
func (db *DB) Catalog(platform string) *Catalog { return &Catalog{db: db, platform: platform} }

// Names returns every name recorded, in order.
func (c *Catalog) Names(ctx context.Context) ([]string, error) {
	return c.db.strings(ctx, `SELECT name FROM platform_catalog WHERE platform = ? ORDER BY name`, c.platform)
}

// Add records a name; added is false if it was already there.
func (c *Catalog) Add(ctx context.Context, name string) (added bool, err error) {
	res, err := c.db.db.ExecContext(ctx, `INSERT INTO platform_catalog(platform, name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		c.platform, name, ts(c.db.now()))
	if err != nil {
		return false, translate(err, "record the database")
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Remove forgets a name.
func (c *Catalog) Remove(ctx context.Context, name string) error {
	_, err := c.db.db.ExecContext(ctx, `DELETE FROM platform_catalog WHERE platform = ? AND name = ?`, c.platform, name)
	return translate(err, "forget the database")
}
