package tenantdb

// HandleOf is handleOf, for tests that reach a connection's SQLite handle.
var HandleOf = handleOf
