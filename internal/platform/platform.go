// Package platform defines where tenant databases live. Every
// implementation (local files, a self-hosted sqld, Turso Cloud) passes the
// contract suite in platformtest.
package platform

import (
	"context"
	"database/sql"
	"io"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/fleet"
)

// Database is a tenant database as its platform describes it.
type Database struct {
	Name       string
	ID         string // the platform's own id (a path, namespace or DbId)
	URL        string // data-plane URL, without credentials
	SizeBytes  int64
	ModifiedAt time.Time // last write the platform knows of; zero if unknown
	CreatedAt  time.Time // zero if unknown
}

// Platform is the control plane and data plane of one kind of fleet.
// Names passed in must already be valid (fleet.ValidateName); platforms
// check again and refuse invalid ones before touching anything.
type Platform interface {
	// Name is "local", "sqld" or "turso".
	Name() string
	// Caps says what the platform can do, so that callers refuse what it
	// cannot before changing anything.
	Caps() Caps
	// List returns every live tenant database.
	List(ctx context.Context) ([]Database, error)
	// Get returns one live database, or a fleet ENOTFOUND error.
	Get(ctx context.Context, name string) (Database, error)
	// Create makes an empty database; ECONFLICT if the name is taken.
	Create(ctx context.Context, name string) (Database, error)
	// Clone makes dst a consistent copy of src, as of at when at is not
	// zero (point in time) or of now. It never exposes a partial dst.
	Clone(ctx context.Context, src, dst string, at time.Time) (Database, error)
	// Delete removes a database; where the platform can, it is archived
	// and Restore brings it back.
	Delete(ctx context.Context, name string) error
	// Restore brings back the newest archived copy of a deleted database.
	Restore(ctx context.Context, name string) (Database, error)
	// Import makes a new database from a SQLite file's bytes; EINVALID if
	// they are not a SQLite database.
	Import(ctx context.Context, name string, src io.Reader) (Database, error)
	// Export writes a consistent SQLite file of the database to w.
	Export(ctx context.Context, name string, w io.Writer) error
	// Discard removes what a failed create left behind, without archiving.
	Discard(ctx context.Context, name string) error
	// Open returns a data-plane connection to the database. Callers close it.
	Open(ctx context.Context, name string) (*sql.DB, error)
	// OpenConsole returns one connection for the SQL console: read-only
	// unless write, enforced by the connection (a read-only file or
	// token), never by reading the SQL; on platforms with files, unable
	// to reach any file but the tenant's own (no ATTACH, no VACUUM INTO,
	// no extensions). Callers close it.
	OpenConsole(ctx context.Context, name string, write bool) (ConsoleConn, error)
	// Credentials returns what a tenant's application needs to reach
	// this one database and nothing more: read-only or read-write, for
	// r.TTL where the platform issues tokens. Invalid names and TTLs are
	// EINVALID, absent databases ENOTFOUND; a platform that cannot scope
	// a credential to the one database refuses rather than hand out a
	// broader one.
	Credentials(ctx context.Context, name string, r CredentialRequest) (Credential, error)
}

// Bounds of a credential's lifetime: long enough for an application to
// connect and renew at leisure, short enough that a leaked token is
// worthless by the next day.
const (
	MinCredentialTTL = time.Minute
	MaxCredentialTTL = 24 * time.Hour
)

// DefaultCredentialTTL is a credential's lifetime when none is asked for.
const DefaultCredentialTTL = time.Hour

// ParseCredentialRequest reads a request as the API and CLI take it:
// access "read-only" or "read-write", and a TTL such as "15m" or "1h30m"
// ("" for DefaultCredentialTTL). Its errors are EINVALID, for people.
func ParseCredentialRequest(access, ttl string) (CredentialRequest, error) {
	var r CredentialRequest
	switch access {
	case "read-only":
		r.ReadOnly = true
	case "read-write":
	default:
		return r, fleet.Errorf(fleet.EINVALID, "Access %q is unknown: use read-only or read-write.", fleet.Truncate(access, 40))
	}
	r.TTL = DefaultCredentialTTL
	if ttl != "" {
		d, err := time.ParseDuration(ttl)
		if err != nil {
			return r, fleet.Errorf(fleet.EINVALID, "TTL %q is not a duration: write it like 15m, 1h or 1h30m.", fleet.Truncate(ttl, 40))
		}
		r.TTL = d
	}
	return r, r.Check()
}

