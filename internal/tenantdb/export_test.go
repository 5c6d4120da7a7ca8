package tenantdb

import (
	"context"
	"database/sql/driver"
)

// HandleOf is handleOf, for tests that reach a connection's SQLite handle.
var HandleOf = handleOf

func (a Attachment) CheckConn(ctx context.Context, c driver.Conn) error {
	return a.File.check(ctx, c, "main", a.ID, false)
}

// LookasideMemory is the memory a lookaside lends to its next connection.
func LookasideMemory(l *Lookaside) uintptr { return l.buf }
