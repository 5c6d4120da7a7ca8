// Package config reads Tenantry's settings from flags, falling back to
// environment variables, then to defaults, and validates them: the global
// flags every command takes (Flags) and serve's (ServeFlags). Every
// TENANTRY_* variable is read here, next to the flag it backs.
package config

import (
	"flag"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// Config is the global configuration shared by every command.
type Config struct {
	DataDir      string
	Platform     string
	CentralURL   string
	CentralToken string // for a remote central database
	SqldURL      string
	SqldAdminURL string
	SqldAdminKey string
	// SqldPublicURL is how tenants' applications reach sqld, a template
	// with {namespace} as its host's first label; "" when credentials for
	// sqld tenants are not handed out.
	SqldPublicURL string
	// SqldJWTKeyFile is an Ed25519 private key whose public half sqld
	// checks tokens with (--auth-jwt-key-file); "" when sqld checks none.
	SqldJWTKeyFile string
	TursoOrg       string
	TursoToken     string
	TursoGroup     string
	TursoAPIURL    string
	// TenantMigrations is a directory of goose migrations that replaces
	// the built-in store schema; "" for the built-in one.
	TenantMigrations string
	// Server, if set, is a console whose API the CLI drives instead of
	// opening the data directory and databases itself; Token is the API
	// token it sends.
	Server string
	Token  string
	// LogFormat and LogLevel are TENANTRY_LOG_FORMAT and
	// TENANTRY_LOG_LEVEL as set ("" when not): how the commands other
	// than serve log (serve has flags for both, see ServeFlags).
	LogFormat, LogLevel string
	// Password is TENANTRY_PASSWORD: a new password for users add and
	// users passwd, and the demo admin's ("" when not set).
	Password string
	// SnapshotDir is the fleet snapshots' store (--snapshot-dir); default
	// <data>/snapshots. It may be a mounted volume.
	SnapshotDir string
	// CPUProfile, if set, is a file the command writes a CPU profile to
	// (TENANTRY_CPUPROFILE), for finding where a slow collection or
	// rollout spends its time.
	CPUProfile string
}

// Platforms are the supported values of --platform.
var Platforms = []string{"local", "sqld", "turso"}

// Flags registers the global flags on fs with defaults taken from env;
// call Validate after fs.Parse.
func Flags(fs *flag.FlagSet, env func(string) string) *Config {
	c := &Config{}
	def := func(key, fallback string) string {
		if v := env(key); v != "" {
			return v
		}
		return fallback
	}
	fs.StringVar(&c.DataDir, "data", def("TENANTRY_DATA", "./data"), "data directory (env TENANTRY_DATA)")
	fs.StringVar(&c.Platform, "platform", def("TENANTRY_PLATFORM", "local"), "where tenant databases live: local, sqld or turso (env TENANTRY_PLATFORM)")
	fs.StringVar(&c.CentralURL, "central", env("TENANTRY_CENTRAL_URL"), "central database URL (env TENANTRY_CENTRAL_URL; default file:<data>/central.db)")
	fs.StringVar(&c.SqldURL, "sqld-url", def("TENANTRY_SQLD_URL", "http://127.0.0.1:8080"), "sqld data-plane URL (env TENANTRY_SQLD_URL)")
	fs.StringVar(&c.SqldAdminURL, "sqld-admin-url", def("TENANTRY_SQLD_ADMIN_URL", "http://127.0.0.1:9090"), "sqld admin API URL (env TENANTRY_SQLD_ADMIN_URL)")
	fs.StringVar(&c.SqldPublicURL, "sqld-public-url", env("TENANTRY_SQLD_PUBLIC_URL"), "URL template applications reach sqld at, e.g. https://{namespace}.db.example.com (env TENANTRY_SQLD_PUBLIC_URL; needed for tenant credentials on sqld)")
	fs.StringVar(&c.TenantMigrations, "tenant-migrations", env("TENANTRY_TENANT_MIGRATIONS"), "directory of goose migrations for tenant databases, the whole history (env TENANTRY_TENANT_MIGRATIONS; default the built-in store schema)")
	fs.StringVar(&c.SnapshotDir, "snapshot-dir", env("TENANTRY_SNAPSHOT_DIR"), "where fleet snapshots of local and sqld tenants are kept (env TENANTRY_SNAPSHOT_DIR; default <data>/snapshots)")
	fs.StringVar(&c.Server, "server", env("TENANTRY_SERVER"), "drive this console through its API instead of the local data directory, such as https://console.example (env TENANTRY_SERVER)")
	fs.StringVar(&c.Token, "token", env("TENANTRY_TOKEN"), "API token for --server (env TENANTRY_TOKEN, which keeps it out of the process list)")
	c.CentralToken = env("TENANTRY_CENTRAL_TOKEN")
	c.SqldAdminKey = env("TENANTRY_SQLD_ADMIN_KEY")
	c.SqldJWTKeyFile = env("TENANTRY_SQLD_JWT_KEY_FILE")
	c.LogFormat = env("TENANTRY_LOG_FORMAT")
	c.LogLevel = env("TENANTRY_LOG_LEVEL")
	c.Password = env("TENANTRY_PASSWORD")
	c.CPUProfile = env("TENANTRY_CPUPROFILE")
	c.TursoOrg = env("TURSO_ORG")
	c.TursoToken = env("TURSO_API_TOKEN")
	c.TursoGroup = def("TURSO_GROUP", "default")
	c.TursoAPIURL = def("TURSO_API_URL", "https://api.turso.tech")
	return c
}

// Validate checks the configuration and fills derived defaults.
func (c *Config) Validate() error {
	if strings.TrimSpace(c.DataDir) == "" {
		return fmt.Errorf("--data must not be empty")
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return fmt.Errorf("--data %q: %v", c.DataDir, err)
	}
	c.DataDir = abs
	ok := false
	for _, p := range Platforms {
		ok = ok || p == c.Platform
	}
	if !ok {
		return fmt.Errorf("--platform %q is unknown: use %s", c.Platform, strings.Join(Platforms, ", "))
	}
	if c.Server != "" {
		if err := checkServer(c.Server, c.Token); err != nil {
			return err
		}
	}
	if c.CentralURL == "" {
		c.CentralURL = "file:" + filepath.Join(c.DataDir, "central.db")
	}
	if c.SnapshotDir == "" {
		c.SnapshotDir = filepath.Join(c.DataDir, "snapshots")
	}
	if c.SnapshotDir, err = filepath.Abs(c.SnapshotDir); err != nil {
		return fmt.Errorf("--snapshot-dir %q: %v", c.SnapshotDir, err)
	}
	for name, v := range map[string]string{"--central": c.CentralURL, "--sqld-url": c.SqldURL, "--sqld-admin-url": c.SqldAdminURL, "TURSO_API_URL": c.TursoAPIURL} {
		u, err := url.Parse(v)
		if err != nil || u.Scheme == "" {
			return fmt.Errorf("%s %q is not a URL", name, v)
		}
	}
	// The full check (the placeholder must select the namespace) is the
	// sqld platform's, when it starts; this catches a value that cannot
	// work on any platform.
	if c.SqldPublicURL != "" {
		u, err := url.Parse(strings.ReplaceAll(c.SqldPublicURL, "{namespace}", "ns"))
		if err != nil || u.Scheme == "" || u.Host == "" {
			return fmt.Errorf("--sqld-public-url %q is not a URL: want a template such as https://{namespace}.db.example.com", c.SqldPublicURL)
		}
		if !strings.Contains(c.SqldPublicURL, "{namespace}") {
			return fmt.Errorf("--sqld-public-url %q must contain {namespace} as the first label of its host name (https://{namespace}.db.example.com): sqld picks the namespace from the host name, so without it every credential would reach the default namespace", c.SqldPublicURL)
		}
	}
	switch c.Platform {
	case "turso":
		if c.TursoOrg == "" || c.TursoToken == "" {
			return fmt.Errorf("--platform turso needs TURSO_ORG and TURSO_API_TOKEN")
		}
	}
	return nil
}

// checkServer refuses a --server the token should not be sent to: not an
// http(s) URL, or plain http to anything but this machine (the token
// would cross the network in clear).
func checkServer(server, token string) error {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--server %q is not an http(s) URL such as https://console.example", server)
	}
	if u.Scheme == "http" {
		h := u.Hostname()
		if h != "localhost" && h != "127.0.0.1" && h != "::1" {
			return fmt.Errorf("--server %q is plain http: use https, or the token would cross the network in clear", server)
		}
	}
	if token == "" {
		return fmt.Errorf("--server needs an API token: set TENANTRY_TOKEN (an admin makes one with 'tenantry tokens create')")
	}
	return nil
}
