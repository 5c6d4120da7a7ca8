package config

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/api"
	"github.com/tenantry/tenantry/internal/collect"
	"github.com/tenantry/tenantry/internal/console"
	"github.com/tenantry/tenantry/internal/fleet"
	"github.com/tenantry/tenantry/internal/telemetry"
)

// Serve is serve's configuration that falls back to environment
// variables; its other flags (--addr, --job-workers …) are serve's own.
// The fields are set once Validate has checked the flags.
type Serve struct {
	// CollectShard is the part of the fleet the scheduled collection
	// covers (--collect-shard; the zero Shard is the whole fleet).
	CollectShard collect.Shard
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []*net.IPNet
	SecureCookies  bool
	Currency       string // ISO 4217
	SQL            console.Limits
	// OpsAddr, if set, serves /healthz, /readyz and /metrics without login.
	OpsAddr string
	// MetricsToken, if set, is the bearer token that reads /readyz and
	// /metrics on the console's address without a login.
	MetricsToken string
	LogFormat    string // text or json
	LogLevel     slog.Level
	APIRateLimit int   // calls a minute per token; -1 for no limit
	MaxImport    int64 // bytes

	// The flags as given, or their environment fallback.
	shard, proxies, sqlTimeout, sqlMaxRows, logLevel string
	maxImportMiB                                     int64
	envErr                                           error // an integer variable that is not one
}