// CredentialRequest asks for a credential of one tenant database.
type CredentialRequest struct {
	ReadOnly bool
	// TTL is how long a token stays valid, within [MinCredentialTTL,
	// MaxCredentialTTL]. Platforms without tokens (local files) check it
	// all the same, so that a request valid on one platform is valid on all.
	TTL time.Duration
}

// Access is the request's access as people read it: "read-only" or
// "read-write".
func (r CredentialRequest) Access() string {
	if r.ReadOnly {
		return "read-only"
	}
	return "read-write"
}

// Check refuses a TTL outside the bounds with a message a person can act on.
func (r CredentialRequest) Check() error {
	if r.TTL < MinCredentialTTL || r.TTL > MaxCredentialTTL {
		return fleet.Errorf(fleet.EINVALID, "A credential lives between %s and %s; %s is outside that range.",
			FormatTTL(MinCredentialTTL), FormatTTL(MaxCredentialTTL), FormatTTL(r.TTL))
	}
	return nil
}

// FormatTTL writes a lifetime as people write it: "1h", "1h30m", "5m",
// "45s", without time.Duration's trailing zero units.
func FormatTTL(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Credential is what an application connects to a tenant database with.
// Token is a secret: it is returned to the caller once and never logged
// or stored.
type Credential struct {
	URL string `json:"url"`
	// Token is the bearer token (a JWT) the URL wants; "" for file URLs.
	Token string `json:"token,omitempty"`
	// Namespace is the sqld namespace the URL's host name selects; ""
	// elsewhere.
	Namespace string `json:"namespace,omitempty"`
	// ExpiresAt is when Token stops working; zero when nothing expires.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// ConsoleConn is a connection of the SQL console.
type ConsoleConn interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	Close() error
}

// Caps are a platform's capabilities.
type Caps struct {
	// PointInTime: Clone honours a non-zero at.
	PointInTime bool
	// NoPointInTime explains, for people, why a point-in-time branch is
	// not available and what to do instead.
	NoPointInTime string
	// Restore: deleted databases are archived and Restore brings them back.
	Restore bool
}

// Usage is what a platform reports of a database's use, for its page.
type Usage struct {
	RowsRead     int64
	RowsWritten  int64
	StorageBytes int64
	// From and To bound the period counted; zero when the platform counts
	// since the database was made.
	From, To   time.Time
	TopQueries []QueryStat // heaviest first; nil if none recorded
}

// QueryStat is one of a database's heaviest statements.
type QueryStat struct {
	SQL         string
	RowsRead    int64
	RowsWritten int64
}

// UsageReporter is implemented by platforms that know a database's usage
// (sqld's stats, Turso's usage and stats endpoints).
type UsageReporter interface {
	Usage(ctx context.Context, name string) (Usage, error)
}

// Skipped is an entry in a platform's storage that looks like a tenant
// database but cannot be adopted, and why: shown to the people who put it
// there, who otherwise see nothing happen.
type Skipped struct {
	File   string // as the platform stores it, e.g. "store_1.db"
	Reason string // e.g. "not a SQLite database"
}

// Skipper is implemented by platforms whose storage can hold such entries
// (the local platform's tenants directory). rejected are the listed names
// the caller's Probe found not to be databases; the platform says which
// entries those are and why, besides the entries List left out (bad
// names, links, anything but a regular file). Sorted by File.
type Skipper interface {
	Unadoptable(ctx context.Context, rejected []string) ([]Skipped, error)
}