// ServeFlags registers serve's flags that fall back to environment
// variables, on fs; call Validate after fs.Parse.
func ServeFlags(fs *flag.FlagSet, env func(string) string) *Serve {
	s := &Serve{}
	def := func(key, fallback string) string {
		if v := env(key); v != "" {
			return v
		}
		return fallback
	}
	// An integer variable that is not one is reported once the flags are
	// parsed, even if a flag overrides it: it would bite the next start.
	intDef := func(key string, fallback int) int {
		v := env(key)
		if v == "" {
			return fallback
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			if s.envErr == nil {
				s.envErr = fmt.Errorf("%s=%q is not a whole number", key, v)
			}
			return fallback
		}
		return n
	}
	fs.StringVar(&s.shard, "collect-shard", env("TENANTRY_COLLECT_SHARD"), "the scheduled collection covers part i of n of the fleet (i/n, 1-based; one replica per part; env TENANTRY_COLLECT_SHARD)")
	fs.StringVar(&s.proxies, "trusted-proxies", env("TENANTRY_TRUSTED_PROXIES"), "comma-separated addresses or CIDR ranges of the proxies in front of the console whose X-Forwarded-For is believed, such as 127.0.0.1 or 10.0.0.0/8 (env TENANTRY_TRUSTED_PROXIES; default none: the client is the connection's peer)")
	fs.BoolVar(&s.SecureCookies, "secure-cookies", env("TENANTRY_SECURE_COOKIES") == "1", "mark cookies Secure (behind a TLS proxy; env TENANTRY_SECURE_COOKIES=1)")
	fs.StringVar(&s.Currency, "currency", def("TENANTRY_CURRENCY", "USD"), "ISO 4217 code money is shown in; amounts are stored in minor units (env TENANTRY_CURRENCY)")
	fs.StringVar(&s.sqlTimeout, "sql-timeout", def("TENANTRY_SQL_TIMEOUT", console.DefaultTimeout.String()), "SQL console: time limit of a query, for each tenant of a fan-out (env TENANTRY_SQL_TIMEOUT)")
	fs.StringVar(&s.sqlMaxRows, "sql-max-rows", def("TENANTRY_SQL_MAX_ROWS", strconv.Itoa(console.DefaultMaxRows)), "SQL console: rows shown, for each tenant of a fan-out (env TENANTRY_SQL_MAX_ROWS)")
	fs.StringVar(&s.OpsAddr, "ops-addr", env("TENANTRY_OPS_ADDR"), "also serve /healthz, /readyz and /metrics on this address WITHOUT login, for a load balancer's checks and a Prometheus scraper on a private network, never a public one (env TENANTRY_OPS_ADDR; default off). On --addr they need a login or the bearer token in TENANTRY_METRICS_TOKEN")
	fs.StringVar(&s.LogFormat, "log-format", def("TENANTRY_LOG_FORMAT", "text"), "log lines on stderr as text or json (env TENANTRY_LOG_FORMAT)")
	fs.StringVar(&s.logLevel, "log-level", def("TENANTRY_LOG_LEVEL", "info"), "least severe log lines written: debug (adds a line per request), info, warn or error (env TENANTRY_LOG_LEVEL)")
	fs.IntVar(&s.APIRateLimit, "api-rate-limit", intDef("TENANTRY_API_RATE_LIMIT", api.DefaultRateLimit), "calls an API token may make a minute, counted in the central database across replicas; past it, 429 (env TENANTRY_API_RATE_LIMIT; -1 = no limit)")
	fs.Int64Var(&s.maxImportMiB, "max-import-size", int64(intDef("TENANTRY_MAX_IMPORT_SIZE", 1024)), "largest SQLite file the API's import takes, in MiB (env TENANTRY_MAX_IMPORT_SIZE)")
	s.MetricsToken = env("TENANTRY_METRICS_TOKEN")
	return s
}

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// Validate checks the flags and fills the typed fields.
func (s *Serve) Validate() error {
	var err error
	if s.SQL, err = sqlLimits(s.sqlTimeout, s.sqlMaxRows); err != nil {
		return err
	}
	if s.TrustedProxies, err = parseProxies(s.proxies); err != nil {
		return err
	}
	if !currencyCode.MatchString(s.Currency) {
		return fmt.Errorf("--currency %q is not an ISO 4217 code such as USD or EUR", s.Currency)
	}
	if s.envErr != nil {
		return s.envErr
	}
	if s.APIRateLimit == 0 || s.APIRateLimit < -1 {
		return fmt.Errorf("--api-rate-limit must be positive (calls a minute), or -1 for no limit")
	}
	if s.maxImportMiB < 1 {
		return fmt.Errorf("--max-import-size must be at least 1 (MiB)")
	}
	s.MaxImport = s.maxImportMiB << 20
	if s.LogLevel, err = telemetry.ParseLevel(s.logLevel); err != nil {
		return fmt.Errorf("--log-level %q is not debug, info, warn or error", s.logLevel)
	}
	if _, err := telemetry.NewLogger(io.Discard, s.LogFormat, s.LogLevel); err != nil {
		return fmt.Errorf("--log-format %q is not text or json", s.LogFormat)
	}
	if s.CollectShard, err = collect.ParseShard(s.shard); err != nil {
		return fmt.Errorf("--collect-shard: %s", fleet.ErrorMessage(err))
	}
	return nil
}

// sqlLimits reads the SQL console's limits.
func sqlLimits(timeout, maxRows string) (console.Limits, error) {
	t, err := time.ParseDuration(timeout)
	if err != nil || t <= 0 || t > time.Hour {
		return console.Limits{}, fmt.Errorf("--sql-timeout %q is not a duration from 1ms to 1h (5s, 30s, 2m)", timeout)
	}
	n, err := strconv.Atoi(maxRows)
	if err != nil || n < 1 || n > 1_000_000 {
		return console.Limits{}, fmt.Errorf("--sql-max-rows %q is not a number from 1 to 1000000", maxRows)
	}
	return console.Limits{Timeout: t, MaxRows: n}, nil
}

// parseProxies reads --trusted-proxies: addresses (a host of its own) and
// CIDR ranges, separated by commas.
func parseProxies(s string) ([]*net.IPNet, error) {
	var nets []*net.IPNet
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			ip := net.ParseIP(f)
			if ip == nil {
				return nil, fmt.Errorf("--trusted-proxies: %q is not an IP address or CIDR range (10.0.0.5, 10.0.0.0/8)", f)
			}
			bits := 128
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			nets = append(nets, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(f)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %q is not an IP address or CIDR range (10.0.0.5, 10.0.0.0/8)", f)
		}
		nets = append(nets, n)
	}
	return nets, nil
}
